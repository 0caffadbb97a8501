import { isKeysetTime, type Keyset } from '../db/keyset.js';
import { BadRequestError } from '../errors.js';
import { UUID_PATTERN } from './validation.js';

/**
 * The opaque cursor of v2 lists: base64url of `{"createdAt":"<ISO>","id":"<uuid>"}`. Clients
 * pass it back untouched; anything that doesn't decode to exactly that shape is refused with
 * 400 INVALID_CURSOR before it reaches a service, so a forged cursor is never a 500.
 */

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const ISO_MILLIS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export class InvalidCursorError extends BadRequestError {
  constructor(reason: string) {
    super('INVALID_CURSOR', 'The cursor is not one this API issued', { reason });
  }
}

export function encodeCursor(position: Keyset): string {
  const json = JSON.stringify({ createdAt: position.createdAt.toISOString(), id: position.id });
  return Buffer.from(json, 'utf8').toString('base64url');
}

function parseJson(raw: string): unknown {
  // Node decodes base64url leniently (it skips stray characters): re-encoding must give it back.
  const bytes = Buffer.from(raw, 'base64url');
  if (!BASE64URL.test(raw) || bytes.toString('base64url') !== raw) {
    throw new InvalidCursorError('not base64url');
  }
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    throw new InvalidCursorError('not JSON');
  }
}

export function decodeCursor(raw: string): Keyset {
  const value = parseJson(raw);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidCursorError('not an object');
  }
  const keys = Object.keys(value).sort();
  if (keys.length !== 2 || keys[0] !== 'createdAt' || keys[1] !== 'id') {
    throw new InvalidCursorError('unexpected fields');
  }
  const { createdAt, id } = value as Record<string, unknown>;
  // The round trip rejects dates that match the pattern but don't exist (2024-02-30).
  if (
    typeof createdAt !== 'string' ||
    !ISO_MILLIS.test(createdAt) ||
    Number.isNaN(Date.parse(createdAt)) ||
    new Date(createdAt).toISOString() !== createdAt ||
    !isKeysetTime(new Date(createdAt))
  ) {
    throw new InvalidCursorError('bad createdAt');
  }
  if (typeof id !== 'string' || !UUID_PATTERN.test(id)) throw new InvalidCursorError('bad id');
  return { createdAt: new Date(createdAt), id: id.toLowerCase() };
}
