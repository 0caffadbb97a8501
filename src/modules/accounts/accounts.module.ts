import type { IdempotencyKeys } from '../../platform/idempotency/idempotency.js';
import type { AppModule } from '../module.js';
import { accountsGraphql } from './accounts.graphql.js';
import { accountsRoutes } from './accounts.routes.js';
import type { AccountsService } from './accounts.service.js';
import type { HoldsService } from './holds.service.js';

/** Wallets, the ledger, transfers and holds. */
export const accountsModule: AppModule<{
  accounts: AccountsService;
  holds: HoldsService;
  idempotency: IdempotencyKeys;
}> = {
  name: 'accounts',
  async routes(server, { accounts, holds, idempotency }) {
    await server.register(accountsRoutes, { prefix: '/api/v1', accounts, holds, idempotency });
  },
  graphql: ({ accounts }) => accountsGraphql(accounts),
};
