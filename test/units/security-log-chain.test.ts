import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  canonicalEncoding,
  encodingParts,
  eventHash,
  GENESIS_HASH,
  type ChainedEvent,
  UNMATCHED_CHAIN_ID,
  unmatchedChainId,
} from '../../src/platform/audit/chain.js';

const event: ChainedEvent = {
  chainId: '0193a5b0-7c1e-7d3a-9f00-1a2b3c4d5e01',
  seq: 7,
  prevHash: GENESIS_HASH,
  id: '0193a5b0-7c1e-7d3a-9f00-1a2b3c4d5e71',
  userId: '0193a5b0-7c1e-7d3a-9f00-1a2b3c4d5e01',
  actorId: null,
  type: 'sign-in',
  outcome: 'success',
  ip: '203.0.113.7',
  userAgent: 'Zoë ✓',
  requestId: null,
  details: { method: 'password', alpha: 1, beta: null },
  createdAt: new Date('2026-01-12T17:40:00.000Z'),
};

describe('the security log chain encoding', () => {
  it('when a row is encoded, then it is the documented JSON array, details sorted', () => {
    assert.equal(
      canonicalEncoding(event),
      JSON.stringify([
        'stratum.security-event.v1',
        event.chainId,
        7,
        GENESIS_HASH,
        event.id,
        event.userId,
        null,
        'sign-in',
        'success',
        '203.0.113.7',
        'Zoë ✓',
        null,
        { alpha: 1, beta: null, method: 'password' },
        '2026-01-12T17:40:00.000Z',
      ]),
    );
  });

  it('when the parts around sequence and previous hash are joined, then they give the encoding', () => {
    const { before, after } = encodingParts(event);
    assert.equal(`${before}7,"${GENESIS_HASH}"${after}`, canonicalEncoding(event));
  });

  it('when the hash is computed, then it is the SHA-256 of the UTF-8 encoding in hex', () => {
    const expected = createHash('sha256')
      .update(Buffer.from(canonicalEncoding(event), 'utf8'))
      .digest('hex');
    assert.equal(eventHash(event), expected);
    assert.notEqual(eventHash({ ...event, seq: 8 }), expected);
    assert.notEqual(eventHash({ ...event, details: { ...event.details, alpha: 2 } }), expected);
  });
});

describe('the chains of events no account matched', () => {
  it('when an address is named, then its chain is a well-formed UUID of its own, whatever its case', () => {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const a = unmatchedChainId('nobody@example.com');
    assert.match(a, uuid);
    assert.equal(unmatchedChainId('Nobody@Example.com'), a);
    assert.notEqual(unmatchedChainId('someone@example.com'), a);
    assert.notEqual(a, UNMATCHED_CHAIN_ID);
  });
});
