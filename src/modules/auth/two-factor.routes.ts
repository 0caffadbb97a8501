import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { envelopeSchema, errorResponses, ok } from '../../platform/http/envelope.js';
import { ValidationError } from '../../platform/errors.js';
import { UserIdParams } from '../users/users.schemas.js';
import { TOKEN_PAIR_EXAMPLE, TokenPairSchema } from './auth.schemas.js';
import type { AuthService } from './auth.service.js';
import type { SecondFactor, TwoFactorService } from './two-factor.service.js';
import {
  ConfirmTwoFactorBody,
  DisableTwoFactorBody,
  LoginTwoFactorBody,
  SelfParams,
  TWO_FACTOR_ENABLED_EXAMPLE,
  TWO_FACTOR_ENROLMENT_EXAMPLE,
  TWO_FACTOR_STATUS_EXAMPLE,
  TwoFactorEnabledSchema,
  TwoFactorEnrolmentSchema,
  TwoFactorStatusSchema,
} from './two-factor.schemas.js';
import { answerNoStore } from '../../platform/http/no-store.js';

const tags = ['auth'];
const security = [{ bearerAuth: [] }];

/** Exactly one of a code and a recovery code. */
function secondFactorOf(body: { code?: string; recoveryCode?: string }): SecondFactor {
  if (body.code !== undefined && body.recoveryCode === undefined) return { code: body.code };
  if (body.recoveryCode !== undefined && body.code === undefined) {
    return { recoveryCode: body.recoveryCode };
  }
  throw new ValidationError('Give a code or a recovery code', [
    { field: 'body', message: 'needs exactly one of code and recoveryCode' },
  ]);
}

/**
 * Two-factor (TOTP): the sign-in code step, and enrolment under the user it belongs to
 * (`/users/me/two-factor`). Start and confirm also take the enrolment token an admin gets
 * when ADMIN_TWO_FACTOR=required (`config.twoFactorEnrolment`); no other route does.
 */
export const twoFactorRoutes: FastifyPluginAsyncTypebox<{
  auth: AuthService;
  twoFactor: TwoFactorService;
}> = async (app, { auth, twoFactor }) => {
  // Secrets, recovery codes and tokens: never in a cache (see auth.routes.ts).
  answerNoStore(app);

  app.post(
    '/auth/login/two-factor',
    {
      schema: {
        tags,
        summary: 'Finish signing in: the step token from login and a code (or a recovery code)',
        body: LoginTwoFactorBody,
        response: {
          200: envelopeSchema(TokenPairSchema, {
            description: 'A new session: its access and refresh tokens',
            example: TOKEN_PAIR_EXAMPLE,
          }),
          ...errorResponses(400, 401, 403, 429),
        },
      },
    },
    async (request) => {
      const { stepToken } = request.body;
      const factor = secondFactorOf(request.body);
      return ok(request, await auth.loginWithSecondFactor(request.actor, stepToken, factor));
    },
  );

  app.get(
    '/users/:id/two-factor',
    {
      config: { twoFactorEnrolment: true },
      schema: {
        tags,
        security,
        summary: "A user's two-factor state (the user, or read:users)",
        params: UserIdParams,
        response: {
          200: envelopeSchema(TwoFactorStatusSchema, {
            description: 'Whether sign-in asks for a code, and recovery codes left',
            example: TWO_FACTOR_STATUS_EXAMPLE,
          }),
          ...errorResponses(400, 401, 404, 429),
        },
      },
    },
    async (request) => ok(request, await twoFactor.status(request.actor, request.params.id)),
  );

  app.post(
    '/users/:id/two-factor',
    {
      config: { twoFactorEnrolment: true },
      schema: {
        tags,
        security,
        summary: 'Start enrolling: a new secret for an authenticator app (replaces a pending one)',
        params: SelfParams,
        response: {
          201: envelopeSchema(TwoFactorEnrolmentSchema, {
            description: 'The secret, pending until a first code confirms it',
            example: TWO_FACTOR_ENROLMENT_EXAMPLE,
          }),
          ...errorResponses(400, 401, 403, 404, 409, 429),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const enrolment = await twoFactor.start(request.actor, id);
      return reply
        .status(201)
        .header('location', `${app.prefix}/users/${id}/two-factor`)
        .send(ok(request, enrolment));
    },
  );

  app.post(
    '/users/:id/two-factor/confirm',
    {
      config: { twoFactorEnrolment: true },
      schema: {
        tags,
        security,
        summary: 'Confirm enrolment with a first code: two-factor is on, recovery codes issued',
        params: SelfParams,
        body: ConfirmTwoFactorBody,
        response: {
          200: envelopeSchema(TwoFactorEnabledSchema, {
            description: 'Enabled; the ten recovery codes, shown this once',
            example: TWO_FACTOR_ENABLED_EXAMPLE,
          }),
          ...errorResponses(400, 401, 403, 404, 409, 429),
        },
      },
    },
    async (request) =>
      ok(request, await twoFactor.confirm(request.actor, request.params.id, request.body.code)),
  );

  app.delete(
    '/users/:id/two-factor',
    {
      // An admin turning off another account's two-factor sends no body at all.
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        tags,
        security,
        summary: 'Turn two-factor off (the user with password and code; or an admin)',
        params: UserIdParams,
        body: DisableTwoFactorBody,
        response: {
          204: Type.Null({ description: 'Off: sign-in asks for the password only' }),
          ...errorResponses(400, 401, 403, 404, 409, 429),
        },
      },
    },
    async (request, reply) => {
      await twoFactor.disable(request.actor, request.params.id, request.body);
      return reply.status(204).send(null);
    },
  );
};
