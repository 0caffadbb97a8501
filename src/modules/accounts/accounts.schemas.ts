import { Type, type Static } from 'typebox';
import { Currency, minorUnits } from '../../platform/http/money.js';
import { PageQuerySchema } from '../../platform/http/pagination.js';
import { USER_EXAMPLE } from '../users/users.schemas.js';

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

/** Ada's wallet, and the wallet her example transfer pays into. */
export const ACCOUNT_EXAMPLE = {
  id: '0193a5b0-7c1e-7d3a-9f00-1a2b3c4d5e04',
  kind: 'wallet' as const,
  userId: USER_EXAMPLE.id,
  currency: 'USD',
  balance: 125000,
  held: 2500,
  available: 122500,
  createdAt: USER_EXAMPLE.createdAt,
  updatedAt: '2026-01-14T16:20:00.000Z',
};
export const PAYEE_ACCOUNT_ID_EXAMPLE = '0193a5b0-7c1e-7d3a-9f00-1a2b3c4d5e05';

export const TRANSFER_EXAMPLE = {
  id: '0193a5b0-7c1e-7d3a-9f00-1a2b3c4d5e06',
  kind: 'transfer' as const,
  fromAccountId: ACCOUNT_EXAMPLE.id,
  toAccountId: PAYEE_ACCOUNT_ID_EXAMPLE,
  amount: 2500,
  currency: 'USD',
  reference: 'Dinner on Friday',
  createdAt: '2026-01-14T16:20:00.000Z',
};

/** A deposit into Ada's wallet, as the issuer's movement. */
export const DEPOSIT_EXAMPLE = {
  ...TRANSFER_EXAMPLE,
  id: '0193a5b0-7c1e-7d3a-9f00-1a2b3c4d5e09',
  kind: 'deposit' as const,
  fromAccountId: '0193a5b0-7c1e-7d3a-9f00-1a2b3c4d5e0a',
  toAccountId: ACCOUNT_EXAMPLE.id,
  amount: 10000,
  reference: 'Top-up',
};

export const ACCOUNT_ENTRY_EXAMPLE = {
  id: TRANSFER_EXAMPLE.id,
  kind: 'transfer' as const,
  direction: 'debit' as const,
  amount: TRANSFER_EXAMPLE.amount,
  currency: 'USD',
  counterpartyAccountId: PAYEE_ACCOUNT_ID_EXAMPLE,
  balanceAfter: ACCOUNT_EXAMPLE.balance,
  reference: TRANSFER_EXAMPLE.reference,
  createdAt: TRANSFER_EXAMPLE.createdAt,
};

export const AccountSchema = Type.Object(
  {
    id: Id,
    kind: Type.Union([Type.Literal('wallet'), Type.Literal('issuer'), Type.Literal('merchant')]),
    userId: Type.Union([Id, Type.Null()]),
    currency: Currency,
    balance: minorUnits('What the account holds (only the issuer goes below 0)'),
    held: minorUnits('What pending holds reserve of the balance', { minimum: 0 }),
    available: minorUnits('What the account may spend: balance - held'),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'Account', title: 'Account', examples: [ACCOUNT_EXAMPLE] },
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
  { $id: 'Transfer', title: 'Transfer', examples: [TRANSFER_EXAMPLE] },
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
  { $id: 'AccountEntry', title: 'AccountEntry', examples: [ACCOUNT_ENTRY_EXAMPLE] },
);

export const AccountIdParams = Type.Object({
  id: Type.String({ format: 'uuid', examples: [ACCOUNT_EXAMPLE.id] }),
});
export const TransferIdParams = Type.Object({
  id: Type.String({ format: 'uuid', examples: [TRANSFER_EXAMPLE.id] }),
});

/** The longest a hold may reserve money: a week, as a card authorisation lasts. */
export const MAX_HOLD_SECONDS = 604_800;

/** `hold` in a transfer's body: reserve the amount instead of moving it (a hold). */
export const HoldOption = Type.Object(
  {
    expiresIn: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_HOLD_SECONDS,
        description:
          'Seconds until the hold expires uncaptured and its funds are released (default ' +
          '86400, one day; at most 604800, one week)',
        examples: [3600],
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Place a hold instead of moving the money: the amount is reserved in the source ' +
      'account until the payee captures it, a party voids it, or it expires',
  },
);

export const TransferBody = Type.Object(
  {
    fromAccountId: Id,
    toAccountId: Id,
    amount: Amount,
    currency: Currency,
    reference: Type.Optional(Reference),
    hold: Type.Optional(HoldOption),
  },
  {
    additionalProperties: false,
    examples: [
      {
        fromAccountId: TRANSFER_EXAMPLE.fromAccountId,
        toAccountId: TRANSFER_EXAMPLE.toAccountId,
        amount: TRANSFER_EXAMPLE.amount,
        currency: TRANSFER_EXAMPLE.currency,
        reference: TRANSFER_EXAMPLE.reference,
      },
    ],
  },
);
export type TransferInput = Static<typeof TransferBody>;

export const DepositBody = Type.Object(
  { amount: Amount, currency: Currency, reference: Type.Optional(Reference) },
  {
    additionalProperties: false,
    examples: [{ amount: DEPOSIT_EXAMPLE.amount, currency: 'USD', reference: 'Top-up' }],
  },
);
export type DepositInput = Static<typeof DepositBody>;

export const EntriesQuery = Type.Object(PageQuerySchema, { additionalProperties: false });
