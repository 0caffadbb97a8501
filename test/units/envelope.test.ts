import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Type } from 'typebox';
import { Value } from 'typebox/value';
import {
  envelopeSchema,
  ErrorEnvelopeSchema,
  errorResponses,
  listEnvelopeSchema,
  meta,
  ok,
} from '../../src/platform/http/envelope.js';
import { paginated } from '../../src/platform/http/pagination.js';
import { fakeRequest } from '../support/fake-request.js';

const Item = Type.Object({ id: Type.Integer() });

describe('envelope', () => {
  it('when a handler answers with ok, then the body is { data, meta } with the request id', () => {
    const before = Date.now();
    const body = ok(fakeRequest('/x', 'abc-123'), { id: 7 });
    assert.deepEqual(Object.keys(body), ['data', 'meta']);
    assert.deepEqual(body.data, { id: 7 });
    assert.equal(body.meta.requestId, 'abc-123');
    const at = Date.parse(body.meta.timestamp);
    assert.ok(at >= before - 1 && at <= Date.now() + 1);
    assert.equal(body.meta.timestamp, new Date(at).toISOString());
  });

  it('when ok wraps data, then it matches the envelope schema the route declares', () => {
    assert.ok(Value.Check(envelopeSchema(Item), ok(fakeRequest('/x'), { id: 1 })));
    assert.ok(!Value.Check(envelopeSchema(Item), { data: { id: 1 } }), 'meta is required');
  });

  it('for any page, then paginated output matches the list envelope schema', () => {
    const schema = listEnvelopeSchema(Item);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 500 }),
        (totalCount, pageSize, page) => {
          const items = Array.from({ length: Math.min(pageSize, totalCount) }, (_, id) => ({ id }));
          const body = paginated(
            fakeRequest('/items?page=1'),
            { page, pageSize },
            { items, totalCount },
          );
          assert.ok(Value.Check(schema, body), JSON.stringify([...Value.Errors(schema, body)]));
        },
      ),
    );
  });

  it('when an error body is built, then the shared error schema accepts it with or without details', () => {
    const base = { code: 'NOT_FOUND', message: 'User not found' };
    const m = meta(fakeRequest('/x'));
    assert.ok(Value.Check(ErrorEnvelopeSchema, { error: base, meta: m }));
    assert.ok(Value.Check(ErrorEnvelopeSchema, { error: { ...base, details: [1] }, meta: m }));
    assert.ok(!Value.Check(ErrorEnvelopeSchema, { error: { message: 'no code' }, meta: m }));
  });

  it('when a route lists its error statuses, then each points at the shared error schema', () => {
    const responses = errorResponses(400, 404);
    assert.deepEqual(Object.keys(responses), ['400', '404']);
    for (const schema of Object.values(responses)) {
      assert.deepEqual(schema, Type.Ref('ErrorEnvelope'));
    }
  });
});
