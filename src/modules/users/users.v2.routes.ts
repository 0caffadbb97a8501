import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  cursorListEnvelopeSchema,
  cursorPageRequest,
  cursorPaginated,
  splitPage,
  withLookahead,
} from '../../platform/http/cursor-pagination.js';
import { requirePermission } from '../../platform/auth/permissions.js';
import { envelopeSchema, errorResponses, ok } from '../../platform/http/envelope.js';
import { ListUsersV2Query, USER_EXAMPLE, UserIdParams } from './users.schemas.js';
import type { UsersService } from './users.service.js';

const User = Type.Ref('User');
const tags = ['users'];
const security = [{ bearerAuth: [] }];

export interface UsersV2Options {
  users: UsersService;
  /** Lists count exactly up to this many rows, and estimate above (API_EXACT_COUNT_LIMIT). */
  exactCountLimit: number;
}

/**
 * Users in API v2: the same User object and the same service as v1; the list pages by cursor
 * and counts only when asked (`include=totalCount`).
 */
export const usersV2Routes: FastifyPluginAsyncTypebox<UsersV2Options> = async (
  app,
  { users, exactCountLimit },
) => {
  app.get(
    '/users',
    {
      schema: {
        tags,
        security,
        summary: 'List users, newest first, by cursor (read:users)',
        querystring: ListUsersV2Query,
        response: {
          200: cursorListEnvelopeSchema(User, {
            description: 'One page of users, newest first',
            example: [USER_EXAMPLE],
            path: '/api/v2/users',
          }),
          ...errorResponses(400, 401, 403, 429),
        },
      },
      // Kept though the service checks the same: the handler decodes the cursor first, and a
      // guest is 401 whatever cursor it sends.
      preHandler: requirePermission('read:users'),
    },
    async (request) => {
      const { status, include } = request.query;
      const page = cursorPageRequest(request.query);
      const rows = await users.listUsersAfter(request.actor, { ...withLookahead(page), status });
      const total = include
        ? await users.countUsers(request.actor, { status, exactUpTo: exactCountLimit })
        : undefined;
      return cursorPaginated(request, { limit: page.limit, ...splitPage(rows, page.limit) }, total);
    },
  );

  app.get(
    '/users/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Read a user',
        params: UserIdParams,
        response: {
          200: envelopeSchema(User, { description: 'The user', example: USER_EXAMPLE }),
          ...errorResponses(400, 401, 404, 429),
        },
      },
    },
    async (request) => ok(request, await users.getUser(request.actor, request.params.id)),
  );
};
