import type { IdempotencyKeys } from '../../platform/idempotency/idempotency.js';
import type { AppModule } from '../module.js';
import { ordersGraphql } from './orders.graphql.js';
import { ordersJobs } from './orders.jobs.js';
import { ordersRoutes } from './orders.routes.js';
import type { OrdersService } from './orders.service.js';

/** Orders, paid from a wallet; the order confirmation email. */
export const ordersModule: AppModule<{ orders: OrdersService; idempotency: IdempotencyKeys }> = {
  name: 'orders',
  async routes(server, { orders, idempotency }) {
    await server.register(ordersRoutes, { prefix: '/api/v1', orders, idempotency });
  },
  graphql: ({ orders }) => ordersGraphql(orders),
  jobs: ordersJobs,
};
