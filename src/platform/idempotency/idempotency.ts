import type { Guard, StatementPart } from '../db/single-statement.js';
import { ConflictError, UnprocessableError } from '../errors.js';
import {
  isKeyTaken,
  type IdempotencyKeysRepository,
  type KeyId,
  type StoredResponse,
} from './keys.repository.js';

/**
 * The claim: how a service takes part in idempotency without knowing HTTP. Its effect is a
 * single statement (platform/db/single-statement.ts), and the key's insert with the response
 * is a part of it (`keyPart`). The key and the stored response then commit (or roll back)
 * together with the effect, so a key exists exactly when its effect happened, and a crash
 * can't leave one without the other.
 */
export interface IdempotencyClaim<R> {
  /**
   * For the effect's statement, which knows its result before it runs: the key's insert with
   * the response `result` renders, as a part of that statement, run when `when` holds. When
   * the statement fails with `isKeyTaken`, or takes no effect, call `replayOrRelease`.
   */
  keyPart(result: R, when: Guard): StatementPart;
  /**
   * After the single statement found the key taken or took no effect: throws the replay (or
   * `IDEMPOTENCY_KEY_REUSED`) when the key holds a response; resolves when the key is free (an
   * expired one is removed), so the statement may run again or its refusal be answered.
   */
  replayOrRelease(): Promise<void>;
}

/** Thrown by `replayOrRelease` when the key's request already took effect: send its response again. */
export class IdempotentReplay extends Error {
  constructor(readonly response: StoredResponse) {
    super('replay of a completed idempotent request');
  }
}

/**
 * Runs a single statement that carries `claim`'s key part until the key is free: when the
 * statement finds the key taken, `replayOrRelease` answers with its replay (or refusal), or
 * frees an expired key for another try.
 */
export async function runWithClaim<T>(
  claim: IdempotencyClaim<unknown> | undefined,
  run: () => Promise<T>,
  attempts = 3,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (!claim || !isKeyTaken(err)) throw err;
      if (attempt >= attempts) throw inProgress();
      await claim.replayOrRelease();
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
      keyPart(result, when) {
        const response = render(result);
        responses.set(result, response);
        const expiresAt = new Date(Date.now() + ttlMs);
        return keys.insertPart({ id, fingerprint, expiresAt }, response, when);
      },
      async replayOrRelease() {
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
