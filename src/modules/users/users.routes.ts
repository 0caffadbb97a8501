import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { requirePermission } from '../../platform/auth/permissions.js';
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
  UserIdParams,
} from './users.schemas.js';
import type { UsersService } from './users.service.js';

const User = Type.Ref('User');
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
        response: { 200: listEnvelopeSchema(User), ...errorResponses(400, 401, 403, 429) },
      },
      preHandler: requirePermission('read:users'),
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
        response: { 200: envelopeSchema(User), ...errorResponses(401, 429) },
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
        response: { 200: envelopeSchema(User), ...errorResponses(400, 401, 403, 404, 429) },
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
        response: { 201: envelopeSchema(User), ...errorResponses(400, 401, 403, 409, 429) },
      },
      preHandler: requirePermission('write:users'),
    },
    async (request, reply) => {
      const user = await users.createUser(request.actor, request.body);
      return reply
        .status(201)
        .header('location', `${request.url.split('?')[0]}/${user.id}`)
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
        response: { 200: envelopeSchema(User), ...errorResponses(400, 401, 403, 404, 409, 429) },
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
        response: { 200: envelopeSchema(User), ...errorResponses(400, 401, 403, 404, 409, 429) },
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
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      await users.deleteUser(request.actor, request.params.id);
      return reply.status(204).send(null);
    },
  );
};
