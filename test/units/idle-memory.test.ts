import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { collectWhenIdle, fullCollection } from '../../src/platform/http/idle-memory.js';

const IDLE_MS = 100;

/** Waits until `done()` holds, up to 10 s: timers run late on a loaded machine. */
async function eventually(done: () => boolean) {
  const until = Date.now() + 10_000;
  while (!done() && Date.now() < until) await sleep(10);
  return done();
}

async function appCounting() {
  const app = Fastify();
  let collections = 0;
  collectWhenIdle(app, IDLE_MS, () => collections++);
  app.get('/', async () => 'ok');
  app.get('/probe', { config: { neverShed: true } }, async () => 'ok');
  await app.ready();
  return { app, collections: () => collections };
}

describe('collectWhenIdle', () => {
  it('when no request ever came, then nothing is collected', async () => {
    const { app, collections } = await appCounting();
    await sleep(IDLE_MS * 4);
    assert.equal(collections(), 0);
    await app.close();
  });

  it('when requests stop, then one collection runs, and no other until requests come again', async () => {
    const { app, collections } = await appCounting();
    await app.inject('/');
    assert.ok(await eventually(() => collections() === 1));
    await sleep(IDLE_MS * 3);
    assert.equal(collections(), 1, 'idle without new requests: no second collection');
    await app.inject('/');
    assert.ok(await eventually(() => collections() === 2));
    await app.close();
  });

  it('when requests keep coming, then nothing is collected', async () => {
    const { app, collections } = await appCounting();
    const until = Date.now() + IDLE_MS * 5;
    while (Date.now() < until) {
      await app.inject('/');
      await sleep(IDLE_MS / 10);
    }
    assert.equal(collections(), 0);
    await app.close();
  });

  it('when only health probes keep coming after requests stop, then one collection still runs', async () => {
    const { app, collections } = await appCounting();
    await app.inject('/');
    const probing = setInterval(() => void app.inject('/probe'), IDLE_MS / 4);
    try {
      assert.ok(await eventually(() => collections() === 1));
    } finally {
      clearInterval(probing);
    }
    await app.close();
  });

  it('when the app closes, then its timer stops', async () => {
    const { app, collections } = await appCounting();
    await app.inject('/');
    await app.close();
    await sleep(IDLE_MS * 3);
    assert.equal(collections(), 0);
  });
});

describe('fullCollection', () => {
  it('runs a full collection in a process started without --expose-gc, and leaves gc unexposed', async () => {
    assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
    const collect = fullCollection();
    // Only the WeakRef holds the object.
    const ref = new WeakRef({ some: 'object' });
    // A WeakRef keeps its target alive until the job that made it ends.
    await sleep(0);
    collect();
    assert.equal(ref.deref(), undefined);
    assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
  });
});
