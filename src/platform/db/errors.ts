/**
 * Storage-neutral errors that repositories throw, and classifiers for driver errors.
 * Nothing here knows about HTTP: services map these to application errors.
 */

export class UniqueViolationError extends Error {
  constructor(readonly constraint: string | undefined) {
    super(`unique constraint violated: ${constraint ?? 'unknown'}`);
  }
}

function pgCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isUniqueViolation(err: unknown): err is Error & { constraint?: string } {
  return pgCode(err) === '23505';
}

export function isRetryableTransactionError(err: unknown): boolean {
  const code = pgCode(err);
  return code === '40001' || code === '40P01';
}

/**
 * A row the statement refers to is gone: deleted by a concurrent request between the checks and
 * the write (an order placed while its user is deleted). The foreign key held; nothing was written.
 */
export function isForeignKeyViolation(err: unknown): boolean {
  return pgCode(err) === '23503';
}

/** A statement gave up waiting for a lock (DB_LOCK_TIMEOUT_MS). */
export function isLockTimeout(err: unknown): boolean {
  return pgCode(err) === '55P03';
}

const unavailableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
]);

/** True when the database could not be reached or dropped the connection: worth a 503. */
export function isDatabaseUnavailable(err: unknown): boolean {
  const code = pgCode(err);
  if (code && (unavailableCodes.has(code) || code.startsWith('08'))) return true;
  const message = err instanceof Error ? err.message : '';
  return (
    message.includes('timeout exceeded when trying to connect') ||
    message.includes('Connection terminated') ||
    message.includes('Client has encountered a connection error')
  );
}
