import { ConflictError, UnprocessableError } from '../../platform/errors.js';
import type { Hold } from './holds.repository.js';

/**
 * Why a hold can't be settled (captured or voided) as it stands: only a pending hold not past
 * its expiry can. Pure, like ledger.ts: the service runs it on the hold as the refusing
 * statement locked it.
 */
export function checkSettle(hold: Pick<Hold, 'status'>): void {
  switch (hold.status) {
    case 'pending':
      return;
    case 'expired':
      throw new ConflictError('The hold has expired; its funds are released', 'HOLD_EXPIRED');
    case 'captured':
    case 'voided':
      throw new ConflictError(`The hold is already ${hold.status}`, 'HOLD_NOT_PENDING', {
        status: hold.status,
      });
  }
}

/**
 * A capture takes at most what the hold reserved, in the hold's currency, from a hold that can
 * still be settled.
 */
export function checkCapture(
  hold: Pick<Hold, 'status' | 'amount' | 'currency'>,
  amount: number,
  currency = hold.currency,
): void {
  checkSettle(hold);
  if (currency !== hold.currency) {
    throw new UnprocessableError(`The hold is in ${hold.currency}`, 'CURRENCY_MISMATCH', {
      currency,
      holdCurrency: hold.currency,
    });
  }
  if (amount > hold.amount) {
    throw new UnprocessableError(
      'A capture can take at most the amount held',
      'CAPTURE_EXCEEDS_HOLD',
      { amount, held: hold.amount },
    );
  }
}
