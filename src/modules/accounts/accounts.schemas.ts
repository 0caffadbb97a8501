import { Type, type Static } from 'typebox';
import { Currency, minorUnits } from '../../platform/http/money.js';
import { PageQuerySchema } from '../../platform/http/pagination.js';

/** The largest single movement: above it an amount is a typo or an attack, not a payment. */
export const MAX_AMOUNT_MINOR = 100_000_000_000;

const Id = Type.String({ format: 'uuid' });
export const Amount = minorUnits('The amount to move', { minimum: 1, maximum: MAX_AMOUNT_MINOR });
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
    balance: minorUnits('What the account holds (only the issuer goes below 0)'),
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
    amount: minorUnits('The amount moved', { minimum: 1 }),
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
    amount: minorUnits('The amount moved', { minimum: 1 }),
    currency: Currency,
    counterpartyAccountId: Id,
    balanceAfter: minorUnits("The account's balance right after this entry"),
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
