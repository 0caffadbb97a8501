import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePermission, requireUser } from '../../platform/auth/permissions.js';
import {
  cursorListEnvelopeSchema,
  cursorPageRequest,
  cursorPaginated,
  splitPage,
  withLookahead,
} from '../../platform/http/cursor-pagination.js';
import { errorResponses } from '../../platform/http/envelope.js';
import { UserIdParams, USER_EXAMPLE } from '../users/users.schemas.js';
import {
  SECURITY_EVENT_EXAMPLE,
  SecurityEventsQuery,
  UserSecurityEventsQuery,
} from './security.schemas.js';
import type { SecurityEventsService } from './security.service.js';
import { answerNoStore } from '../../platform/http/no-store.js';

const SecurityEvent = Type.Ref('SecurityEvent');
const tags = ['users'];
const security = [{ bearerAuth: [] }];

/** The security log, read: one account's events, or everyone's for admins. Newest first. */
export const securityRoutes: FastifyPluginAsyncTypebox<{
  securityEvents: SecurityEventsService;
}> = async (app, { securityEvents }) => {
  // Who signed in from where is nothing for a shared cache to keep.
  answerNoStore(app);

  app.get(
    '/users/:id/security-events',
    {
      schema: {
        tags,
        security,
        summary: "A user's security log, newest first, by cursor (the user, or read:users)",
        params: UserIdParams,
        querystring: UserSecurityEventsQuery,
        response: {
          200: cursorListEnvelopeSchema(SecurityEvent, {
            description: "One page of the user's security events, newest first",
            example: [SECURITY_EVENT_EXAMPLE],
            path: `/api/v1/users/${USER_EXAMPLE.id}/security-events`,
          }),
          ...errorResponses(400, 401, 404, 429),
        },
      },
      // Before the cursor is decoded: a guest is 401 whatever cursor it sends.
      preHandler: async (request) => requireUser(request.actor),
    },
    async (request) => {
      const page = cursorPageRequest(request.query);
      const rows = await securityEvents.listUserEvents(request.actor, request.params.id, {
        ...withLookahead(page),
        type: request.query.type,
      });
      return cursorPaginated(request, { limit: page.limit, ...splitPage(rows, page.limit) });
    },
  );

  app.get(
    '/security-events',
    {
      schema: {
        tags,
        security,
        summary: "Every account's security log, newest first, by cursor (read:users)",
        querystring: SecurityEventsQuery,
        response: {
          200: cursorListEnvelopeSchema(SecurityEvent, {
            description: 'One page of security events, newest first',
            example: [SECURITY_EVENT_EXAMPLE],
            path: '/api/v1/security-events',
          }),
          ...errorResponses(400, 401, 403, 429),
        },
      },
      // Before the cursor is decoded: a guest is 401 whatever cursor it sends.
      preHandler: requirePermission('read:users'),
    },
    async (request) => {
      const { type, userId } = request.query;
      const page = cursorPageRequest(request.query);
      const rows = await securityEvents.listEvents(request.actor, {
        ...withLookahead(page),
        type,
        userId,
      });
      return cursorPaginated(request, { limit: page.limit, ...splitPage(rows, page.limit) });
    },
  );
};
