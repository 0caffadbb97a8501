import type { MercuriusContext } from 'mercurius';
import { Type } from 'typebox';
import { argumentsChecker } from '../../graphql/arguments.js';
import type { GraphqlModule } from '../../graphql/module.js';
import type { SecurityEventType } from '../../platform/audit/security-log.js';
import { requireUser } from '../../platform/auth/permissions.js';
import { decodeCursor, encodeCursor } from '../../platform/http/cursor.js';
import type { SecurityEvent } from './security.repository.js';
import { SecurityEventsQuery } from './security.schemas.js';
import type { SecurityEventsService } from './security.service.js';

/**
 * The security log over GraphQL, by the REST routes' rules: with `userId`, that account's events
 * (yourself, or anyone with read:users; others are NOT_FOUND); without, every account's
 * (read:users). Paged like REST's cursor lists: `after` is a page's `nextCursor`.
 */
const typeDefs = `
  "One detail of a security event; value is its text (numbers and booleans written out)."
  type SecurityEventDetail {
    name: String!
    value: String
  }

  type SecurityEvent {
    id: ID!
    userId: ID
    actorId: String
    type: String!
    outcome: String!
    ip: String
    userAgent: String
    requestId: String
    details: [SecurityEventDetail!]!
    seq: Int!
    createdAt: DateTime!
  }

  type SecurityEventPage {
    items: [SecurityEvent!]!
    "The cursor of the next page (pass it as after); null on the last one."
    nextCursor: String
  }

  extend type Query {
    "Newest first. With userId: yourself, or anyone with read:users (others are NOT_FOUND); without: every account's, read:users."
    securityEvents(userId: ID, type: String, limit: Int = 20, after: String): SecurityEventPage!
  }
`;

const { limit, cursor, type, userId } = SecurityEventsQuery.properties;
const checkArgs = argumentsChecker(
  Type.Object({ limit, type, userId, after: cursor }, { additionalProperties: false }),
  'args',
);

interface Args {
  userId?: string | null;
  type?: string | null;
  limit: number;
  after?: string | null;
}

type Ctx = MercuriusContext;

export function securityGraphql(securityEvents: SecurityEventsService): GraphqlModule {
  return {
    typeDefs,
    resolvers: {
      SecurityEvent: {
        details: (event: SecurityEvent) =>
          Object.entries(event.details).map(([name, value]) => ({
            name,
            value: value === null ? null : String(value as string | number | boolean),
          })),
      },
      Query: {
        // GraphQL's null for an argument is REST's absent parameter.
        securityEvents: async (_root: unknown, args: Args, { actor }: Ctx) => {
          // As REST: a guest is UNAUTHORIZED whatever cursor it sends.
          requireUser(actor);
          const present = Object.entries(args).filter(([, v]) => v !== null && v !== undefined);
          const checked = checkArgs(Object.fromEntries(present)) as {
            userId?: string;
            type?: SecurityEventType;
            limit: number;
            after?: string;
          };
          const page = {
            limit: checked.limit + 1,
            type: checked.type,
            after: checked.after === undefined ? undefined : decodeCursor(checked.after),
          };
          const rows = checked.userId
            ? await securityEvents.listUserEvents(actor, checked.userId, page)
            : await securityEvents.listEvents(actor, page);
          const items = rows.slice(0, checked.limit);
          const last = items.at(-1);
          return {
            items,
            nextCursor: rows.length > checked.limit && last ? encodeCursor(last) : null,
          };
        },
      },
    },
  };
}
