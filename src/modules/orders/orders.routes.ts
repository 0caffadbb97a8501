import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { locationOf } from '../../platform/http/location.js';
import {
  envelopeSchema,
  errorResponses,
  listEnvelopeSchema,
  ok,
} from '../../platform/http/envelope.js';
import { errorEnvelope } from '../../platform/http/envelope.js';
import { AppError } from '../../platform/errors.js';
import { idempotencyHeaders, sendIdempotently } from '../../platform/http/idempotent.js';
import { paginated } from '../../platform/http/pagination.js';
import type { IdempotencyKeys } from '../../platform/idempotency/idempotency.js';
import type { StoredResponse } from '../../platform/idempotency/keys.repository.js';
import { USER_EXAMPLE, UserIdParams } from '../users/users.schemas.js';
import type { Order } from './orders.repository.js';
import {
  ORDER_EXAMPLE,
  OrderIdParams,
  OrderSchema,
  OrdersQuery,
  PlaceOrderBody,
} from './orders.schemas.js';
import type { OrdersService } from './orders.service.js';

const tags = ['orders'];
const security = [{ bearerAuth: [] }];

/** The orders controller. */
export const ordersRoutes: FastifyPluginAsyncTypebox<{
  orders: OrdersService;
  idempotency: IdempotencyKeys;
}> = async (app, { orders, idempotency }) => {
  app.addSchema(OrderSchema);
  const OrderRef = Type.Ref('Order');

  /** 201 for a paid order; 402 for one kept as payment_failed (its id in the details). */
  const placed =
    (request: FastifyRequest) =>
    (order: Order): StoredResponse =>
      order.status === 'payment_failed'
        ? {
            statusCode: 402,
            headers: {},
            body: errorEnvelope(
              request.id,
              new AppError(402, 'INSUFFICIENT_FUNDS', 'The wallet has insufficient funds', {
                orderId: order.id,
                total: order.total,
                currency: order.currency,
              }),
            ),
          }
        : {
            statusCode: 201,
            headers: { location: locationOf(app.prefix, 'orders', order.id) },
            body: ok(request, order),
          };

  app.post(
    '/users/:id/orders',
    {
      // A money write or a token refresh: admitted from the load shedder's reserve.
      config: { critical: true },
      schema: {
        tags,
        security,
        summary: 'Place and pay an order (the user, or write:orders; Idempotency-Key honoured)',
        headers: idempotencyHeaders(false),
        params: UserIdParams,
        body: PlaceOrderBody,
        response: {
          201: envelopeSchema(OrderRef, {
            description: 'The order, paid; Location is its address',
            example: ORDER_EXAMPLE,
          }),
          ...errorResponses(400, 401, 402, 404, 409, 422, 429, 503),
        },
      },
    },
    async (request, reply) =>
      sendIdempotently(
        request,
        reply,
        idempotency,
        (claim) => orders.placeOrder(request.actor, request.params.id, request.body, claim),
        placed(request),
      ),
  );

  app.get(
    '/users/:id/orders',
    {
      schema: {
        tags,
        security,
        summary: "A user's orders, newest first (the user, or read:orders)",
        params: UserIdParams,
        querystring: OrdersQuery,
        response: {
          200: listEnvelopeSchema(OrderRef, {
            description: "One page of the user's orders",
            example: [ORDER_EXAMPLE],
            path: `/api/v1/users/${USER_EXAMPLE.id}/orders`,
          }),
          ...errorResponses(400, 401, 404, 429),
        },
      },
    },
    async (request) => {
      const { page = 1, pageSize = 20 } = request.query;
      const result = await orders.listUserOrders(request.actor, request.params.id, {
        page,
        pageSize,
      });
      return paginated(request, { page, pageSize }, result);
    },
  );

  app.get(
    '/orders/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Read an order (its owner, or read:orders)',
        params: OrderIdParams,
        response: {
          200: envelopeSchema(OrderRef, { description: 'The order', example: ORDER_EXAMPLE }),
          ...errorResponses(400, 401, 404, 429),
        },
      },
    },
    async (request) => ok(request, await orders.getOrder(request.actor, request.params.id)),
  );

  app.post(
    '/orders/:id/cancel',
    {
      // A money write or a token refresh: admitted from the load shedder's reserve.
      config: { critical: true },
      schema: {
        tags,
        security,
        summary: 'Cancel a paid order and refund it, once (its owner, or write:orders)',
        params: OrderIdParams,
        response: {
          200: envelopeSchema(OrderRef, {
            description: 'The order, cancelled, with its refund',
            example: {
              ...ORDER_EXAMPLE,
              status: 'cancelled',
              refundId: '0193a5b0-7c1e-7d3a-9f00-1a2b3c4d5e0b',
              updatedAt: '2026-01-15T11:00:00.000Z',
            },
          }),
          ...errorResponses(400, 401, 404, 409, 429, 503),
        },
      },
    },
    async (request) => ok(request, await orders.cancelOrder(request.actor, request.params.id)),
  );
};
