import { Type, type Static } from 'typebox';
import { Currency, minorUnits } from '../../platform/http/money.js';
import { PageQuerySchema } from '../../platform/http/pagination.js';
import { MAX_AMOUNT_MINOR, TRANSFER_EXAMPLE } from './accounts.schemas.js';

const Id = Type.String({ format: 'uuid' });
const Timestamp = Type.String({ format: 'date-time' });

/** Ada's hold of 25.00 USD for the payee's wallet, one hour long. */
export const HOLD_EXAMPLE = {
  id: '0193a5b0-7c1e-7d3a-9f00-1a2b3c4d5e0d',
  fromAccountId: TRANSFER_EXAMPLE.fromAccountId,
  toAccountId: TRANSFER_EXAMPLE.toAccountId,
  amount: 2500,
  currency: 'USD',
  status: 'pending' as const,
  capturedAmount: null,
  transferId: null,
  reference: 'Dinner on Friday',
  expiresAt: '2026-01-14T17:20:00.000Z',
  createdAt: '2026-01-14T16:20:00.000Z',
  updatedAt: '2026-01-14T16:20:00.000Z',
};

/** The same hold captured for 20.00: 5.00 went back to Ada's available funds. */
export const CAPTURED_HOLD_EXAMPLE = {
  ...HOLD_EXAMPLE,
  status: 'captured' as const,
  capturedAmount: 2000,
  transferId: '0193a5b0-7c1e-7d3a-9f00-1a2b3c4d5e0e',
  updatedAt: '2026-01-14T16:45:00.000Z',
};

/** Another of Ada's holds, voided (the void route's example names this one). */
export const VOIDED_HOLD_EXAMPLE = {
  ...HOLD_EXAMPLE,
  id: '0193a5b0-7c1e-7d3a-9f00-1a2b3c4d5e0f',
  status: 'voided' as const,
  updatedAt: '2026-01-14T16:45:00.000Z',
};

export const HoldSchema = Type.Object(
  {
    id: Id,
    fromAccountId: Id,
    toAccountId: Id,
    amount: minorUnits('The amount reserved', { minimum: 1 }),
    currency: Currency,
    status: Type.Union(
      [
        Type.Literal('pending'),
        Type.Literal('captured'),
        Type.Literal('voided'),
        Type.Literal('expired'),
      ],
      { description: 'A pending hold past expiresAt reads as expired' },
    ),
    capturedAmount: Type.Union([minorUnits('The amount the capture moved'), Type.Null()]),
    transferId: Type.Union([Id, Type.Null()], {
      description: "The capture's movement (GET /transfers/{id}); null until captured",
    }),
    reference: Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()]),
    expiresAt: Timestamp,
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'Hold', title: 'Hold', examples: [HOLD_EXAMPLE] },
);

export const HoldIdParams = Type.Object({
  id: Type.String({ format: 'uuid', examples: [HOLD_EXAMPLE.id] }),
});

export const VoidHoldParams = Type.Object({
  id: Type.String({ format: 'uuid', examples: [VOIDED_HOLD_EXAMPLE.id] }),
});

export const CaptureBody = Type.Object(
  {
    amount: Type.Optional(
      minorUnits('The amount to capture, at most the amount held (default: all of it)', {
        minimum: 1,
        maximum: MAX_AMOUNT_MINOR,
      }),
    ),
    // The hold's currency; given, it must match (422 CURRENCY_MISMATCH).
    currency: Type.Optional(Currency),
  },
  { additionalProperties: false, examples: [{ amount: 2000, currency: 'USD' }] },
);
export type CaptureInput = Static<typeof CaptureBody>;

export const HoldsQuery = Type.Object(PageQuerySchema, { additionalProperties: false });
