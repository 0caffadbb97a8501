import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';

/** Waits `ms` milliseconds of real time. Not for proving that something did not happen. */
export function sleep(ms: number): Promise<void> {
  return delay(ms);
}

export interface EventuallyOptions {
  /** Gives up after this long (default 10 s). */
  timeoutMs?: number;
  /** Waits this long between two checks (default 25 ms). */
  intervalMs?: number;
  /** What is awaited, for the message when it does not happen. */
  what?: string;
}

/**
 * A check that returns `T | undefined` (a `find`, an optional row) would pass at once with its
 * `undefined`: such a check must say `?? false`. A check with no result (an assertion) is fine.
 */
type Options<T> = undefined extends T
  ? [T] extends [void]
    ? [options?: EventuallyOptions]
    : [options: never]
  : [options?: EventuallyOptions];

/**
 * Runs `check` until it passes, and resolves with what it returned. The check is an assertion
 * (passes when it does not throw) or a predicate (passes unless it returns `false`). On timeout,
 * rethrows the last failure, or fails naming `what`.
 */
export async function eventually<T>(
  check: () => T | PromiseLike<T>,
  ...[options = {}]: Options<T>
): Promise<Exclude<T, false>> {
  const { timeoutMs = 10_000, intervalMs = 25, what = 'the condition' } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let failure: Error | undefined;
    try {
      const result = await check();
      if (result !== false) return result as Exclude<T, false>;
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
    }
    if (Date.now() >= deadline) {
      if (!failure) assert.fail(`${what} did not happen within ${timeoutMs} ms`);
      failure.message = `${what} did not happen within ${timeoutMs} ms: ${failure.message}`;
      throw failure;
    }
    await delay(intervalMs);
  }
}
