import { createHash } from 'node:crypto';

/**
 * The hash chain of the security log, in one place so the writer and the verifier can't
 * disagree. Each chain (one per account, one for events no account matched) starts at its
 * anchor: sequence 0 and GENESIS_HASH, or, after pruning, the last pruned row's sequence and
 * hash. Row n's hash is
 *
 *   SHA-256( UTF-8( JSON.stringify([ "stratum.security-event.v1", chainId, seq, prevHash, id,
 *     userId, actorId, type, outcome, ip, userAgent, requestId, details, createdAt ]) ) )
 *
 * in lower-case hex, where prevHash is row n-1's hash (or the anchor's), absent values are null,
 * `details` is a JSON object with its keys in code-unit order (its values are strings, finite
 * numbers, booleans or null), and createdAt is the ISO-8601 UTC instant in milliseconds.
 * JSON.stringify writes every one of these in exactly one way, so the encoding is canonical.
 */

export const CHAIN_ENCODING = 'stratum.security-event.v1';

/** The hash a chain's first row follows. */
export const GENESIS_HASH = '0'.repeat(64);

/** The chain of the events no account matched and that name nothing else (no `subject`). */
export const UNMATCHED_CHAIN_ID = '00000000-0000-0000-0000-000000000000';

/**
 * The chain of the events no account matched that are about `subject` (an address no account
 * uses): a UUID made of the subject's SHA-256, so each address has a chain of its own, as each
 * account has. Events about unknown addresses then queue per address like events of accounts
 * do, rather than all behind one chain head: the same work, and the same wait under load,
 * whether or not an account uses the address.
 */
export function unmatchedChainId(subject: string): string {
  const hex = createHash('sha256')
    .update('stratum:unmatched-chain:v1\0')
    .update(subject.toLowerCase())
    .digest('hex');
  // RFC 9562 version 8 (custom) and variant bits, so it is a well-formed UUID.
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export type DetailValue = string | number | boolean | null;

/** One row of a chain, as the hash covers it. */
export interface ChainedEvent {
  chainId: string;
  seq: number;
  prevHash: string;
  id: string;
  userId: string | null;
  actorId: string | null;
  type: string;
  outcome: string;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  details: Record<string, DetailValue>;
  createdAt: Date;
}

/** The details with their keys sorted: the order the hash and the stored row agree on. */
export function canonicalDetails(details: Record<string, unknown>): Record<string, DetailValue> {
  const sorted: Record<string, DetailValue> = {};
  for (const key of Object.keys(details).sort()) {
    const value = details[key];
    if (value === undefined) continue;
    sorted[key] =
      typeof value === 'string' ||
      typeof value === 'boolean' ||
      value === null ||
      (typeof value === 'number' && Number.isFinite(value))
        ? value
        : (JSON.stringify(value) ?? null);
  }
  return sorted;
}

/**
 * The encoding around the two values only the chain's head knows when the row is appended (its
 * sequence number and the previous hash): encoding = before + seq + "," + JSON(prevHash) + after.
 * The writer sends the two parts and lets the append statement put the head's values between
 * them; canonicalEncoding joins them the same way, so both sides share this one function.
 */
export function encodingParts(event: Omit<ChainedEvent, 'seq' | 'prevHash'>) {
  const before = JSON.stringify([CHAIN_ENCODING, event.chainId]).slice(0, -1) + ',';
  const after =
    ',' +
    JSON.stringify([
      event.id,
      event.userId,
      event.actorId,
      event.type,
      event.outcome,
      event.ip,
      event.userAgent,
      event.requestId,
      canonicalDetails(event.details),
      event.createdAt.toISOString(),
    ]).slice(1);
  return { before, after };
}

export function canonicalEncoding(event: ChainedEvent): string {
  const { before, after } = encodingParts(event);
  return `${before}${event.seq},${JSON.stringify(event.prevHash)}${after}`;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function eventHash(event: ChainedEvent): string {
  return sha256Hex(canonicalEncoding(event));
}
