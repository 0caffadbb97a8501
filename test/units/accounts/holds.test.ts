import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkCapture, checkSettle } from '../../../src/modules/accounts/holds.js';
import type { HoldStatus } from '../../../src/platform/db/schema.js';
import { AppError } from '../../../src/platform/errors.js';

const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return 'OK';
  } catch (err) {
    return err instanceof AppError ? `${err.statusCode} ${err.code}` : 'other';
  }
};

describe('hold rules', () => {
  it('when a hold is pending, then it may be settled; in any other state, then the code says why', () => {
    const expected: Record<HoldStatus, string> = {
      pending: 'OK',
      captured: '409 HOLD_NOT_PENDING',
      voided: '409 HOLD_NOT_PENDING',
      expired: '409 HOLD_EXPIRED',
    };
    for (const [status, code] of Object.entries(expected)) {
      assert.equal(
        codeOf(() => checkSettle({ status: status as HoldStatus })),
        code,
        status,
      );
    }
  });

  it('when a capture takes at most the amount held, in its currency, then it is allowed', () => {
    const hold = { status: 'pending' as const, amount: 500, currency: 'USD' };
    assert.equal(
      codeOf(() => checkCapture(hold, 1)),
      'OK',
    );
    assert.equal(
      codeOf(() => checkCapture(hold, 500, 'USD')),
      'OK',
    );
    assert.equal(
      codeOf(() => checkCapture(hold, 501)),
      '422 CAPTURE_EXCEEDS_HOLD',
    );
    assert.equal(
      codeOf(() => checkCapture(hold, 5, 'EUR')),
      '422 CURRENCY_MISMATCH',
    );
    assert.equal(
      codeOf(() => checkCapture({ ...hold, status: 'expired' }, 501)),
      '409 HOLD_EXPIRED',
      'the state speaks first',
    );
  });
});
