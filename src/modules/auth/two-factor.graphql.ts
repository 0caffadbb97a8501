import type { MercuriusContext } from 'mercurius';
import { argumentsChecker } from '../../graphql/arguments.js';
import type { GraphqlModule } from '../../graphql/module.js';
import type { Actor } from '../../platform/auth/actor.js';
import { requireUser } from '../../platform/auth/permissions.js';
import { Type } from 'typebox';
import type { User } from '../users/users.repository.js';
import { ConfirmTwoFactorBody, DisableTwoFactorBody } from './two-factor.schemas.js';
import type { TwoFactorService } from './two-factor.service.js';

/**
 * Two-factor over GraphQL: whether a user has it (`User.twoFactorEnabled`, batched), and the
 * signed-in enrolment operations, on the same service as REST. Signing in itself (the code
 * step) stays REST-only, as GraphQL has no sign-in.
 */
const typeDefs = `
  "An authenticator app's secret, pending until confirmTwoFactor."
  type TwoFactorEnrolment {
    "Base32, to type into the app."
    secret: String!
    "The same secret as an otpauth:// URI, to show as a QR code."
    otpauthUri: String!
    issuer: String!
    digits: Int!
    period: Int!
    algorithm: String!
  }

  type TwoFactorEnabled {
    enabledAt: DateTime!
    "Ten single-use codes for a lost phone, shown this once."
    recoveryCodes: [String!]!
  }

  extend type User {
    "Sign-in asks for a code."
    twoFactorEnabled: Boolean!
  }

  extend type Mutation {
    "Start enrolling the signed-in user (replaces a pending enrolment)."
    startTwoFactor: TwoFactorEnrolment!
    "Confirm with a first code: two-factor is on."
    confirmTwoFactor(code: String!): TwoFactorEnabled!
    "Turn it off: yourself (no userId) with password and a code or recovery code; an admin for userId."
    disableTwoFactor(userId: ID, password: String, code: String, recoveryCode: String): Boolean!
  }
`;

const checkConfirm = argumentsChecker(ConfirmTwoFactorBody, 'args');
const checkDisable = argumentsChecker(DisableTwoFactorBody, 'args');
const checkUserId = argumentsChecker(
  Type.Object({ userId: Type.Optional(Type.String({ format: 'uuid' })) }),
  'args',
);

type Ctx = MercuriusContext;

function selfOf(actor: Actor): string {
  requireUser(actor);
  return actor.userId;
}

/** Drops the arguments left out (GraphQL hands them as null or not at all). */
const given = <T extends Record<string, unknown>>(args: T) =>
  Object.fromEntries(Object.entries(args).filter(([, v]) => v !== null && v !== undefined));

export function twoFactorGraphql(twoFactor: TwoFactorService): GraphqlModule {
  return {
    typeDefs,
    resolvers: {
      Mutation: {
        startTwoFactor: (_root: unknown, _args: object, { actor }: Ctx) =>
          twoFactor.start(actor, selfOf(actor)),
        confirmTwoFactor: (_root: unknown, args: { code: string }, { actor }: Ctx) =>
          twoFactor.confirm(actor, selfOf(actor), checkConfirm({ code: args.code }).code),
        disableTwoFactor: async (
          _root: unknown,
          args: { userId?: string; password?: string; code?: string; recoveryCode?: string },
          { actor }: Ctx,
        ) => {
          const { userId, ...proof } = given(args);
          const target = checkUserId(given({ userId })).userId ?? selfOf(actor);
          await twoFactor.disable(actor, target, checkDisable(proof));
          return true;
        },
      },
    },
    loaders: {
      User: {
        twoFactorEnabled: async (queries: { obj: User }[]) => {
          const enabled = await twoFactor.enabledAmong(queries.map((q) => q.obj.id));
          return queries.map((q) => enabled.has(q.obj.id));
        },
      },
    },
  };
}
