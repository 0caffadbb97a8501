import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { requestIdFrom } from '../../src/platform/http/request-id.js';

const SANE = /^[A-Za-z0-9._:-]{1,128}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function idFor(header: string | string[] | undefined): string {
  return requestIdFrom({ headers: { 'x-request-id': header } } as unknown as IncomingMessage);
}

describe('requestIdFrom', () => {
  const sane = ['abc', 'req-123', 'a.b_c:d-e', '0', 'x'.repeat(128), randomUUID()];
  for (const id of sane) {
    it(`when the caller sends a sane id (${id.slice(0, 20)}), then it is kept`, () => {
      assert.equal(idFor(id), id);
    });
  }

  const insane: [label: string, header: string | string[] | undefined][] = [
    ['no header', undefined],
    ['an empty id', ''],
    ['an id of 129 characters', 'x'.repeat(129)],
    ['a space', 'two words'],
    ['a CRLF (log/header injection)', 'ok\r\nset-cookie: x=1'],
    ['a JSON fragment', '{"level":60}'],
    ['non-ASCII letters', 'idé'],
    ['a repeated header', ['a', 'b']],
  ];
  for (const [label, header] of insane) {
    it(`when the caller sends ${label}, then a fresh UUID replaces it`, () => {
      assert.match(idFor(header), UUID);
    });
  }

  it('when two requests come without an id, then they get different ids', () => {
    assert.notEqual(idFor(undefined), idFor(undefined));
  });

  it('for any header value, then the id is sane, and is the header itself when that was sane', () => {
    const header = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.stringMatching(SANE),
    );
    fc.assert(
      fc.property(header, (value) => {
        const id = idFor(value);
        assert.match(id, SANE);
        assert.equal(id === value, SANE.test(value));
      }),
      { numRuns: 500 },
    );
  });
});
