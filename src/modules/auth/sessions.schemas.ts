import { Type } from 'typebox';
import { PageQuerySchema } from '../../platform/http/pagination.js';
import { USER_EXAMPLE, UserRef } from '../users/users.schemas.js';

const Timestamp = (description: string) => Type.String({ format: 'date-time', description });

export const SESSION_EXAMPLE = {
  id: '0193a5b0-7c1e-7d3a-9f00-1a2b3c4d5e20',
  createdAt: '2026-01-15T09:30:00.000Z',
  lastUsedAt: '2026-01-16T08:12:45.000Z',
  expiresAt: '2026-01-23T08:12:45.000Z',
  userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  ip: '203.0.113.7',
  current: true,
};

export const SessionSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid', description: "The session's id (the access token's sid)" }),
    createdAt: Timestamp('When it signed in'),
    lastUsedAt: Timestamp('Its last refresh, or the sign-in'),
    expiresAt: Timestamp('When it ends unless refreshed before'),
    userAgent: Type.Union([Type.String({ maxLength: 512 }), Type.Null()], {
      description: 'The User-Agent it signed in with',
    }),
    ip: Type.Union([Type.String({ maxLength: 64 }), Type.Null()], {
      description: 'The client address it signed in from',
    }),
    current: Type.Boolean({ description: 'The session this request came with' }),
  },
  { $id: 'Session', title: 'Session', examples: [SESSION_EXAMPLE] },
);

export const SessionsQuery = Type.Object(PageQuerySchema, { additionalProperties: false });

export const UserSessionParams = Type.Object({
  id: UserRef,
  sessionId: Type.String({
    format: 'uuid',
    description: "The session's id, as its list gives it",
    examples: [SESSION_EXAMPLE.id],
  }),
});

export const LogoutAllBody = Type.Object(
  {
    keepCurrent: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'Keep the session this request comes with; end all the others',
      }),
    ),
  },
  { additionalProperties: false, examples: [{ keepCurrent: true }] },
);

export const ENDED_EXAMPLE = { endedSessions: 2 };

export const EndedSessionsSchema = Type.Object({
  endedSessions: Type.Integer({ minimum: 0, description: 'How many sessions this ended' }),
});

/** The path the list example pages through. */
export const SESSIONS_PATH_EXAMPLE = `/api/v1/users/${USER_EXAMPLE.id}/sessions`;
