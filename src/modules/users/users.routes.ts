import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
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
  UserSchema,
} from './users.schemas.js';
import type { UsersService } from './users.service.js';

const User = Type.Ref('User');
const tags = ['users'];

/** The users controller: HTTP in, service call, envelope out. No rules here. */
export const usersRoutes: FastifyPluginAsyncTypebox<{ users: UsersService }> = async (
  app,
  { users },
) => {
  app.addSchema(UserSchema);

  app.get(
    '/users',
    {
      schema: {
        tags,
        summary: 'List users',
        querystring: ListUsersQuery,
        response: { 200: listEnvelopeSchema(User), ...errorResponses(400) },
      },
    },
    async (request) => {
      const { page = 1, pageSize = 20, sort = '-createdAt', status } = request.query;
      const result = await users.listUsers(request.actor, { page, pageSize, sort, status });
      return paginated(request, { page, pageSize }, result);
    },
  );

  app.get(
    '/users/:id',
    {
      schema: {
        tags,
        summary: 'Read a user',
        params: UserIdParams,
        response: { 200: envelopeSchema(User), ...errorResponses(400, 404) },
      },
    },
    async (request) => ok(request, await users.getUser(request.actor, request.params.id)),
  );

  app.post(
    '/users',
    {
      schema: {
        tags,
        summary: 'Create a user',
        body: CreateUserBody,
        response: { 201: envelopeSchema(User), ...errorResponses(400, 409) },
      },
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
        summary: 'Replace a user',
        params: UserIdParams,
        body: ReplaceUserBody,
        response: { 200: envelopeSchema(User), ...errorResponses(400, 404, 409) },
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
        summary: 'Change some fields of a user',
        params: UserIdParams,
        body: PatchUserBody,
        response: { 200: envelopeSchema(User), ...errorResponses(400, 404, 409) },
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
        summary: 'Delete a user',
        params: UserIdParams,
        response: { 204: Type.Null(), ...errorResponses(400, 404) },
      },
    },
    async (request, reply) => {
      await users.deleteUser(request.actor, request.params.id);
      return reply.status(204).send(null);
    },
  );
};
