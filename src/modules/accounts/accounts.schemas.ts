import { Type, type Static } from 'typebox';
import { PageQuerySchema } from '../../platform/http/pagination.js';

/** The largest single movement: above it an amount is a typo or an attack, not a payment. */
export const MAX_AMOUNT_MINOR = 100_000_000_000;

const Id = Type.String({ format: 'uuid' });
export const Currency = Type.String({
  pattern: '^[A-Z]{3}$',
  maxLength: 3,
  description: 'ISO 4217 code, e.g. USD',
  examples: ['USD'],
});
export const Amount = Type.Integer({
  minimum: 1,
  maximum: MAX_AMOUNT_MINOR,
  description: 'Integer minor units (cents): 1999 is 19.99',
});
const Reference = Type.String({ minLength: 1, maxLength: 200 });
const Timestamp = Type.String({ format: 'date-time' });
const JournalKind = Type.Union([
  Type.Literal('transfer'),
  Type.Literal('deposit'),
  Type.Literal('payment'),
  Type.Literal('refund'),
]);

export const AccountSchema = Type.Object(
  {
    id: Id,
    kind: Type.Union([Type.Literal('wallet'), Type.Literal('issuer'), Type.Literal('merchant')]),
    userId: Type.Union([Id, Type.Null()]),
    currency: Currency,
    balance: Type.Integer({ description: 'Integer minor units' }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'Account', title: 'Account' },
);

export const TransferSchema = Type.Object(
  {
    id: Id,
    kind: JournalKind,
    fromAccountId: Id,
    toAccountId: Id,
    amount: Type.Integer(),
    currency: Currency,
    reference: Type.Union([Reference, Type.Null()]),
    createdAt: Timestamp,
  },
  { $id: 'Transfer', title: 'Transfer' },
);

/** One line of an account's statement: the journal entry seen from that account. */
export const AccountEntrySchema = Type.Object(
  {
    id: Id,
    kind: JournalKind,
    direction: Type.Union([Type.Literal('debit'), Type.Literal('credit')]),
    amount: Type.Integer({ minimum: 1 }),
    currency: Currency,
    counterpartyAccountId: Id,
    balanceAfter: Type.Integer(),
    reference: Type.Union([Reference, Type.Null()]),
    createdAt: Timestamp,
  },
  { $id: 'AccountEntry', title: 'AccountEntry' },
);

export const AccountIdParams = Type.Object({ id: Id });

export const TransferBody = Type.Object(
  {
    fromAccountId: Id,
    toAccountId: Id,
    amount: Amount,
    currency: Currency,
    reference: Type.Optional(Reference),
  },
  { additionalProperties: false },
);
export type TransferInput = Static<typeof TransferBody>;

export const DepositBody = Type.Object(
  { amount: Amount, currency: Currency, reference: Type.Optional(Reference) },
  { additionalProperties: false },
);
export type DepositInput = Static<typeof DepositBody>;

export const EntriesQuery = Type.Object(PageQuerySchema, { additionalProperties: false });
