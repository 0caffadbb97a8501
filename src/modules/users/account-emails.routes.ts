import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { envelopeSchema, errorResponses, ok } from '../../platform/http/envelope.js';
import type { AccountEmailsService } from './account-emails.service.js';
import {
  ConfirmEmailChangeBody,
  ForgotPasswordBody,
  ResetPasswordBody,
  VerifyEmailBody,
} from './account-emails.schemas.js';
import { USER_EXAMPLE } from './users.schemas.js';
import { answerNoStore } from '../../platform/http/no-store.js';

const tags = ['auth'];

/**
 * The flows an emailed link completes. Every one is a POST: the links in the emails open a web
 * page (PUBLIC_WEB_URL) that POSTs the token, so a mail scanner following a link spends nothing.
 */
export const accountEmailsRoutes: FastifyPluginAsyncTypebox<{
  emails: AccountEmailsService;
}> = async (app, { emails }) => {
  // Tokens must not land in a browser, proxy or CDN cache, errors included.
  answerNoStore(app);

  app.post(
    '/auth/verify-email',
    {
      schema: {
        tags,
        summary: 'Verify the account email with the code of the verification email',
        description:
          'Spends the code once. Refresh the access token afterwards: it says whether the email ' +
          'is verified, which moving money needs.',
        body: VerifyEmailBody,
        response: {
          200: envelopeSchema(Type.Ref('User'), {
            description: 'The user, emailVerified true',
            example: USER_EXAMPLE,
          }),
          ...errorResponses(400, 429),
        },
      },
    },
    async (request) => ok(request, await emails.verifyEmail(request.actor, request.body.token)),
  );

  app.post(
    '/auth/resend-verification',
    {
      schema: {
        tags,
        summary: "Mail a new verification link to the caller's address",
        security: [{ bearerAuth: [] }],
        response: {
          204: Type.Null({ description: 'A verification email is on its way' }),
          ...errorResponses(400, 401, 409, 429),
        },
      },
    },
    async (request, reply) => {
      await emails.resendVerification(request.actor);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/auth/forgot-password',
    {
      schema: {
        tags,
        summary: 'Mail a password reset link to the address',
        description:
          'The same answer whether or not an account uses the address; an address no account ' +
          'uses gets an email saying so.',
        body: ForgotPasswordBody,
        response: {
          204: Type.Null({ description: 'An email is on its way to the address' }),
          ...errorResponses(400, 429),
        },
      },
    },
    async (request, reply) => {
      await emails.forgotPassword(request.actor, request.body.email);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/auth/reset-password',
    {
      schema: {
        tags,
        summary: 'Set a new password with the code of the reset email',
        description:
          'Every session of the account ends, and every other reset link of it stops working.',
        body: ResetPasswordBody,
        response: {
          204: Type.Null({ description: 'The password is changed; sign in with it' }),
          ...errorResponses(400, 429),
        },
      },
    },
    async (request, reply) => {
      await emails.resetPassword(request.actor, request.body.token, request.body.password);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/auth/confirm-email-change',
    {
      schema: {
        tags,
        summary: 'Move the account to the new address, with the code mailed to it',
        body: ConfirmEmailChangeBody,
        response: {
          200: envelopeSchema(Type.Ref('User'), {
            description: 'The user with the new address, verified',
            example: USER_EXAMPLE,
          }),
          ...errorResponses(400, 409, 429),
        },
      },
    },
    async (request) =>
      ok(request, await emails.confirmEmailChange(request.actor, request.body.token)),
  );
};
