import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryWriteMarks, parseLsn } from '../../src/platform/db/replicas.js';

describe('WAL positions and write marks', () => {
  it('when positions are parsed, then they order as PostgreSQL orders them', () => {
    assert.equal(parseLsn('0/0'), 0n);
    assert.equal(parseLsn('16/B374D848'), (0x16n << 32n) + 0xb374d848n);
    assert.ok(parseLsn('1/0') > parseLsn('0/FFFFFFFF'));
  });

  it('when two writes of one actor record out of order, then the larger position stays', async () => {
    const marks = new MemoryWriteMarks();
    await marks.set('u', 200n, 60_000);
    await marks.set('u', 100n, 60_000);
    assert.equal(await marks.get('u'), 200n);
  });

  it('when a mark has outlived its time, then the actor has none', async () => {
    const marks = new MemoryWriteMarks();
    await marks.set('u', 5n, -1);
    assert.equal(await marks.get('u'), undefined);
  });
});
