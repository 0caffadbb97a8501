import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import { decodeCursor, encodeCursor, InvalidCursorError } from '../../src/platform/http/cursor.js';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

describe('cursors', () => {
  it('when a position is encoded, then decoding gives it back and the text is URL-safe', () => {
    const position = { createdAt: new Date('2026-01-02T03:04:05.678Z'), id: uuidv7() };
    const cursor = encodeCursor(position);
    assert.match(cursor, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodeCursor(cursor), position);
  });

  const id = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
  const malformed: Record<string, string> = {
    empty: '',
    'not base64url': 'abc+/==',
    'padding and stray characters': `${b64('{}')}==`,
    'not JSON': b64('createdAt'),
    'a JSON array': b64('[1,2]'),
    'JSON null': b64('null'),
    'a missing id': b64('{"createdAt":"2026-01-02T03:04:05.678Z"}'),
    'an extra field': b64(`{"createdAt":"2026-01-02T03:04:05.678Z","id":"${id}","x":1}`),
    'a date that does not exist': b64(`{"createdAt":"2026-02-30T00:00:00.000Z","id":"${id}"}`),
    'a date without milliseconds': b64(`{"createdAt":"2026-01-02T03:04:05Z","id":"${id}"}`),
    'a number for the date': b64(`{"createdAt":1767323045678,"id":"${id}"}`),
    'an id that is no UUID': b64('{"createdAt":"2026-01-02T03:04:05.678Z","id":"1 or 1=1"}'),
    'SQL in the date': b64(`{"createdAt":"'; drop table users; --","id":"${id}"}`),
  };
  for (const [what, cursor] of Object.entries(malformed)) {
    it(`when a cursor has ${what}, then it is an InvalidCursorError (400 INVALID_CURSOR)`, () => {
      assert.throws(
        () => decodeCursor(cursor),
        (err: unknown) =>
          err instanceof InvalidCursorError &&
          err.statusCode === 400 &&
          err.code === 'INVALID_CURSOR',
      );
    });
  }
});
