import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Account } from '../../../src/modules/accounts/accounts.repository.js';
import { checkMovement } from '../../../src/modules/accounts/ledger.js';
import { AppError } from '../../../src/platform/errors.js';
import { canonicalJson } from '../../../src/platform/idempotency/fingerprint.js';

const account = (
  id: string,
  kind: Account['kind'],
  balance: number,
  currency = 'USD',
): Account => ({
  id,
  kind,
  userId: null,
  currency,
  balance,
  held: 0,
  available: balance,
  createdAt: new Date(0),
  updatedAt: new Date(0),
});

const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return 'OK';
  } catch (err) {
    return err instanceof AppError ? `${err.statusCode} ${err.code}` : 'other';
  }
};

describe('ledger rules', () => {
  const request = { fromAccountId: 'a', toAccountId: 'b', amount: 100, currency: 'USD' };

  it('when the payer can afford it, then the movement is allowed', () => {
    assert.equal(
      codeOf(() => checkMovement(request, account('a', 'wallet', 100), account('b', 'wallet', 0))),
      'OK',
    );
  });

  it('when a rule is broken, then the error names it', () => {
    const wallet = account('a', 'wallet', 100);
    const payee = account('b', 'wallet', 0);
    assert.equal(
      codeOf(() => checkMovement({ ...request, toAccountId: 'a' }, wallet, wallet)),
      '400 VALIDATION_ERROR',
    );
    assert.equal(
      codeOf(() => checkMovement(request, undefined, payee)),
      '404 ACCOUNT_NOT_FOUND',
    );
    assert.equal(
      codeOf(() => checkMovement(request, wallet, undefined)),
      '404 ACCOUNT_NOT_FOUND',
    );
    assert.equal(
      codeOf(() => checkMovement(request, wallet, account('b', 'wallet', 0, 'EUR'))),
      '422 CURRENCY_MISMATCH',
    );
    assert.equal(
      codeOf(() => checkMovement({ ...request, amount: 101 }, wallet, payee)),
      '422 INSUFFICIENT_FUNDS',
    );
  });

  it('when the issuer pays, then it may go below zero, and no one else may', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e6 }),
        fc.integer({ min: 1, max: 1e6 }),
        (balance, amount) => {
          const issuer = codeOf(() =>
            checkMovement(
              { ...request, amount },
              account('a', 'issuer', balance),
              account('b', 'wallet', 0),
            ),
          );
          const wallet = codeOf(() =>
            checkMovement(
              { ...request, amount },
              account('a', 'wallet', balance),
              account('b', 'wallet', 0),
            ),
          );
          assert.equal(issuer, 'OK');
          assert.equal(wallet, amount <= balance ? 'OK' : '422 INSUFFICIENT_FUNDS');
        },
      ),
    );
  });
});

describe('idempotency fingerprints', () => {
  it('when a body has its keys in another order, then it prints the same', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (body) => {
        const reversed = Object.fromEntries(Object.entries(body).reverse());
        assert.equal(canonicalJson(reversed), canonicalJson(body));
      }),
    );
  });

  it('when a value differs, then the print differs', () => {
    assert.notEqual(canonicalJson({ amount: 100 }), canonicalJson({ amount: 101 }));
    assert.notEqual(canonicalJson({ a: '1' }), canonicalJson({ a: 1 }));
  });
});
