import { Type } from 'typebox';
import { SECURITY_EVENT_TYPES } from '../../platform/audit/security-log.js';
import { CursorQuerySchema } from '../../platform/http/cursor-pagination.js';
import { USER_EXAMPLE } from '../users/users.schemas.js';

export const SECURITY_EVENT_EXAMPLE = {
  id: '0193a5b0-7c1e-7d3a-9f00-1a2b3c4d5e71',
  userId: USER_EXAMPLE.id,
  actorId: USER_EXAMPLE.id,
  type: 'sign-in' as const,
  outcome: 'success' as const,
  ip: '203.0.113.7',
  userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0',
  requestId: 'req-4f2a',
  details: { method: 'password', sessionId: '0193a5b0-7c1e-7d3a-9f00-1a2b3c4d5e72' },
  seq: 12,
  createdAt: '2026-01-12T17:40:00.000Z',
};

const EventType = Type.Union(
  SECURITY_EVENT_TYPES.map((t) => Type.Literal(t)),
  { description: 'What happened', examples: ['sign-in'] },
);

export const SecurityEventSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    userId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()], {
      description: 'The account the event is about; null when no account matched',
    }),
    actorId: Type.Union([Type.String({ maxLength: 512 }), Type.Null()], {
      description: "Who did it: the account's own id, an admin's, 'operator' (the CLI), or null",
    }),
    type: EventType,
    outcome: Type.Union([Type.Literal('success'), Type.Literal('failure')]),
    ip: Type.Union([Type.String({ maxLength: 512 }), Type.Null()]),
    userAgent: Type.Union([Type.String({ maxLength: 512 }), Type.Null()]),
    requestId: Type.Union([Type.String({ maxLength: 512 }), Type.Null()]),
    details: Type.Record(
      Type.String({ maxLength: 64 }),
      Type.Union([Type.String({ maxLength: 512 }), Type.Number(), Type.Boolean(), Type.Null()]),
      { description: 'What else says what happened: method, session id, old and new values' },
    ),
    seq: Type.Integer({ minimum: 1, description: "Its place in its account's hash chain" }),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'SecurityEvent', title: 'SecurityEvent', examples: [SECURITY_EVENT_EXAMPLE] },
);

const { limit, cursor } = CursorQuerySchema;
const TypeFilter = Type.Optional(
  Type.Union(
    SECURITY_EVENT_TYPES.map((t) => Type.Literal(t)),
    { description: 'Only events of this type', examples: ['sign-in-failed'] },
  ),
);

export const UserSecurityEventsQuery = Type.Object(
  { limit, cursor, type: TypeFilter },
  { additionalProperties: false },
);

export const SecurityEventsQuery = Type.Object(
  {
    limit,
    cursor,
    type: TypeFilter,
    userId: Type.Optional(
      Type.String({
        format: 'uuid',
        description:
          "Only this account's events; the nil UUID (00000000-0000-0000-0000-000000000000) for " +
          'those no account matched',
        examples: [USER_EXAMPLE.id],
      }),
    ),
  },
  { additionalProperties: false },
);
