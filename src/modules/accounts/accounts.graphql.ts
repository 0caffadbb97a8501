import type { MercuriusContext } from 'mercurius';
import { checkId } from '../../graphql/arguments.js';
import type { GraphqlModule } from '../../graphql/module.js';
import type { User } from '../users/users.repository.js';
import type { AccountsService } from './accounts.service.js';

/**
 * Accounts over GraphQL: read-only here (money moves, holds and their captures and voids
 * included, through REST's idempotent routes).
 */
const typeDefs = `
  enum AccountKind { wallet issuer merchant }

  type Account {
    id: ID!
    kind: AccountKind!
    currency: String!
    "Minor units; an issuer's is negative."
    balance: MinorUnits!
    "Minor units that pending holds reserve of the balance."
    held: MinorUnits!
    "Minor units the account may spend: balance - held."
    available: MinorUnits!
    createdAt: DateTime!
    updatedAt: DateTime!
  }

  extend type User {
    "Yours, or anyone's with read:accounts."
    accounts: [Account!]!
  }

  extend type Query {
    "Yours, or anyone's with read:accounts; others are NOT_FOUND."
    account(id: ID!): Account
  }
`;

type Ctx = MercuriusContext;

export function accountsGraphql(accounts: AccountsService): GraphqlModule {
  return {
    typeDefs,
    resolvers: {
      User: {
        accounts: (user: User, _args: object, { actor }: Ctx) =>
          accounts.listUserAccounts(actor, user.id),
      },
      Query: {
        account: (_root: unknown, args: { id: string }, { actor }: Ctx) =>
          accounts.getAccount(actor, checkId(args).id),
      },
    },
  };
}
