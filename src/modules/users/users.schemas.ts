import { Type, type Static } from 'typebox';
import { USER_SORTS } from './users.types.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../platform/auth/passwords.js';
import { CursorQuerySchema } from '../../platform/http/cursor-pagination.js';
import { PageQuerySchema } from '../../platform/http/pagination.js';
import { userRefSchema } from '../../platform/http/user-ref.js';

const Name = Type.String({ minLength: 1, maxLength: 100 });
/** ASCII, as the format allows; the validator turns it to lower case, its one spelling. */
export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 });
export const Password = Type.String({
  minLength: PASSWORD_MIN_LENGTH,
  maxLength: PASSWORD_MAX_LENGTH,
  description: '8 to 128 characters; no composition rules',
});
// The current password is checked, not validated: any length up to the maximum may be tried.
const CurrentPassword = Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH });
const Role = Type.Union([Type.Literal('admin'), Type.Literal('user'), Type.Literal('guest')]);
const Status = Type.Union([Type.Literal('active'), Type.Literal('suspended')]);
const StatusFilter = Type.Union([Type.Literal('active'), Type.Literal('suspended')], {
  description: 'Only users in this status',
  examples: ['active'],
});

/** The user every example names: the ids of other modules' examples point at her. */
export const USER_EXAMPLE = {
  id: '0193a5b0-7c1e-7d3a-9f00-1a2b3c4d5e01',
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  role: 'user' as const,
  status: 'active' as const,
  emailVerified: true,
  createdAt: '2026-01-10T08:00:00.000Z',
  updatedAt: '2026-01-12T17:45:00.000Z',
};
/** The password of the examples' sign-in. */
export const PASSWORD_EXAMPLE = 'correct horse battery staple';

export const UserSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    name: Name,
    email: Email,
    role: Role,
    status: Status,
    emailVerified: Type.Boolean({
      description: 'The account proved it holds its email (the mailed link), or an admin made it',
    }),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'User', title: 'User', examples: [USER_EXAMPLE] },
);

export const PUBLIC_PROFILE_EXAMPLE = {
  id: USER_EXAMPLE.id,
  name: USER_EXAMPLE.name,
  createdAt: USER_EXAMPLE.createdAt,
};

export const PublicProfileSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    name: Name,
    createdAt: Type.String({ format: 'date-time' }),
  },
  {
    $id: 'PublicProfile',
    title: 'PublicProfile',
    examples: [PUBLIC_PROFILE_EXAMPLE],
  },
);

/** Every path parameter that names a user takes `me` too (see platform/http/user-ref.ts). */
export const UserRef = userRefSchema({
  description: "The user's id, or `me` for the signed-in user (a guest using `me` is 401)",
  examples: [USER_EXAMPLE.id, 'me'],
});

export const UserIdParams = Type.Object({ id: UserRef });

export const CreateUserBody = Type.Object(
  {
    name: Name,
    email: Email,
    password: Type.Optional(Password),
    role: Type.Optional(Role),
    status: Type.Optional(Status),
  },
  {
    additionalProperties: false,
    examples: [
      { name: 'Alan Turing', email: 'alan@example.com', password: PASSWORD_EXAMPLE, role: 'user' },
    ],
  },
);

export const ReplaceUserBody = Type.Object(
  {
    name: Name,
    email: Email,
    role: Role,
    status: Status,
    currentPassword: Type.Optional(CurrentPassword),
  },
  {
    additionalProperties: false,
    examples: [
      { name: USER_EXAMPLE.name, email: USER_EXAMPLE.email, role: 'user', status: 'active' },
    ],
  },
);

export const PatchUserBody = Type.Object(
  {
    name: Type.Optional(Name),
    email: Type.Optional(Email),
    role: Type.Optional(Role),
    status: Type.Optional(Status),
    password: Type.Optional(Password),
    currentPassword: Type.Optional(CurrentPassword),
  },
  { additionalProperties: false, minProperties: 1, examples: [{ name: 'Ada King' }] },
);

export const ListUsersQuery = Type.Object(
  {
    ...PageQuerySchema,
    sort: Type.Optional(
      Type.Union(
        USER_SORTS.map((s) => Type.Literal(s)),
        { default: '-createdAt', examples: ['name'] },
      ),
    ),
    status: Type.Optional(StatusFilter),
  },
  { additionalProperties: false },
);

export const RegisterBody = Type.Object(
  { name: Name, email: Email, password: Password },
  {
    additionalProperties: false,
    examples: [{ name: 'Grace Hopper', email: 'grace@example.com', password: PASSWORD_EXAMPLE }],
  },
);

export type RegisterInput = Static<typeof RegisterBody>;
export type CreateUserInput = Static<typeof CreateUserBody>;
export type ReplaceUserInput = Static<typeof ReplaceUserBody>;
export type PatchUserInput = Static<typeof PatchUserBody>;

/** v2: a cursor instead of page numbers, newest first only (the order its index serves). */
export const ListUsersV2Query = Type.Object(
  { ...CursorQuerySchema, status: Type.Optional(StatusFilter) },
  { additionalProperties: false },
);
