import type { MercuriusContext } from 'mercurius';
import { argumentsChecker } from '../../graphql/arguments.js';
import type { GraphqlModule } from '../../graphql/module.js';
import type { AccountEmailsService } from './account-emails.service.js';
import {
  ConfirmEmailChangeBody,
  ForgotPasswordBody,
  ResetPasswordBody,
  VerifyEmailBody,
} from './account-emails.schemas.js';

/**
 * The emailed-link flows over GraphQL: the same service methods, checks and answers as
 * POST /auth/verify-email, /resend-verification, /forgot-password, /reset-password and
 * /confirm-email-change. The mutations REST answers with 204 return true.
 */
const typeDefs = `
  extend type Mutation {
    "Verifies the account email with the code of the verification email; refresh the token next."
    verifyEmail(token: String!): User!
    "Mails a new verification link to the caller's address."
    resendVerification: Boolean!
    "Mails a password reset link; the same answer whether or not an account uses the address."
    forgotPassword(email: String!): Boolean!
    "Sets a new password with the code of the reset email; every session of the account ends."
    resetPassword(token: String!, password: String!): Boolean!
    "Moves the account to the new address, with the code mailed to it."
    confirmEmailChange(token: String!): User!
  }
`;

const checkVerify = argumentsChecker(VerifyEmailBody, 'args');
const checkChange = argumentsChecker(ConfirmEmailChangeBody, 'args');
const checkForgot = argumentsChecker(ForgotPasswordBody, 'args');
const checkReset = argumentsChecker(ResetPasswordBody, 'args');

type Ctx = MercuriusContext;

export function accountEmailsGraphql(emails: AccountEmailsService): GraphqlModule {
  return {
    typeDefs,
    resolvers: {
      Mutation: {
        verifyEmail: (_root: unknown, args: { token: string }, { actor }: Ctx) =>
          emails.verifyEmail(actor, checkVerify({ token: args.token }).token),
        resendVerification: async (_root: unknown, _args: object, { actor }: Ctx) => {
          await emails.resendVerification(actor);
          return true;
        },
        forgotPassword: async (_root: unknown, args: { email: string }, { actor }: Ctx) => {
          await emails.forgotPassword(actor, checkForgot({ email: args.email }).email);
          return true;
        },
        resetPassword: async (
          _root: unknown,
          args: { token: string; password: string },
          { actor }: Ctx,
        ) => {
          const { token, password } = checkReset({ token: args.token, password: args.password });
          await emails.resetPassword(actor, token, password);
          return true;
        },
        confirmEmailChange: (_root: unknown, args: { token: string }, { actor }: Ctx) =>
          emails.confirmEmailChange(actor, checkChange({ token: args.token }).token),
      },
    },
  };
}
