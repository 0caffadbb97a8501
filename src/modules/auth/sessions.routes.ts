import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  envelopeSchema,
  errorResponses,
  listEnvelopeSchema,
  ok,
} from '../../platform/http/envelope.js';
import { paginated } from '../../platform/http/pagination.js';
import { UserIdParams } from '../users/users.schemas.js';
import {
  ENDED_EXAMPLE,
  EndedSessionsSchema,
  LogoutAllBody,
  SESSION_EXAMPLE,
  SESSIONS_PATH_EXAMPLE,
  SessionSchema,
  SessionsQuery,
  UserSessionParams,
} from './sessions.schemas.js';
import type { SessionsService } from './sessions.service.js';
import { answerNoStore } from '../../platform/http/no-store.js';

const tags = ['auth'];
const security = [{ bearerAuth: [] }];

/** A user's login sessions: list them, end one, end all (the user, or read/write:users). */
export const sessionsRoutes: FastifyPluginAsyncTypebox<{ sessions: SessionsService }> = async (
  app,
  { sessions },
) => {
  app.addSchema(SessionSchema);
  const Session = Type.Ref('Session');
  // Where and when a user signs in is theirs: no shared cache keeps it, nor these answers.
  answerNoStore(app);

  app.get(
    '/users/:id/sessions',
    {
      schema: {
        tags,
        security,
        summary: "A user's live sessions, most recently used first (the user, or read:users)",
        params: UserIdParams,
        querystring: SessionsQuery,
        response: {
          200: listEnvelopeSchema(Session, {
            description: 'One page of the live (not ended, not expired) sessions',
            example: [SESSION_EXAMPLE],
            path: SESSIONS_PATH_EXAMPLE,
          }),
          ...errorResponses(400, 401, 404, 429),
        },
      },
    },
    async (request) => {
      const { page = 1, pageSize = 20 } = request.query;
      const result = await sessions.listSessions(request.actor, request.params.id, {
        page,
        pageSize,
      });
      return paginated(request, { page, pageSize }, result);
    },
  );

  app.delete(
    '/users/:id/sessions/:sessionId',
    {
      schema: {
        tags,
        security,
        summary: 'End one session: its refresh and access tokens (the user, or write:users)',
        params: UserSessionParams,
        response: {
          204: Type.Null({ description: 'Ended: its tokens are refused from now on' }),
          ...errorResponses(400, 401, 404, 429),
        },
      },
    },
    async (request, reply) => {
      const { id, sessionId } = request.params;
      await sessions.endSession(request.actor, id, sessionId);
      return reply.status(204).send(null);
    },
  );

  app.delete(
    '/users/:id/sessions',
    {
      schema: {
        tags,
        security,
        summary: 'End every session of a user (the user, or write:users)',
        params: UserIdParams,
        response: {
          200: envelopeSchema(EndedSessionsSchema, {
            description: 'How many live sessions were ended',
            example: ENDED_EXAMPLE,
          }),
          ...errorResponses(400, 401, 404, 429),
        },
      },
    },
    async (request) => {
      const endedSessions = await sessions.endAllSessions(request.actor, request.params.id);
      return ok(request, { endedSessions });
    },
  );

  app.post(
    '/auth/logout-all',
    {
      // The body is optional: none means `{}`, all sessions.
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        tags,
        security,
        summary: "End all the caller's sessions, or all but the current one",
        body: LogoutAllBody,
        response: {
          200: envelopeSchema(EndedSessionsSchema, {
            description: 'How many sessions were ended',
            example: ENDED_EXAMPLE,
          }),
          ...errorResponses(400, 401, 429),
        },
      },
    },
    async (request) => {
      const { actor } = request;
      const keepCurrent = request.body.keepCurrent ?? false;
      const endedSessions = await sessions.logoutAll(actor, { keepCurrent });
      return ok(request, { endedSessions });
    },
  );
};
