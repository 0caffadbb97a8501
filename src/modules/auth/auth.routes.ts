import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { locationOf } from '../../platform/http/location.js';
import { envelopeSchema, errorResponses, ok } from '../../platform/http/envelope.js';
import { RegisterBody, USER_EXAMPLE } from '../users/users.schemas.js';
import { LoginBody, RefreshBody, TOKEN_PAIR_EXAMPLE, TokenPairSchema } from './auth.schemas.js';
import { TwoFactorEnrolmentRequiredSchema, TwoFactorRequiredSchema } from './two-factor.schemas.js';
import type { AuthService } from './auth.service.js';
import { answerNoStore } from '../../platform/http/no-store.js';

const tags = ['auth'];
/** The user the register example creates. */
const REGISTERED_EXAMPLE = {
  ...USER_EXAMPLE,
  id: '0193a5b0-7c1e-7d3a-9f00-1a2b3c4d5e12',
  name: 'Grace Hopper',
  email: 'grace@example.com',
  emailVerified: false,
  createdAt: '2026-01-15T09:30:00.000Z',
  updatedAt: '2026-01-15T09:30:00.000Z',
};

export const authRoutes: FastifyPluginAsyncTypebox<{ auth: AuthService }> = async (
  app,
  { auth },
) => {
  // Tokens and credentials must not land in a browser, proxy or CDN cache (RFC 6749 §5.1):
  // every answer of these routes, errors included, as an error may echo what was sent.
  answerNoStore(app);

  app.post(
    '/auth/register',
    {
      schema: {
        tags,
        summary: 'Create an account with the user role',
        body: RegisterBody,
        response: {
          201: envelopeSchema(Type.Ref('User'), {
            description: 'The new user (role user); sign in next',
            example: REGISTERED_EXAMPLE,
          }),
          ...errorResponses(400, 409, 429),
        },
      },
    },
    async (request, reply) => {
      const user = await auth.register(request.actor, request.body);
      return reply
        .status(201)
        .header('location', locationOf(app.prefix, 'users', user.id))
        .send(ok(request, user));
    },
  );

  app.post(
    '/auth/login',
    {
      schema: {
        tags,
        summary:
          'Exchange email and password for an access and a refresh token (or, with two-factor, a step token)',
        body: LoginBody,
        response: {
          200: envelopeSchema(
            Type.Union([
              TokenPairSchema,
              TwoFactorRequiredSchema,
              TwoFactorEnrolmentRequiredSchema,
            ]),
            {
              description:
                'A new session (its access and refresh tokens); or, for an account with ' +
                'two-factor, `twoFactorRequired` and a step token for POST /auth/login/two-factor; ' +
                'or, for an admin who must enrol first, `twoFactorEnrolmentRequired` and a token ' +
                'for the enrolment routes only',
              example: TOKEN_PAIR_EXAMPLE,
            },
          ),
          ...errorResponses(400, 401, 403, 429),
        },
      },
    },
    async (request) => ok(request, await auth.login(request.actor, request.body)),
  );

  app.post(
    '/auth/refresh',
    {
      // A money write or a token refresh: admitted from the load shedder's reserve.
      config: { critical: true },
      schema: {
        tags,
        summary: 'Spend a refresh token for a new pair (each refresh token works once)',
        body: RefreshBody,
        response: {
          200: envelopeSchema(TokenPairSchema, {
            description: "The session's next pair; the refresh token sent is spent",
            example: TOKEN_PAIR_EXAMPLE,
          }),
          ...errorResponses(400, 401, 403, 429),
        },
      },
    },
    async (request) => ok(request, await auth.refresh(request.actor, request.body.refreshToken)),
  );

  app.post(
    '/auth/logout',
    {
      schema: {
        tags,
        summary: "End the caller's session: its refresh tokens and access tokens",
        security: [{ bearerAuth: [] }],
        response: {
          204: Type.Null({ description: 'Signed out: the session and its tokens are revoked' }),
          ...errorResponses(401, 429),
        },
      },
    },
    async (request, reply) => {
      await auth.logout(request.actor);
      return reply.status(204).send(null);
    },
  );
};
