import type { MercuriusContext } from 'mercurius';
import { Type } from 'typebox';
import { argumentsChecker, checkId, pageOf } from '../../graphql/arguments.js';
import type { GraphqlModule } from '../../graphql/module.js';
import type { User } from '../users/users.repository.js';
import type { SessionsService } from './sessions.service.js';

/**
 * Login sessions over GraphQL, through the same SessionsService methods as REST, so the same
 * rule holds: your own, or anyone's with read:users (listing) and write:users (ending); others
 * are NOT_FOUND.
 */
const typeDefs = `
  "A login session: one sign-in and the refreshes that continued it."
  type Session {
    id: ID!
    createdAt: DateTime!
    lastUsedAt: DateTime!
    expiresAt: DateTime!
    userAgent: String
    ip: String
    "The session this request came with."
    current: Boolean!
  }

  extend type User {
    "Live sessions, most recently used first; yours, or anyone's with read:users."
    sessions(limit: Int = 20, offset: Int = 0): [Session!]!
  }

  extend type Query {
    "A user's live sessions (userId defaults to you); yours, or anyone's with read:users."
    sessions(userId: ID, limit: Int = 20, offset: Int = 0): [Session!]!
  }

  extend type Mutation {
    "Ends one session at once (refresh and access tokens); yours, or anyone's with write:users."
    endSession(userId: ID!, sessionId: ID!): Boolean!
    "Ends all your sessions, or all but the current one; returns how many it ended."
    logoutAll(keepCurrent: Boolean = false): Int!
    "Ends every session of a user; yours, or anyone's with write:users. Returns how many."
    endAllSessions(userId: ID!): Int!
  }
`;

const checkEnd = argumentsChecker(
  Type.Object({
    userId: Type.String({ format: 'uuid' }),
    sessionId: Type.String({ format: 'uuid' }),
  }),
  'args',
);

type Ctx = MercuriusContext;
type PageArgs = { limit: number; offset: number };

export function sessionsGraphql(sessions: SessionsService): GraphqlModule {
  const list = (ctx: Ctx, userId: string, args: PageArgs) =>
    sessions.listSessions(ctx.actor, userId, pageOf(args)).then((page) => page.items);
  return {
    typeDefs,
    resolvers: {
      User: {
        sessions: (user: User, args: PageArgs, ctx: Ctx) => list(ctx, user.id, args),
      },
      Query: {
        sessions: (_root: unknown, args: PageArgs & { userId?: string | null }, ctx: Ctx) =>
          list(
            ctx,
            args.userId == null ? (ctx.actor.userId ?? '') : checkId({ id: args.userId }).id,
            args,
          ),
      },
      Mutation: {
        endSession: async (
          _root: unknown,
          args: { userId: string; sessionId: string },
          ctx: Ctx,
        ) => {
          const { userId, sessionId } = checkEnd({ ...args });
          await sessions.endSession(ctx.actor, userId, sessionId);
          return true;
        },
        logoutAll: (_root: unknown, args: { keepCurrent: boolean }, ctx: Ctx) =>
          sessions.logoutAll(ctx.actor, { keepCurrent: args.keepCurrent }),
        endAllSessions: (_root: unknown, args: { userId: string }, ctx: Ctx) =>
          sessions.endAllSessions(ctx.actor, checkId({ id: args.userId }).id),
      },
    },
  };
}
