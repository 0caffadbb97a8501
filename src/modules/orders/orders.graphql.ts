import type { MercuriusContext } from 'mercurius';
import { checkId, pageOf } from '../../graphql/arguments.js';
import type { GraphqlModule } from '../../graphql/module.js';
import type { User } from '../users/users.repository.js';
import type { OrdersService } from './orders.service.js';

/** Orders over GraphQL: read-only here (placing one needs REST's Idempotency-Key). */
const typeDefs = `
  "Placed paid or payment_failed, then cancelled (the database's pending is never written)."
  enum OrderStatus { paid payment_failed cancelled }

  type OrderLine {
    productId: ID!
    name: String!
    unitPrice: MinorUnits!
    quantity: Int!
    lineTotal: MinorUnits!
  }

  type Order {
    id: ID!
    status: OrderStatus!
    items: [OrderLine!]!
    total: MinorUnits!
    currency: String!
    createdAt: DateTime!
    updatedAt: DateTime!
  }

  extend type User {
    "Newest first; yours, or anyone's with read:orders."
    orders(limit: Int = 20, offset: Int = 0): [Order!]!
  }

  extend type Query {
    "Yours, or anyone's with read:orders; others are NOT_FOUND."
    order(id: ID!): Order
  }
`;

type Ctx = MercuriusContext;

export function ordersGraphql(orders: OrdersService): GraphqlModule {
  return {
    typeDefs,
    resolvers: {
      User: {
        orders: (user: User, args: { limit: number; offset: number }, { actor }: Ctx) =>
          orders.listUserOrders(actor, user.id, pageOf(args)).then((page) => page.items),
      },
      Query: {
        order: (_root: unknown, args: { id: string }, { actor }: Ctx) =>
          orders.getOrder(actor, checkId(args).id),
      },
    },
  };
}
