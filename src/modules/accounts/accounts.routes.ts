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
import { idempotencyHeaders, sendIdempotently } from '../../platform/http/idempotent.js';
import { paginated } from '../../platform/http/pagination.js';
import type { IdempotencyKeys } from '../../platform/idempotency/idempotency.js';
import { UserIdParams } from '../users/users.schemas.js';
import type { Transfer } from './accounts.repository.js';
import {
  ACCOUNT_ENTRY_EXAMPLE,
  ACCOUNT_EXAMPLE,
  AccountEntrySchema,
  AccountIdParams,
  AccountSchema,
  DEPOSIT_EXAMPLE,
  DepositBody,
  EntriesQuery,
  TRANSFER_EXAMPLE,
  TransferBody,
  TransferIdParams,
  TransferSchema,
} from './accounts.schemas.js';
import type { AccountsService } from './accounts.service.js';
import type { Hold } from './holds.repository.js';
import { HoldSchema } from './holds.schemas.js';
import { holdsRoutes } from './holds.routes.js';
import type { HoldsService } from './holds.service.js';

const tags = ['accounts'];
const security = [{ bearerAuth: [] }];

/** The ledger's controller: accounts, their statements, transfers and deposits. */
export const accountsRoutes: FastifyPluginAsyncTypebox<{
  accounts: AccountsService;
  holds: HoldsService;
  idempotency: IdempotencyKeys;
}> = async (app, { accounts, holds, idempotency }) => {
  app.addSchema(AccountSchema);
  app.addSchema(TransferSchema);
  app.addSchema(AccountEntrySchema);
  app.addSchema(HoldSchema);
  await app.register(holdsRoutes, { holds, idempotency });
  const Account = Type.Ref('Account');
  const TransferRef = Type.Ref('Transfer');

  /** 201 with the movement and where to read it again. */
  const created = (request: FastifyRequest) => (transfer: Transfer) => ({
    statusCode: 201,
    headers: { location: locationOf(app.prefix, 'transfers', transfer.id) },
    body: ok(request, transfer),
  });
  /** 201 with the hold placed and where to read it again. */
  const held = (request: FastifyRequest) => (hold: Hold) => ({
    statusCode: 201,
    headers: { location: locationOf(app.prefix, 'holds', hold.id) },
    body: ok(request, hold),
  });

  app.get(
    '/accounts/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Read an account (its owner, or read:accounts)',
        params: AccountIdParams,
        response: {
          200: envelopeSchema(Account, { description: 'The account', example: ACCOUNT_EXAMPLE }),
          ...errorResponses(400, 401, 404, 429),
        },
      },
    },
    async (request) => ok(request, await accounts.getAccount(request.actor, request.params.id)),
  );

  app.get(
    '/accounts/:id/transactions',
    {
      schema: {
        tags,
        security,
        summary: "An account's journal entries, newest first",
        params: AccountIdParams,
        querystring: EntriesQuery,
        response: {
          200: listEnvelopeSchema(Type.Ref('AccountEntry'), {
            description: "One page of the account's statement",
            example: [ACCOUNT_ENTRY_EXAMPLE],
            path: `/api/v1/accounts/${ACCOUNT_EXAMPLE.id}/transactions`,
          }),
          ...errorResponses(400, 401, 404, 429),
        },
      },
    },
    async (request) => {
      const { page = 1, pageSize = 20 } = request.query;
      const result = await accounts.listEntries(request.actor, request.params.id, {
        page,
        pageSize,
      });
      return paginated(request, { page, pageSize }, result);
    },
  );

  app.get(
    '/users/:id/accounts',
    {
      schema: {
        tags,
        security,
        summary: "A user's wallets (the user, or read:accounts)",
        params: UserIdParams,
        response: {
          // One wallet per currency (accounts_wallet_key); ISO 4217 has fewer than 200 codes.
          200: envelopeSchema(Type.Array(Account, { maxItems: 200 }), {
            description: "The user's wallets, one per currency",
            example: [ACCOUNT_EXAMPLE],
          }),
          ...errorResponses(400, 401, 404, 429),
        },
      },
    },
    async (request) =>
      ok(request, await accounts.listUserAccounts(request.actor, request.params.id)),
  );

  app.post(
    '/transfers',
    {
      // A money write or a token refresh: admitted from the load shedder's reserve.
      config: { critical: true },
      schema: {
        tags,
        security,
        summary:
          'Move money from one of your wallets, or with `hold` reserve it as a hold ' +
          '(Idempotency-Key required)',
        headers: idempotencyHeaders(true),
        body: TransferBody,
        response: {
          // A Transfer, or with `hold` a Hold: the Transfer first, so a plain transfer's
          // response matches the first branch.
          201: envelopeSchema(Type.Union([TransferRef, Type.Ref('Hold')]), {
            description:
              'The movement made, or with `hold` the hold placed; Location is its address',
            example: TRANSFER_EXAMPLE,
          }),
          ...errorResponses(400, 401, 404, 409, 422, 429, 503),
        },
      },
    },
    async (request, reply) =>
      request.body.hold
        ? sendIdempotently(
            request,
            reply,
            idempotency,
            (claim) => holds.place(request.actor, request.body, claim),
            held(request),
          )
        : sendIdempotently(
            request,
            reply,
            idempotency,
            (claim) => accounts.transfer(request.actor, request.body, claim),
            created(request),
          ),
  );

  app.get(
    '/transfers/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Read a movement (an owner of either side, or read:accounts)',
        params: TransferIdParams,
        response: {
          200: envelopeSchema(TransferRef, {
            description: 'The movement',
            example: TRANSFER_EXAMPLE,
          }),
          ...errorResponses(400, 401, 404, 429),
        },
      },
    },
    async (request) => ok(request, await accounts.getTransfer(request.actor, request.params.id)),
  );

  app.post(
    '/accounts/:id/deposits',
    {
      // A money write or a token refresh: admitted from the load shedder's reserve.
      config: { critical: true },
      schema: {
        tags,
        security,
        summary: 'Deposit money from the issuer (write:accounts; Idempotency-Key honoured)',
        headers: idempotencyHeaders(false),
        params: AccountIdParams,
        body: DepositBody,
        response: {
          201: envelopeSchema(TransferRef, {
            description: "The issuer's movement into the account; Location is its address",
            example: DEPOSIT_EXAMPLE,
          }),
          ...errorResponses(400, 401, 403, 404, 409, 422, 429, 503),
        },
      },
    },
    async (request, reply) =>
      sendIdempotently(
        request,
        reply,
        idempotency,
        (claim) => accounts.deposit(request.actor, request.params.id, request.body, claim),
        created(request),
      ),
  );
};
