import type { IdempotencyKeys } from '../../platform/idempotency/idempotency.js';
import type { AppModule } from '../module.js';
import { accountsGraphql } from './accounts.graphql.js';
import { accountsRoutes } from './accounts.routes.js';
import type { AccountsService } from './accounts.service.js';

/** Wallets, the ledger and transfers. */
export const accountsModule: AppModule<{
  accounts: AccountsService;
  idempotency: IdempotencyKeys;
}> = {
  name: 'accounts',
  async routes(server, { accounts, idempotency }) {
    await server.register(accountsRoutes, { prefix: '/api/v1', accounts, idempotency });
  },
  graphql: ({ accounts }) => accountsGraphql(accounts),
};
