import type { MercuriusContext } from 'mercurius';
import { argumentsChecker, checkId, pageOf } from '../../graphql/arguments.js';
import type { GraphqlModule } from '../../graphql/module.js';
import { CreateUserBody, PatchUserBody } from './users.schemas.js';
import type { CreateUserInput, PatchUserInput } from './users.schemas.js';
import type { UsersService } from './users.service.js';

/**
 * Users over GraphQL. A `User` is only ever obtained through UsersService (getUser, listUsersPage,
 * getMe, createUser, updateUser), so the REST rule holds as is: a non-admin sees a User, email
 * included, only for themselves; anyone else is NOT_FOUND. Other people appear as an `Author`,
 * the public profile's id and name, which anyone may read (guests included), like
 * GET /users/:id/profile.
 */
const typeDefs = `
  enum Role { admin user guest }
  enum UserStatus { active suspended }

  type User {
    id: ID!
    name: String!
    email: String!
    role: Role!
    status: UserStatus!
    "The account proved it holds its email (the mailed link), or an admin made it."
    emailVerified: Boolean!
    createdAt: DateTime!
    updatedAt: DateTime!
  }

  "A user's public face: what anyone may see of the author of a post."
  type Author {
    id: ID!
    name: String!
  }

  input CreateUserInput {
    name: String!
    email: String!
    password: String
    role: Role
    status: UserStatus
  }

  input UpdateUserInput {
    name: String
    email: String
    role: Role
    status: UserStatus
    password: String
    "Required to change your own email or password."
    currentPassword: String
  }

  extend type Query {
    "The signed-in user."
    me: User
    "Yourself, or anyone with read:users; others are NOT_FOUND."
    user(id: ID!): User
    "Newest first; read:users."
    users(limit: Int = 20, offset: Int = 0): [User!]!
  }

  extend type Mutation {
    "write:users."
    createUser(input: CreateUserInput!): User!
    "Yourself, or anyone with write:users; role and status by admins only."
    updateUser(id: ID!, input: UpdateUserInput!): User!
  }
`;

const checkCreate = argumentsChecker(CreateUserBody);
const checkUpdate = argumentsChecker(PatchUserBody);

type Ctx = MercuriusContext;

export function usersGraphql(users: UsersService): GraphqlModule {
  return {
    typeDefs,
    resolvers: {
      Query: {
        me: (_root: unknown, _args: object, { actor }: Ctx) => users.getMe(actor),
        user: (_root: unknown, args: { id: string }, { actor }: Ctx) =>
          users.getUser(actor, checkId(args).id),
        users: (_root: unknown, args: { limit: number; offset: number }, { actor }: Ctx) =>
          users.listUsersPage(actor, { ...pageOf(args), sort: '-createdAt' }),
      },
      Mutation: {
        createUser: (_root: unknown, args: { input: CreateUserInput }, { actor }: Ctx) =>
          users.createUser(actor, checkCreate({ ...args.input })),
        updateUser: (_root: unknown, args: { id: string; input: PatchUserInput }, { actor }: Ctx) =>
          users.updateUser(actor, checkId(args).id, checkUpdate({ ...args.input })),
      },
    },
  };
}
