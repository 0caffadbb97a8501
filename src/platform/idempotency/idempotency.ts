import { isLockTimeout } from '../db/errors.js';
import type { Tx } from '../db/transaction.js';
import { ConflictError, UnprocessableError } from '../http/errors.js';
import type { IdempotencyKeysRepository, KeyId, StoredResponse } from './keys.repository.js';

/**
 * How a service takes part in idempotency without knowing HTTP: it calls `claim` first in the
 * transaction of its effect and `complete` last, with its result. The key and the stored
 * response then commit (or roll back) together with the effect, so a key exists exactly when
 * its effect happened, and a crash between the two can't leave one without the other.
 */
export interface IdempotencyClaim<R> {
  claim(tx: Tx): Promise<void>;
  complete(tx: Tx, result: R): Promise<void>;
}

/** Thrown by `claim` when the key's request already took effect: send its response again. */
export class IdempotentReplay extends Error {
  constructor(readonly response: StoredResponse) {
    super('replay of a completed idempotent request');
  }
}

export class IdempotencyKeys {
  constructor(
    private readonly keys: IdempotencyKeysRepository,
    private readonly ttlMs: number,
  ) {}

  /** A claim on one key for one request; `render` turns the service's result into the response. */
  open<R>(
    id: KeyId,
    fingerprint: string,
    render: (result: R) => StoredResponse,
  ): IdempotencyClaim<R> & { readonly response?: StoredResponse } {
    const { keys, ttlMs } = this;
    let response: StoredResponse | undefined;
    return {
      get response() {
        return response;
      },
      async claim(tx) {
        let claimed: boolean;
        try {
          claimed = await keys.claim(tx, id, fingerprint, new Date(Date.now() + ttlMs));
        } catch (err) {
          // The first request with this key is still running after the whole lock timeout.
          if (isLockTimeout(err)) throw inProgress();
          throw err;
        }
        if (claimed) return;
        const existing = await keys.find(tx, id);
        if (!existing) throw inProgress();
        if (existing.fingerprint !== fingerprint) {
          throw new UnprocessableError(
            'This Idempotency-Key was already used for another request',
            'IDEMPOTENCY_KEY_REUSED',
          );
        }
        throw new IdempotentReplay(existing.response);
      },
      async complete(tx, result) {
        response = render(result);
        await keys.complete(tx, id, response);
      },
    };
  }
}

function inProgress() {
  return new ConflictError(
    'A request with this Idempotency-Key is still in progress; retry it later',
    'IDEMPOTENCY_KEY_IN_USE',
  );
}
