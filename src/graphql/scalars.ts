import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';

/** Output-only scalars: what services return as Date and integer minor units. */

export const DateTime = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'An ISO 8601 instant in UTC, as REST writes it',
  serialize(value) {
    if (!(value instanceof Date)) throw new GraphQLError('DateTime must be a Date');
    return value.toISOString();
  },
  parseValue() {
    throw new GraphQLError('DateTime is output only');
  },
  parseLiteral() {
    throw new GraphQLError('DateTime is output only');
  },
});

function safeInteger(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new GraphQLError('MinorUnits must be a safe integer');
  }
  return value;
}

/** Money is an integer count of minor units; GraphQL's Int stops at 2^31, amounts don't. */
export const MinorUnits = new GraphQLScalarType<number, number>({
  name: 'MinorUnits',
  description: 'An integer count of minor units (cents) of the currency beside it, up to 2^53',
  serialize: safeInteger,
  parseValue: safeInteger,
  parseLiteral(node) {
    if (node.kind !== Kind.INT) throw new GraphQLError('MinorUnits must be an integer');
    return safeInteger(Number(node.value));
  },
});

export const scalarTypeDefs = `
  scalar DateTime
  scalar MinorUnits
`;
