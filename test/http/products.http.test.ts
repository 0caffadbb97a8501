import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { MAX_PRICE_MINOR } from '../../src/modules/products/products.schemas.js';
import { withTransaction } from '../../src/platform/db/transaction.js';
import { startApp, type StartedApp } from '../support/app.js';
import { bearer, createUserAndLogin } from '../support/auth.js';
import { engines } from '../support/databases.js';
import { assertSecondOfThreePages } from '../support/pages.js';

const PRODUCTS = '/api/v1/products';

interface ProductBody {
  id: string;
  name: string;
  description: string;
  priceMinor: number;
  currency: string;
  active: boolean;
  createdAt: string;
  updatedAt: string;
}

interface ListBody {
  data: ProductBody[];
  meta: { page: number; pageSize: number; totalPages: number; totalCount: number };
  links: Record<string, string | null>;
}

function errorOf(response: LightMyRequestResponse, status: number) {
  assert.equal(response.statusCode, status, response.body);
  return response.json<{ error: { code: string; details?: { field: string }[] } }>().error;
}

const fieldsOf = (response: LightMyRequestResponse) =>
  [...new Set((errorOf(response, 400).details ?? []).map((d) => d.field))].sort();

for (const engine of engines) {
  describe(`products over HTTP on ${engine.name}`, { skip: engine.skip }, () => {
    let app: StartedApp;
    let adminToken: string;
    let userToken: string;

    const as = (token: string | undefined, options: InjectOptions) =>
      app.server.inject({
        ...options,
        headers: { ...(token ? bearer(token) : {}), ...options.headers },
      });
    const admin = (options: InjectOptions) => as(adminToken, options);
    const guest = (options: InjectOptions) => as(undefined, options);

    let sequence = 0;
    async function create(body: Partial<ProductBody> = {}): Promise<ProductBody> {
      const response = await admin({
        method: 'POST',
        url: PRODUCTS,
        payload: { name: `Product ${++sequence}`, priceMinor: 1000, currency: 'USD', ...body },
      });
      assert.equal(response.statusCode, 201, response.body);
      return response.json<{ data: ProductBody }>().data;
    }

    before(async () => {
      app = await startApp(engine);
      adminToken = (await createUserAndLogin(app.server, app.services, 'admin')).accessToken;
      userToken = (await createUserAndLogin(app.server, app.services)).accessToken;
    });
    after(async () => {
      await app?.close();
    });
    beforeEach(async () => {
      await sql`truncate products cascade`.execute(app.database.db);
    });

    describe('CRUD', () => {
      it('when a product is created, then 201 with a Location and an ETag, and anyone reads it back', async () => {
        const response = await admin({
          method: 'POST',
          url: PRODUCTS,
          payload: { name: 'Teapot', priceMinor: 2599, currency: 'USD' },
        });

        assert.equal(response.statusCode, 201, response.body);
        const product = response.json<{ data: ProductBody }>().data;
        assert.deepEqual(
          { ...product, id: undefined, createdAt: undefined, updatedAt: undefined },
          {
            id: undefined,
            name: 'Teapot',
            description: '',
            priceMinor: 2599,
            currency: 'USD',
            active: true,
            createdAt: undefined,
            updatedAt: undefined,
          },
        );
        assert.equal(response.headers.location, `${PRODUCTS}/${product.id}`);
        assert.equal(response.headers.etag, 'W/"0"');
        const read = await guest({ method: 'GET', url: response.headers.location });
        assert.equal(read.statusCode, 200, read.body);
        assert.deepEqual(read.json<{ data: ProductBody }>().data, product);
      });

      it('when a product is replaced with PUT, then every field is the new one and the ETag moves on', async () => {
        const product = await create({ description: 'old' });
        const payload = {
          name: 'New name',
          description: 'new',
          priceMinor: 1,
          currency: 'EUR',
          active: true,
        };

        const response = await admin({ method: 'PUT', url: `${PRODUCTS}/${product.id}`, payload });

        assert.equal(response.statusCode, 200, response.body);
        assert.deepEqual(
          { ...response.json<{ data: ProductBody }>().data, updatedAt: undefined },
          { ...product, ...payload, updatedAt: undefined },
        );
        assert.equal(response.headers.etag, 'W/"1"');
      });

      it('when a product is patched, then only the given field changes', async () => {
        const product = await create();

        const response = await admin({
          method: 'PATCH',
          url: `${PRODUCTS}/${product.id}`,
          payload: { priceMinor: 4200 },
        });

        assert.equal(response.statusCode, 200, response.body);
        const patched = response.json<{ data: ProductBody }>().data;
        assert.deepEqual(
          { ...patched, updatedAt: undefined },
          {
            ...product,
            priceMinor: 4200,
            updatedAt: undefined,
          },
        );
      });

      it('when the id is unknown, then GET, PUT, PATCH and DELETE answer 404', async () => {
        const url = `${PRODUCTS}/${randomUUID()}`;
        const payload = {
          name: 'x',
          description: '',
          priceMinor: 1,
          currency: 'USD',
          active: true,
        };
        assert.equal(errorOf(await guest({ method: 'GET', url }), 404).code, 'NOT_FOUND');
        assert.equal((await admin({ method: 'PUT', url, payload })).statusCode, 404);
        assert.equal(
          (await admin({ method: 'PATCH', url, payload: { name: 'x' } })).statusCode,
          404,
        );
        assert.equal((await admin({ method: 'DELETE', url })).statusCode, 404);
      });

      it('when the client sends the current ETag, then 304 without a body; after a change, 200 again', async () => {
        const product = await create();
        const url = `${PRODUCTS}/${product.id}`;
        const first = await guest({ method: 'GET', url });
        const etag = String(first.headers.etag);

        const fresh = await guest({ method: 'GET', url, headers: { 'if-none-match': etag } });
        assert.equal(fresh.statusCode, 304);
        assert.equal(fresh.body, '');

        await admin({ method: 'PATCH', url, payload: { name: 'Changed' } });
        const changed = await guest({ method: 'GET', url, headers: { 'if-none-match': etag } });
        assert.equal(changed.statusCode, 200);
        assert.notEqual(changed.headers.etag, etag);
      });
    });

    describe('deactivation', () => {
      it('when a product is deleted, then 204, it is hidden from the public but kept for write:products', async () => {
        const product = await create();
        const url = `${PRODUCTS}/${product.id}`;

        const deleted = await admin({ method: 'DELETE', url });
        assert.equal(deleted.statusCode, 204);
        assert.equal(deleted.body, '');

        assert.equal(errorOf(await guest({ method: 'GET', url }), 404).code, 'NOT_FOUND');
        assert.equal((await as(userToken, { method: 'GET', url })).statusCode, 404);
        const seen = await admin({ method: 'GET', url });
        assert.equal(seen.statusCode, 200);
        assert.equal(seen.json<{ data: ProductBody }>().data.active, false);
        const list = await guest({ method: 'GET', url: PRODUCTS });
        assert.deepEqual(list.json<ListBody>().data, []);
      });

      it('when a product is deleted twice, then both answer 204', async () => {
        const product = await create();
        const url = `${PRODUCTS}/${product.id}`;
        assert.equal((await admin({ method: 'DELETE', url })).statusCode, 204);
        assert.equal((await admin({ method: 'DELETE', url })).statusCode, 204);
      });

      it('when an inactive product is patched active again, then the public sees it again', async () => {
        const product = await create({ active: false });
        const url = `${PRODUCTS}/${product.id}`;
        assert.equal((await guest({ method: 'GET', url })).statusCode, 404);
        await admin({ method: 'PATCH', url, payload: { active: true } });
        assert.equal((await guest({ method: 'GET', url })).statusCode, 200);
      });

      it('when includeInactive is asked for, then write:products gets every product, a user 403, a guest 401', async () => {
        await create();
        await create({ active: false });
        const url = `${PRODUCTS}?includeInactive=true`;

        const all = await admin({ method: 'GET', url });
        assert.equal(all.json<ListBody>().meta.totalCount, 2);
        assert.equal(errorOf(await as(userToken, { method: 'GET', url }), 403).code, 'FORBIDDEN');
        assert.equal(errorOf(await guest({ method: 'GET', url }), 401).code, 'UNAUTHORIZED');
        const publicList = await admin({ method: 'GET', url: PRODUCTS });
        assert.equal(publicList.json<ListBody>().meta.totalCount, 1, 'active only by default');
      });
    });

    describe('list', () => {
      it('when a middle page is read, then the envelope has page meta and links, newest first', async () => {
        const created: ProductBody[] = [];
        for (let i = 0; i < 5; i++) created.push(await create());

        const response = await guest({ method: 'GET', url: `${PRODUCTS}?pageSize=2&page=2` });

        assert.equal(response.statusCode, 200, response.body);
        const body = response.json<ListBody>();
        assertSecondOfThreePages(body, PRODUCTS);
        assert.deepEqual(body.data, [created[2], created[1]]);
      });

      it('when sorted by price or name either way, then the order follows, ties broken by id', async () => {
        await create({ name: 'b', priceMinor: 300 });
        await create({ name: 'c', priceMinor: 100 });
        await create({ name: 'a', priceMinor: 200 });
        const names = async (sort: string) =>
          (await guest({ method: 'GET', url: `${PRODUCTS}?sort=${sort}` }))
            .json<ListBody>()
            .data.map((p) => p.name);

        assert.deepEqual(await names('price'), ['c', 'a', 'b']);
        assert.deepEqual(await names('-price'), ['b', 'a', 'c']);
        assert.deepEqual(await names('name'), ['a', 'b', 'c']);
        assert.deepEqual(await names('-name'), ['c', 'b', 'a']);
        assert.deepEqual(await names('createdAt'), ['b', 'c', 'a']);
        assert.deepEqual(await names('-createdAt'), ['a', 'c', 'b']);
      });

      it('when the sort or the page size is not allowed, then 400 names the parameter', async () => {
        assert.deepEqual(
          fieldsOf(await guest({ method: 'GET', url: `${PRODUCTS}?sort=price_minor` })),
          ['querystring.sort'],
        );
        assert.deepEqual(
          fieldsOf(await guest({ method: 'GET', url: `${PRODUCTS}?pageSize=101` })),
          ['querystring.pageSize'],
        );
        assert.deepEqual(
          fieldsOf(await guest({ method: 'GET', url: `${PRODUCTS}?active=false` })),
          ['querystring.active'],
        );
      });
    });

    describe('validation', () => {
      const valid = { name: 'Valid', priceMinor: 100, currency: 'USD' };
      const post = (payload: object) => admin({ method: 'POST', url: PRODUCTS, payload });

      for (const [what, priceMinor] of [
        ['a fraction', 12.5],
        ['a fraction in a string', '12.5'],
        ['negative', -1],
        ['absurdly large', MAX_PRICE_MINOR + 1],
        ['a float beyond safe integers', 1e20],
        ['not a number', 'ten dollars'],
        ['null', null],
        // Fastify's Ajv would coerce these three (to 100, 1 and 0): money is never coerced.
        ['a whole number in a string', '100'],
        ['a boolean', true],
        ['an empty string', ''],
      ] as const) {
        it(`when the price is ${what}, then 400 names body.priceMinor and nothing is stored`, async () => {
          assert.deepEqual(fieldsOf(await post({ ...valid, priceMinor })), ['body.priceMinor']);
          const list = await admin({ method: 'GET', url: `${PRODUCTS}?includeInactive=true` });
          assert.equal(list.json<ListBody>().meta.totalCount, 0);
        });
      }

      it('when the price is zero or the largest allowed, then it is accepted exactly', async () => {
        assert.equal((await create({ priceMinor: 0 })).priceMinor, 0);
        assert.equal((await create({ priceMinor: MAX_PRICE_MINOR })).priceMinor, MAX_PRICE_MINOR);
      });

      for (const currency of ['usd', 'US', 'USDX', '', '12$', null]) {
        it(`when the currency is ${JSON.stringify(currency)}, then 400 names body.currency`, async () => {
          assert.deepEqual(fieldsOf(await post({ ...valid, currency })), ['body.currency']);
        });
      }

      it('when a required field is missing, then 400 names each', async () => {
        assert.deepEqual(fieldsOf(await post({})), [
          'body.currency',
          'body.name',
          'body.priceMinor',
        ]);
      });

      it('when the body has a field the schema does not know, then 400 names it', async () => {
        const error = errorOf(await post({ ...valid, price: 1.99 }), 400);
        assert.deepEqual(error.details, [{ field: 'body.price', message: 'is not allowed' }]);
      });

      it('when a string is empty or too long, then 400 names it', async () => {
        assert.deepEqual(fieldsOf(await post({ ...valid, name: '' })), ['body.name']);
        assert.deepEqual(fieldsOf(await post({ ...valid, name: 'x'.repeat(201) })), ['body.name']);
        assert.equal((await post({ ...valid, name: 'x'.repeat(200) })).statusCode, 201);
        assert.deepEqual(fieldsOf(await post({ ...valid, description: 'x'.repeat(5001) })), [
          'body.description',
        ]);
        assert.equal((await post({ ...valid, description: 'x'.repeat(5000) })).statusCode, 201);
      });

      it('when PATCH is empty, has a bad price or an unknown field, then 400 and the product is unchanged', async () => {
        const product = await create();
        const url = `${PRODUCTS}/${product.id}`;
        assert.equal((await admin({ method: 'PATCH', url, payload: {} })).statusCode, 400);
        assert.deepEqual(
          fieldsOf(await admin({ method: 'PATCH', url, payload: { priceMinor: -5 } })),
          ['body.priceMinor'],
        );
        assert.deepEqual(fieldsOf(await admin({ method: 'PATCH', url, payload: { version: 9 } })), [
          'body.version',
        ]);
        assert.deepEqual(
          (await guest({ method: 'GET', url })).json<{ data: ProductBody }>().data,
          product,
        );
      });

      it('when PUT leaves out a field, then 400 names it', async () => {
        const product = await create();
        const response = await admin({
          method: 'PUT',
          url: `${PRODUCTS}/${product.id}`,
          payload: { name: 'x', priceMinor: 1, currency: 'USD', active: true },
        });
        assert.deepEqual(fieldsOf(response), ['body.description']);
      });

      it('when the id is not a UUID, then 400, never 500', async () => {
        for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
          const response = await admin({
            method,
            url: `${PRODUCTS}/not-a-uuid`,
            payload: method === 'PATCH' ? { name: 'x' } : undefined,
          });
          assert.equal(errorOf(response, 400).code, 'VALIDATION_ERROR');
        }
      });
    });

    describe('pricing for orders', () => {
      it('when an order prices its items in its transaction, then it gets each known product once, inactive ones flagged', async () => {
        const tea = await create({ name: 'Tea', priceMinor: 450 });
        const cup = await create({ name: 'Cup', priceMinor: 1200, currency: 'EUR' });
        await admin({ method: 'DELETE', url: `${PRODUCTS}/${cup.id}` });
        const unknown = randomUUID();

        const priced = await withTransaction(app.database.db, (tx) =>
          app.services.products.priceItems(tx, [tea.id, cup.id, tea.id, unknown]),
        );

        assert.deepEqual(
          [...priced.entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
          [
            [tea.id, { id: tea.id, name: 'Tea', priceMinor: 450, currency: 'USD', active: true }],
            [cup.id, { id: cup.id, name: 'Cup', priceMinor: 1200, currency: 'EUR', active: false }],
          ].sort(([a], [b]) => (a! < b! ? -1 : 1)),
        );
        assert.equal(priced.has(unknown), false);
      });

      it('when the caller’s transaction changed a price, then priceItems sees its own change', async () => {
        const tea = await create({ priceMinor: 450 });
        const price = await withTransaction(app.database.db, async (tx) => {
          await sql`update products set price_minor = 500 where id = ${tea.id}`.execute(tx);
          return (await app.services.products.priceItems(tx, [tea.id])).get(tea.id)?.priceMinor;
        });
        assert.equal(price, 500);
      });
    });
  });
}
