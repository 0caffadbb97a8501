import { NotFoundError, UnprocessableError, ValidationError } from '../../platform/errors.js';
import type { Account } from './accounts.repository.js';

export interface MovementRequest {
  fromAccountId: string;
  toAccountId: string;
  amount: number;
  currency: string;
}

/**
 * The ledger's rules for one movement, checked on the locked rows: both accounts exist, they
 * differ, their currency is the movement's, and the payer can afford it from what it may spend,
 * its balance less what its pending holds reserve (only the issuer may go below zero). Pure: the arithmetic is tested without a database.
 */
export function checkMovement(
  request: MovementRequest,
  from: Account | undefined,
  to: Account | undefined,
): { from: Account; to: Account } {
  checkDistinct(request);
  if (!from) throw new NotFoundError('Source account', 'ACCOUNT_NOT_FOUND');
  if (!to) throw new NotFoundError('Destination account', 'ACCOUNT_NOT_FOUND');
  if (from.currency !== request.currency || to.currency !== request.currency) {
    throw new UnprocessableError(
      `Both accounts must hold ${request.currency}`,
      'CURRENCY_MISMATCH',
      { fromCurrency: from.currency, toCurrency: to.currency, currency: request.currency },
    );
  }
  if (from.kind !== 'issuer' && from.available < request.amount) {
    throw new UnprocessableError('The account has insufficient funds', 'INSUFFICIENT_FUNDS');
  }
  return { from, to };
}

/** A movement needs two accounts: checked before any row is read. */
export function checkDistinct(request: MovementRequest): void {
  if (request.fromAccountId === request.toAccountId) {
    throw new ValidationError('Cannot move money from an account to itself', [
      { field: 'body.toAccountId', message: 'must differ from fromAccountId' },
    ]);
  }
}
