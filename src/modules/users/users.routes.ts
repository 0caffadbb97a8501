import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { locationOf } from '../../platform/http/location.js';
import {
  envelopeSchema,
  errorResponses,
  listEnvelopeSchema,
  ok,
} from '../../platform/http/envelope.js';
import { paginated } from '../../platform/http/pagination.js';
import {
  CreateUserBody,
  ListUsersQuery,
  PatchUserBody,
  ReplaceUserBody,
  USER_EXAMPLE,
  UserIdParams,
} from './users.schemas.js';
import type { UsersService } from './users.service.js';

const User = Type.Ref('User');
/** The user POST /users's example body creates. */
const CREATED_USER_EXAMPLE = {
  ...USER_EXAMPLE,
  id: '0193a5b0-7c1e-7d3a-9f00-1a2b3c4d5e11',
  name: 'Alan Turing',
  email: 'alan@example.com',
  createdAt: '2026-01-15T09:30:00.000Z',
  updatedAt: '2026-01-15T09:30:00.000Z',
};
const tags = ['users'];
const security = [{ bearerAuth: [] }];

/** The users controller: HTTP in, service call, envelope out. No rules here. */
export const usersRoutes: FastifyPluginAsyncTypebox<{ users: UsersService }> = async (
  app,
  { users },
) => {
  app.get(
    '/users',
    {
      schema: {
        tags,
        security,
        summary: 'List users (read:users)',
        querystring: ListUsersQuery,
        response: {
          200: listEnvelopeSchema(User, {
            description: 'One page of users',
            example: [USER_EXAMPLE],
            path: '/api/v1/users',
          }),
          ...errorResponses(400, 401, 403, 429),
        },
      },
    },
    async (request) => {
      const { page = 1, pageSize = 20, sort = '-createdAt', status } = request.query;
      const result = await users.listUsers(request.actor, { page, pageSize, sort, status });
      return paginated(request, { page, pageSize }, result);
    },
  );

  app.get(
    '/users/me',
    {
      schema: {
        tags,
        security,
        summary: 'Read the signed-in user',
        response: {
          200: envelopeSchema(User, { description: 'The signed-in user', example: USER_EXAMPLE }),
          ...errorResponses(401, 429),
        },
      },
    },
    async (request) => ok(request, await users.getMe(request.actor)),
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
          ...errorResponses(400, 401, 403, 404, 429),
        },
      },
    },
    async (request) => ok(request, await users.getUser(request.actor, request.params.id)),
  );

  app.post(
    '/users',
    {
      schema: {
        tags,
        security,
        summary: 'Create a user (write:users)',
        body: CreateUserBody,
        response: {
          201: envelopeSchema(User, {
            description: 'The user created; Location is its address',
            example: CREATED_USER_EXAMPLE,
          }),
          ...errorResponses(400, 401, 403, 409, 429),
        },
      },
    },
    async (request, reply) => {
      const user = await users.createUser(request.actor, request.body);
      return reply
        .status(201)
        .header('location', locationOf(app.prefix, 'users', user.id))
        .send(ok(request, user));
    },
  );

  app.put(
    '/users/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Replace a user',
        params: UserIdParams,
        body: ReplaceUserBody,
        response: {
          200: envelopeSchema(User, { description: 'The user as replaced', example: USER_EXAMPLE }),
          ...errorResponses(400, 401, 403, 404, 409, 429),
        },
      },
    },
    async (request) =>
      ok(request, await users.replaceUser(request.actor, request.params.id, request.body)),
  );

  app.patch(
    '/users/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Change some fields of a user',
        params: UserIdParams,
        body: PatchUserBody,
        response: {
          200: envelopeSchema(User, {
            description: 'The user as changed',
            example: { ...USER_EXAMPLE, name: 'Ada King' },
          }),
          ...errorResponses(400, 401, 403, 404, 409, 429),
        },
      },
    },
    async (request) =>
      ok(request, await users.updateUser(request.actor, request.params.id, request.body)),
  );

  app.delete(
    '/users/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Delete a user',
        params: UserIdParams,
        response: {
          204: Type.Null({ description: 'Deleted, with their posts and sessions' }),
          ...errorResponses(400, 401, 403, 404, 429),
        },
      },
    },
    async (request, reply) => {
      await users.deleteUser(request.actor, request.params.id);
      return reply.status(204).send(null);
    },
  );
};
