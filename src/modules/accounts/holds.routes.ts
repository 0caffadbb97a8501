import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import {
  envelopeSchema,
  errorResponses,
  listEnvelopeSchema,
  ok,
} from '../../platform/http/envelope.js';
import { idempotencyHeaders, sendIdempotently } from '../../platform/http/idempotent.js';
import { paginated } from '../../platform/http/pagination.js';
import type { IdempotencyKeys } from '../../platform/idempotency/idempotency.js';
import { ACCOUNT_EXAMPLE, AccountIdParams } from './accounts.schemas.js';
import type { Hold } from './holds.repository.js';
import {
  CAPTURED_HOLD_EXAMPLE,
  CaptureBody,
  HOLD_EXAMPLE,
  HoldIdParams,
  HoldsQuery,
  VOIDED_HOLD_EXAMPLE,
  VoidHoldParams,
} from './holds.schemas.js';
import type { HoldsService } from './holds.service.js';

const tags = ['accounts'];
const security = [{ bearerAuth: [] }];

/**
 * Holds (placed by `POST /transfers` with `hold`): read, capture, void, and an account's list.
 * Registered inside the accounts routes, whose `Hold` schema they share.
 */
export const holdsRoutes: FastifyPluginAsyncTypebox<{
  holds: HoldsService;
  idempotency: IdempotencyKeys;
}> = async (app, { holds, idempotency }) => {
  const HoldRef = Type.Ref('Hold');
  const answer = (request: FastifyRequest) => (hold: Hold) => ({
    statusCode: 200,
    headers: {},
    body: ok(request, hold),
  });

  app.get(
    '/holds/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Read a hold (an owner of either side, or read:accounts)',
        params: HoldIdParams,
        response: {
          200: envelopeSchema(HoldRef, { description: 'The hold', example: HOLD_EXAMPLE }),
          ...errorResponses(400, 401, 404, 429),
        },
      },
    },
    async (request) => ok(request, await holds.getHold(request.actor, request.params.id)),
  );

  app.post(
    '/holds/:id/capture',
    {
      // The body is optional: none means `{}`, all of the hold.
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        tags,
        security,
        summary:
          'Capture a pending hold, all or part of it, once; the rest is released (its payee, ' +
          'or write:accounts; Idempotency-Key honoured)',
        headers: idempotencyHeaders(false),
        params: HoldIdParams,
        body: CaptureBody,
        response: {
          200: envelopeSchema(HoldRef, {
            description: 'The hold, captured; transferId is the movement it made',
            example: CAPTURED_HOLD_EXAMPLE,
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
        (claim) => holds.capture(request.actor, request.params.id, request.body, claim),
        answer(request),
      ),
  );

  app.post(
    '/holds/:id/void',
    {
      schema: {
        tags,
        security,
        summary:
          'Void a pending hold and release its funds (its payer, its payee, or ' +
          'write:accounts; Idempotency-Key honoured)',
        headers: idempotencyHeaders(false),
        params: VoidHoldParams,
        response: {
          200: envelopeSchema(HoldRef, {
            description: 'The hold, voided',
            example: VOIDED_HOLD_EXAMPLE,
          }),
          ...errorResponses(400, 401, 404, 409, 422, 429, 503),
        },
      },
    },
    async (request, reply) =>
      sendIdempotently(
        request,
        reply,
        idempotency,
        (claim) => holds.void(request.actor, request.params.id, claim),
        answer(request),
      ),
  );

  app.get(
    '/accounts/:id/holds',
    {
      schema: {
        tags,
        security,
        summary: "An account's holds, as payer or payee, newest first",
        params: AccountIdParams,
        querystring: HoldsQuery,
        response: {
          200: listEnvelopeSchema(HoldRef, {
            description: "One page of the account's holds",
            example: [HOLD_EXAMPLE],
            path: `/api/v1/accounts/${ACCOUNT_EXAMPLE.id}/holds`,
          }),
          ...errorResponses(400, 401, 404, 429),
        },
      },
    },
    async (request) => {
      const { page = 1, pageSize = 20 } = request.query;
      const result = await holds.listForAccount(request.actor, request.params.id, {
        page,
        pageSize,
      });
      return paginated(request, { page, pageSize }, result);
    },
  );
};
