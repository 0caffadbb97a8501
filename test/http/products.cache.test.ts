import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { connectRedis } from '../../src/composition/dependencies.js';
import type { Product } from '../../src/modules/products/products.repository.js';
import { startApp } from '../support/app.js';
import { bearer, createUserAndLogin } from '../support/auth.js';
import { engines } from '../support/databases.js';
import { cacheSetups, useInstrumentedApp } from '../support/setups.js';
import { sleep } from '../support/time.js';

const admin = { userId: 'system', role: 'admin' as const };
const kettle = { name: 'Kettle', priceMinor: 3500, currency: 'USD' };

interface ProductBody {
  name: string;
  priceMinor: number;
  active: boolean;
}

for (const setup of cacheSetups) {
  describe(`products write-through on ${setup.name}`, { skip: setup.skip }, () => {
    const context = useInstrumentedApp(setup);
    const { redis } = context;

    const products = () => context.app.services.products;
    const write = async (method: 'PUT' | 'PATCH' | 'DELETE', id: string, payload?: object) => {
      const res = await context.app.server.inject({
        method,
        url: `/api/v1/products/${id}`,
        headers: bearer(context.admin.accessToken),
        payload,
      });
      assert.ok(res.statusCode < 300, res.body);
    };
    /** A read by the admin (who sees inactive products too), and how many statements it cost. */
    const readCounted = async (id: string) => {
      context.db.reset();
      const res = await context.app.server.inject({
        method: 'GET',
        url: `/api/v1/products/${id}`,
        headers: bearer(context.admin.accessToken),
      });
      assert.equal(res.statusCode, 200, res.body);
      return {
        body: res.json<{ data: ProductBody }>().data,
        statements: context.db.statements.length,
      };
    };

    it('when a product is written in any way, then the next read is a cache hit with the new row', async () => {
      const created = await context.app.server.inject({
        method: 'POST',
        url: '/api/v1/products',
        headers: bearer(context.admin.accessToken),
        payload: kettle,
      });
      const { id } = created.json<{ data: { id: string } }>().data;
      const expectHit = async (what: string, want: Partial<ProductBody>) => {
        const { body, statements } = await readCounted(id);
        assert.equal(statements, 0, `${what}: the read after it is served from the cache`);
        assert.deepEqual({ ...body, ...want }, body, `${what}: the read sees it`);
      };

      await expectHit('create', { name: 'Kettle', priceMinor: 3500 });
      await write('PATCH', id, { priceMinor: 3900 });
      await expectHit('PATCH', { priceMinor: 3900 });
      await write('PUT', id, { ...kettle, name: 'Put', description: 'd', active: true });
      await expectHit('PUT', { name: 'Put', priceMinor: 3500 });
      await write('DELETE', id);
      await expectHit('DELETE', { active: false });
      await write('PATCH', id, { active: true });
      await expectHit('reactivation', { active: true });
    });

    it('when a deactivated product is read by a guest, then 404 comes from the cached row', async () => {
      const { id } = await products().createProduct(admin, kettle);
      await products().deactivateProduct(admin, id);
      context.db.reset();
      const res = await context.app.server.inject({ method: 'GET', url: `/api/v1/products/${id}` });
      assert.equal(res.statusCode, 404);
      assert.equal(context.db.statements.length, 0);
    });

    if (setup.redis) {
      it('when a product is written, then Redis holds it under stratum:v1:product:<id> with its version', async () => {
        const { id } = await products().createProduct(admin, kettle);
        await products().updateProduct(admin, id, { name: 'Twice' });
        const stored = await redis!.get(`stratum:v1:product:${id}`);
        assert.match(stored ?? '', /^1:/);
        assert.equal((JSON.parse(stored!.slice(2)) as ProductBody).name, 'Twice');
      });
    }

    it('when 20 writers race on one product, then the cache ends with the newest version', async () => {
      const { id } = await products().createProduct(admin, kettle);
      // Random result delays reorder the writers' cache writes against their commits.
      context.db.delay = () => Math.floor(Math.random() * 15);
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          products().updateProduct(admin, id, { priceMinor: 1000 + i }),
        ),
      );
      context.db.delay = () => 0;
      const fromDatabase = await context.db.handle.db
        .selectFrom('products')
        .select(['price_minor', 'version'])
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      assert.equal(Number(fromDatabase.version), 20);
      const { body, statements } = await readCounted(id);
      assert.equal(statements, 0);
      assert.equal(body.priceMinor, Number(fromDatabase.price_minor));
    });

    it('when writes and reads interleave at random, then no read is older than a write completed before it began', async () => {
      type Op = 'read' | 'price' | 'rename' | 'deactivate' | 'reactivate';
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.array(
              fc.record({
                op: fc.constantFrom<Op>(
                  'read',
                  'read',
                  'price',
                  'rename',
                  'deactivate',
                  'reactivate',
                ),
                at: fc.integer({ min: 0, max: 30 }),
              }),
              { minLength: 1, maxLength: 6 },
            ),
            { minLength: 1, maxLength: 5 },
          ),
          fc.array(fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 15, max: 40 })), {
            minLength: 1,
            maxLength: 50,
          }),
          async (rounds, delays) => {
            const { id } = await products().createProduct(admin, kettle);
            let d = 0;
            context.db.delay = () => delays[d++ % delays.length]!;
            let clock = 0;
            const writes: { version: number; end: number }[] = [{ version: 0, end: 0 }];
            const reads: { start: number; product: Product }[] = [];
            const writeOf: Record<Exclude<Op, 'read'>, () => Promise<Product>> = {
              price: () => products().updateProduct(admin, id, { priceMinor: clock }),
              rename: () =>
                products().replaceProduct(admin, id, {
                  ...kettle,
                  name: `n${clock}`,
                  description: '',
                  active: true,
                }),
              deactivate: () => products().deactivateProduct(admin, id),
              reactivate: () => products().updateProduct(admin, id, { active: true }),
            };
            for (const round of rounds) {
              // Between rounds no write is in flight: an eviction here sends the round's first
              // reads down the miss path, to race their fills against the round's writes.
              await redis?.del(`stratum:v1:product:${id}`);
              await Promise.all(
                round.map(async ({ op, at }) => {
                  await sleep(at);
                  const start = ++clock;
                  if (op === 'read') {
                    reads.push({ start, product: await products().getProduct(admin, id) });
                    return;
                  }
                  const { version } = await writeOf[op]();
                  writes.push({ version, end: ++clock });
                }),
              );
            }
            context.db.delay = () => 0;
            for (const read of reads) {
              // Every write that ended before the read began had committed, and its cache
              // write had landed: the read must see that version or a newer one.
              const floor = Math.max(
                ...writes.filter((w) => w.end < read.start).map((w) => w.version),
              );
              assert.ok(
                read.product.version >= floor,
                `read at ${read.start} saw version ${read.product.version}, but ${floor} had completed`,
              );
            }
            const final = await products().getProduct(admin, id);
            const fromDatabase = await context.db.handle.db
              .selectFrom('products')
              .select('version')
              .where('id', '=', id)
              .executeTakeFirstOrThrow();
            assert.equal(
              final.version,
              Number(fromDatabase.version),
              'the cache ends on the newest row',
            );
          },
        ),
        // PGlite has one connection, so reads and writes can't overlap there: fewer runs.
        { numRuns: setup.redis ? 25 : 8 },
      );
    });
  });
}

describe('products when Redis is unreachable', { skip: engines[0]!.skip }, () => {
  it('when Redis is down, then every products route still answers without a 5xx', async () => {
    // Nothing listens on port 1: with the offline queue off, every command fails at once.
    const deadRedis = connectRedis({ kind: 'single', url: 'redis://127.0.0.1:1' }, 'fail-fast', {
      connectTimeoutMs: 200,
      commandTimeoutMs: 200,
    });
    const broken = await startApp(engines[0]!, {
      redis: deadRedis,
      env: { REDIS_COMMAND_TIMEOUT_MS: '200' },
    });
    try {
      const token = (await createUserAndLogin(broken.server, broken.services, 'admin')).accessToken;
      const call = (
        method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
        url: string,
        payload?: object,
      ) => broken.server.inject({ method, url: `/api/v1${url}`, headers: bearer(token), payload });
      const created = await call('POST', '/products', kettle);
      assert.equal(created.statusCode, 201, created.body);
      const { id } = created.json<{ data: { id: string } }>().data;
      assert.equal((await call('GET', `/products/${id}`)).statusCode, 200);
      assert.equal((await call('PATCH', `/products/${id}`, { priceMinor: 1 })).statusCode, 200);
      const read = await call('GET', `/products/${id}`);
      assert.equal(read.json<{ data: ProductBody }>().data.priceMinor, 1);
      const put = await call('PUT', `/products/${id}`, {
        ...kettle,
        description: '',
        active: true,
      });
      assert.equal(put.statusCode, 200);
      assert.equal((await call('DELETE', `/products/${id}`)).statusCode, 204);
      assert.equal((await call('GET', '/products')).statusCode, 200);
      const guestRead = await broken.server.inject({
        method: 'GET',
        url: `/api/v1/products/${id}`,
      });
      assert.equal(guestRead.statusCode, 404, 'the deactivation is seen, not a stale cached row');
    } finally {
      await broken.close();
      deadRedis.disconnect();
    }
  });
});
