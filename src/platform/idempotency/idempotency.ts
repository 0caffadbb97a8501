import type { RawBuilder, SqlBool } from 'kysely';
import { ConflictError, UnprocessableError } from '../errors.js';
import {
  isKeyTaken,
  type IdempotencyKeysRepository,
  type KeyId,
  type StoredResponse,
} from './keys.repository.js';

/**
 * How a service takes part in idempotency without knowing HTTP: its effect is one statement,
 * and the key's insert with the response is part of it (`storeWith`). The key and the stored
 * response then commit (or roll back) together with the effect, so a key exists exactly when
 * its effect happened, and a crash can't leave one without the other.
 */
export interface IdempotencyClaim<R> {
  /**
   * For the effect's statement, which knows its result before it runs: the key's insert with the response `result` renders, to embed in that statement, run when
   * `condition` holds. When the statement fails with `isKeyTaken`, or takes no effect, call
   * `settle`.
   */
  storeWith(result: R, condition: RawBuilder<SqlBool>): RawBuilder<unknown>;
  /**
   * After the single statement found the key taken or took no effect: throws the replay (or
   * `IDEMPOTENCY_KEY_REUSED`) when the key holds a response; resolves when the key is free (an
   * expired one is removed), so the statement may run again or its refusal be answered.
   */
  settle(): Promise<void>;
}

/** Thrown by `settle` when the key's request already took effect: send its response again. */
export class IdempotentReplay extends Error {
  constructor(readonly response: StoredResponse) {
    super('replay of a completed idempotent request');
  }
}

/**
 * Runs a single-statement effect that stores `once`'s key (storeWith) until the key is free:
 * when the statement finds the key taken, `settle` answers with its replay (or refusal), or
 * frees an expired key for another try.
 */
export async function whileKeyTaken<T>(
  once: IdempotencyClaim<unknown> | undefined,
  run: () => Promise<T>,
  attempts = 3,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (!once || !isKeyTaken(err)) throw err;
      if (attempt >= attempts) throw inProgress();
      await once.settle();
    }
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
  ): IdempotencyClaim<R> & { responseFor(result: R): StoredResponse | undefined } {
    const { keys, ttlMs } = this;
    // The response stored for each result, to be sent as stored: a second render would differ
    // (its timestamp) from what a replay sends.
    const responses = new Map<R, StoredResponse>();
    return {
      responseFor: (result) => responses.get(result),
      storeWith(result, condition) {
        const response = render(result);
        responses.set(result, response);
        const expiresAt = new Date(Date.now() + ttlMs);
        return keys.insertWith({ id, fingerprint, expiresAt }, response, condition);
      },
      async settle() {
        responses.clear();
        const existing = await keys.findLive(id);
        if (existing) throw answered(existing, fingerprint);
        await keys.removeExpired(id);
      },
    };
  }
}

/** A key that holds a response: its replay, or a refusal when it answered another request. */
function answered(
  existing: { fingerprint: string; response: StoredResponse },
  fingerprint: string,
) {
  if (existing.fingerprint !== fingerprint) {
    return new UnprocessableError(
      'This Idempotency-Key was already used for another request',
      'IDEMPOTENCY_KEY_REUSED',
    );
  }
  return new IdempotentReplay(existing.response);
}

function inProgress() {
  return new ConflictError(
    'A request with this Idempotency-Key is still in progress; retry it later',
    'IDEMPOTENCY_KEY_IN_USE',
  );
}
