import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { sql } from 'kysely';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { startApp, TEST_BODY_LIMIT_BYTES, type StartedApp } from '../support/app.js';
import { bearer, createUserAndLogin } from '../support/auth.js';
import { engines } from '../support/databases.js';
import { assertSecondOfThreePages } from '../support/pages.js';

const USERS = '/api/v1/users';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface UserBody {
  id: string;
  name: string;
  email: string;
  role: string;
  status: string;
  createdAt: string;
  updatedAt: string;
}

/** `meta` of every response: an ISO timestamp and the request id the header carries. */
function assertMeta(response: LightMyRequestResponse, meta: Record<string, unknown>) {
  assert.equal(new Date(meta.timestamp as string).toISOString(), meta.timestamp);
  assert.equal(meta.requestId, response.headers['x-request-id']);
}

function assertSuccess(response: LightMyRequestResponse, status: number) {
  assert.equal(response.statusCode, status, response.body);
  assert.match(String(response.headers['content-type']), /^application\/json/);
  const body = response.json<{ data: unknown; meta: Record<string, unknown> }>();
  assert.deepEqual(Object.keys(body).sort(), ['data', 'meta']);
  assertMeta(response, body.meta);
  assert.deepEqual(Object.keys(body.meta).sort(), ['requestId', 'timestamp']);
  return body;
}

function assertError(response: LightMyRequestResponse, status: number, code: string) {
  assert.equal(response.statusCode, status, response.body);
  assert.match(String(response.headers['content-type']), /^application\/json/);
  const body = response.json<{
    error: { code: string; message: string; details?: unknown };
    meta: Record<string, unknown>;
  }>();
  assert.deepEqual(Object.keys(body).sort(), ['error', 'meta']);
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, 'string');
  assertMeta(response, body.meta);
  assert.deepEqual(Object.keys(body.meta).sort(), ['requestId', 'timestamp']);
  return body.error;
}

for (const engine of engines) {
  describe(`users over HTTP on ${engine.name}`, { skip: engine.skip }, () => {
    let app: StartedApp;
    let adminToken: string;
    // Every call comes from an admin unless a test says otherwise; access rules have their own
    // suite (permissions.matrix.test.ts).
    const inject = (options: InjectOptions) =>
      app.server.inject({ ...options, headers: { ...bearer(adminToken), ...options.headers } });

    async function createUser(body: Record<string, unknown>): Promise<UserBody> {
      const response = await inject({ method: 'POST', url: USERS, payload: body });
      return assertSuccess(response, 201).data as UserBody;
    }

    let sequence = 0;
    const someone = () => ({
      name: `Someone ${++sequence}`,
      email: `someone${sequence}@example.com`,
    });

    before(async () => {
      app = await startApp(engine, {
        beforeReady(server) {
          server.get('/test/explode', async () => {
            throw new Error('secret: password=hunter2 at db.internal:5432');
          });
        },
      });
      // Access tokens are stateless: the admin's stays valid after the table is emptied below.
      adminToken = (await createUserAndLogin(app.server, app.services, 'admin')).accessToken;
    });
    after(async () => {
      await app?.close();
    });
    beforeEach(async () => {
      await sql`truncate users cascade`.execute(app.database.db);
    });

    describe('CRUD', () => {
      it('when a user is created, then 201 with a Location that reads it back', async () => {
        const response = await inject({
          method: 'POST',
          url: USERS,
          payload: { name: 'Ada Lovelace', email: 'Ada@Example.com' },
        });

        const { data } = assertSuccess(response, 201);
        const user = data as UserBody;
        assert.match(user.id, UUID);
        assert.deepEqual(
          { ...user, id: undefined, createdAt: undefined, updatedAt: undefined },
          {
            id: undefined,
            name: 'Ada Lovelace',
            // An email has one spelling: the one the API turns it into at the door.
            email: 'ada@example.com',
            role: 'user',
            status: 'active',
            // An admin made it: the address counts as verified.
            emailVerified: true,
            createdAt: undefined,
            updatedAt: undefined,
          },
        );
        assert.equal(new Date(user.createdAt).toISOString(), user.createdAt);
        assert.equal(response.headers.location, `${USERS}/${user.id}`);

        const read = await inject({ method: 'GET', url: response.headers.location });
        assert.deepEqual(assertSuccess(read, 200).data, user);
      });

      it('when a user is replaced with PUT, then every field is the new one', async () => {
        const user = await createUser(someone());
        const replacement = {
          name: 'Grace Hopper',
          email: 'grace@example.com',
          role: 'admin',
          status: 'suspended',
        };

        const response = await inject({
          method: 'PUT',
          url: `${USERS}/${user.id}`,
          payload: replacement,
        });

        const updated = assertSuccess(response, 200).data as UserBody;
        assert.deepEqual(
          { ...updated, updatedAt: undefined },
          {
            ...user,
            ...replacement,
            updatedAt: undefined,
          },
        );
        assert.ok(updated.updatedAt >= user.updatedAt);
      });

      it('when PUT leaves out a field, then 400 names it', async () => {
        const user = await createUser(someone());

        const response = await inject({
          method: 'PUT',
          url: `${USERS}/${user.id}`,
          payload: { name: 'Only a name' },
        });

        const error = assertError(response, 400, 'VALIDATION_ERROR');
        const fields = (error.details as { field: string }[]).map((d) => d.field);
        assert.deepEqual(fields.sort(), ['body.email', 'body.role', 'body.status']);
      });

      it('when a user is patched, then only the given field changes', async () => {
        const user = await createUser(someone());

        const response = await inject({
          method: 'PATCH',
          url: `${USERS}/${user.id}`,
          payload: { status: 'suspended' },
        });

        const patched = assertSuccess(response, 200).data as UserBody;
        assert.deepEqual(
          { ...patched, updatedAt: undefined },
          {
            ...user,
            status: 'suspended',
            updatedAt: undefined,
          },
        );
      });

      it('when PATCH has no field at all, then 400', async () => {
        const user = await createUser(someone());

        const response = await inject({ method: 'PATCH', url: `${USERS}/${user.id}`, payload: {} });

        assertError(response, 400, 'VALIDATION_ERROR');
      });

      it('when a user is deleted, then 204 with no body, and after that 404', async () => {
        const user = await createUser(someone());

        const deleted = await inject({ method: 'DELETE', url: `${USERS}/${user.id}` });
        assert.equal(deleted.statusCode, 204);
        assert.equal(deleted.body, '');

        assertError(await inject({ method: 'GET', url: `${USERS}/${user.id}` }), 404, 'NOT_FOUND');
        assertError(
          await inject({ method: 'DELETE', url: `${USERS}/${user.id}` }),
          404,
          'NOT_FOUND',
        );
      });

      it('when the id is unknown, then GET, PUT and PATCH answer 404', async () => {
        const unknown = `${USERS}/0190a6e0-0000-7000-8000-000000000000`;
        const replacement = { ...someone(), role: 'user', status: 'active' };

        assertError(await inject({ method: 'GET', url: unknown }), 404, 'NOT_FOUND');
        assertError(
          await inject({ method: 'PUT', url: unknown, payload: replacement }),
          404,
          'NOT_FOUND',
        );
        assertError(
          await inject({ method: 'PATCH', url: unknown, payload: { name: 'x' } }),
          404,
          'NOT_FOUND',
        );
      });

      it('when an email is taken in another case, then create and patch answer 409 EMAIL_TAKEN', async () => {
        await createUser({ name: 'Ada', email: 'ada@example.com' });
        const other = await createUser(someone());

        assertError(
          await inject({
            method: 'POST',
            url: USERS,
            payload: { name: 'Ada again', email: 'ADA@Example.COM' },
          }),
          409,
          'EMAIL_TAKEN',
        );
        assertError(
          await inject({
            method: 'PATCH',
            url: `${USERS}/${other.id}`,
            payload: { email: 'Ada@example.com' },
          }),
          409,
          'EMAIL_TAKEN',
        );
      });
    });

    describe('list', () => {
      it('when a middle page is read, then the envelope has page meta and links to every neighbour', async () => {
        const created: UserBody[] = [];
        for (let i = 0; i < 5; i++) created.push(await createUser(someone()));

        const response = await inject({ method: 'GET', url: `${USERS}?pageSize=2&page=2` });

        assert.equal(response.statusCode, 200, response.body);
        const body = response.json<{
          data: UserBody[];
          meta: Record<string, unknown>;
          links: Record<string, string | null>;
        }>();
        assert.deepEqual(Object.keys(body).sort(), ['data', 'links', 'meta']);
        assertMeta(response, body.meta);
        assertSecondOfThreePages(body, USERS);
        // Newest first by default.
        assert.deepEqual(body.data, [created[2], created[1]]);
      });

      it('when a page past the end is read, then data is empty, the total is kept and prev points at the last page', async () => {
        for (let i = 0; i < 3; i++) await createUser(someone());

        const response = await inject({ method: 'GET', url: `${USERS}?page=7&pageSize=2` });

        assert.equal(response.statusCode, 200, response.body);
        const body = response.json<{
          data: unknown[];
          meta: Record<string, unknown>;
          links: Record<string, string | null>;
        }>();
        assert.deepEqual(body.data, []);
        assert.equal(body.meta.totalCount, 3);
        assert.equal(body.meta.totalPages, 2);
        assert.equal(body.links.next, null);
        assert.equal(body.links.prev, `${USERS}?page=2&pageSize=2`);
        assert.equal(body.links.last, `${USERS}?page=2&pageSize=2`);
      });

      it('when filtered by status and sorted by name, then only those users, in that order', async () => {
        await createUser({ name: 'Carol', email: 'carol@example.com', status: 'suspended' });
        await createUser({ name: 'Alice', email: 'alice@example.com', status: 'suspended' });
        await createUser({ name: 'Bob', email: 'bob@example.com' });

        const response = await inject({
          method: 'GET',
          url: `${USERS}?status=suspended&sort=name`,
        });

        assert.equal(response.statusCode, 200, response.body);
        const body = response.json<{ data: UserBody[]; meta: { totalCount: number } }>();
        assert.deepEqual(
          body.data.map((u) => u.name),
          ['Alice', 'Carol'],
        );
        assert.equal(body.meta.totalCount, 2);
      });

      it('when pageSize is above 100, then 400 names the parameter, and 100 itself is fine', async () => {
        const error = assertError(
          await inject({ method: 'GET', url: `${USERS}?pageSize=101` }),
          400,
          'VALIDATION_ERROR',
        );
        assert.deepEqual(
          (error.details as { field: string }[]).map((d) => d.field),
          ['querystring.pageSize'],
        );
        assert.equal(
          (await inject({ method: 'GET', url: `${USERS}?pageSize=100` })).statusCode,
          200,
        );
      });
    });

    describe('bad requests', () => {
      it('when the id is not a UUID, then 400 in the envelope, never 500', async () => {
        for (const id of ['not-a-uuid', '1', "1'%20or%20'1'='1", '%00']) {
          for (const method of ['GET', 'DELETE'] as const) {
            const error = assertError(
              await inject({ method, url: `${USERS}/${id}` }),
              400,
              'VALIDATION_ERROR',
            );
            assert.deepEqual(error.details, [
              { field: 'params.id', message: 'must match format "uuid" or be "me"' },
            ]);
          }
        }
      });

      it('when the route does not exist, then 404 in the envelope', async () => {
        const error = assertError(
          await inject({ method: 'GET', url: '/api/v1/nothing-here?x=1' }),
          404,
          'NOT_FOUND',
        );
        assert.equal(error.message, 'Route GET /api/v1/nothing-here not found');
      });

      it('when the body is malformed JSON, then 400 INVALID_JSON', async () => {
        const response = await inject({
          method: 'POST',
          url: USERS,
          headers: { 'content-type': 'application/json' },
          payload: '{"name": "Ada", "email":',
        });

        assertError(response, 400, 'INVALID_JSON');
      });

      it('when the content type is not JSON, then 400', async () => {
        const json = JSON.stringify(someone());
        const response = await inject({
          method: 'POST',
          url: USERS,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: json,
        });
        assertError(response, 400, 'UNSUPPORTED_CONTENT_TYPE');

        // Fastify's own text/plain parser is removed: bodies are JSON only.
        const text = await inject({
          method: 'POST',
          url: USERS,
          headers: { 'content-type': 'text/plain' },
          payload: json,
        });
        assertError(text, 400, 'UNSUPPORTED_CONTENT_TYPE');
      });

      it('when the body breaks the schema, then 400 with a detail per field', async () => {
        const response = await inject({
          method: 'POST',
          url: USERS,
          payload: { name: '', email: 'not-an-email', role: 'root' },
        });

        const error = assertError(response, 400, 'VALIDATION_ERROR');
        const details = error.details as { field: string; message: string }[];
        assert.deepEqual([...new Set(details.map((d) => d.field))].sort(), [
          'body.email',
          'body.name',
          'body.role',
        ]);
        assert.ok(
          details.some((d) => d.field === 'body.email' && /format "email"/.test(d.message)),
        );
      });

      it('when the body has a property the schema does not know, then 400 names it', async () => {
        const response = await inject({
          method: 'POST',
          url: USERS,
          payload: { ...someone(), isAdmin: true },
        });

        const error = assertError(response, 400, 'VALIDATION_ERROR');
        assert.deepEqual(error.details, [{ field: 'body.isAdmin', message: 'is not allowed' }]);
        const list = await inject({ method: 'GET', url: USERS });
        assert.deepEqual(list.json<{ data: unknown[] }>().data, []);
      });

      it('when the body is larger than BODY_LIMIT_BYTES, then 413 in the envelope', async () => {
        const response = await inject({
          method: 'POST',
          url: USERS,
          payload: { name: 'x'.repeat(TEST_BODY_LIMIT_BYTES), email: 'big@example.com' },
        });

        assertError(response, 413, 'PAYLOAD_TOO_LARGE');
      });

      it('when a handler throws an unexpected error, then 500 INTERNAL_SERVER_ERROR without its detail', async () => {
        const response = await inject({ method: 'GET', url: '/test/explode' });

        const error = assertError(response, 500, 'INTERNAL_SERVER_ERROR');
        assert.deepEqual(Object.keys(error).sort(), ['code', 'message']);
        assert.doesNotMatch(response.body, /secret|hunter2|db\.internal/);
      });
    });

    describe('request id', () => {
      it('when the caller sends a sane x-request-id, then it is kept in the header and the meta', async () => {
        await fc.assert(
          fc.asyncProperty(fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/), async (id) => {
            const response = await inject({
              method: 'GET',
              url: '/health/live',
              headers: { 'x-request-id': id },
            });
            assert.equal(response.headers['x-request-id'], id);
            assert.equal(response.json<{ meta: { requestId: string } }>().meta.requestId, id);
          }),
          { numRuns: 50 },
        );
      });

      it('when the x-request-id is too long or holds other characters, then a fresh UUID replaces it', async () => {
        const insane = ['a'.repeat(129), 'has spaces', 'slash/es', 'quote"d', 'semi;colon', ''];
        for (const id of insane) {
          const response = await inject({
            method: 'GET',
            url: `${USERS}/not-a-uuid`,
            headers: { 'x-request-id': id },
          });
          assert.match(String(response.headers['x-request-id']), UUID, `for "${id}"`);
          assertError(response, 400, 'VALIDATION_ERROR');
        }
      });
    });

    describe('compression', () => {
      async function createUsers(count: number) {
        for (let i = 0; i < count; i++) await createUser(someone());
      }

      it('when the client accepts gzip and the list is large, then the body is gzipped', async () => {
        await createUsers(30);

        const response = await inject({
          method: 'GET',
          url: `${USERS}?pageSize=30`,
          headers: { 'accept-encoding': 'gzip' },
        });

        assert.equal(response.statusCode, 200);
        assert.equal(response.headers['content-encoding'], 'gzip');
        assert.match(String(response.headers.vary), /accept-encoding/i);
        const body = JSON.parse(gunzipSync(response.rawPayload).toString('utf8')) as {
          data: unknown[];
        };
        assert.equal(body.data.length, 30);
      });

      it('when the client sends x-no-compression, then the body is plain JSON', async () => {
        await createUsers(30);

        const response = await inject({
          method: 'GET',
          url: `${USERS}?pageSize=30`,
          headers: { 'accept-encoding': 'gzip', 'x-no-compression': '1' },
        });

        assert.equal(response.statusCode, 200);
        assert.equal(response.headers['content-encoding'], undefined);
        assert.equal(response.json<{ data: unknown[] }>().data.length, 30);
      });
    });

    describe('documentation and health', () => {
      it('when /openapi.json is read, then it lists every users route and the ErrorEnvelope schema', async () => {
        const response = await inject({ method: 'GET', url: '/openapi.json' });

        assert.equal(response.statusCode, 200);
        const doc = response.json<{
          paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
          components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
        }>();
        assert.deepEqual(Object.keys(doc.paths[USERS] ?? {}).sort(), ['get', 'post']);
        assert.deepEqual(Object.keys(doc.paths[`${USERS}/{id}`] ?? {}).sort(), [
          'delete',
          'get',
          'patch',
          'put',
        ]);
        const errorEnvelope = doc.components.schemas.ErrorEnvelope;
        assert.deepEqual(Object.keys(errorEnvelope?.properties ?? {}).sort(), ['error', 'meta']);
        assert.match(
          JSON.stringify(doc.paths[USERS]?.post?.responses['409']),
          /#\/components\/schemas\/ErrorEnvelope/,
        );
      });

      it('when /docs is opened, then it answers 200 (after a redirect, if any)', async () => {
        let response = await inject({ method: 'GET', url: '/docs' });
        if (response.statusCode >= 300 && response.statusCode < 400) {
          response = await inject({ method: 'GET', url: String(response.headers.location) });
        }

        assert.equal(response.statusCode, 200);
        assert.match(String(response.headers['content-type']), /text\/html/);
      });

      it('when the database is up, then liveness and readiness answer 200', async () => {
        assert.deepEqual(
          assertSuccess(await inject({ method: 'GET', url: '/health/live' }), 200).data,
          {
            status: 'ok',
          },
        );
        assert.deepEqual(
          assertSuccess(await inject({ method: 'GET', url: '/health/ready' }), 200).data,
          { status: 'ok', checks: { database: 'ok' } },
        );
      });
    });
  });

  describe(`a failing database over HTTP on ${engine.name}`, { skip: engine.skip }, () => {
    let app: StartedApp | undefined;
    afterEach(async () => {
      await app?.close();
      app = undefined;
    });

    it('when the database is closed, then readiness is 503 and liveness stays 200', async () => {
      app = await startApp(engine);
      // Closed before the app ran any query: closing must not depend on a first query.
      await app.database.close();

      const ready = await app.server.inject({ method: 'GET', url: '/health/ready' });
      assert.equal(ready.statusCode, 503, ready.body);
      const readiness = ready.json<{ data: { status: string; checks: Record<string, string> } }>();
      assert.equal(readiness.data.status, 'unavailable');
      assert.notEqual(readiness.data.checks.database, 'ok');

      const live = await app.server.inject({ method: 'GET', url: '/health/live' });
      assert.equal(live.statusCode, 200);
    });

    it('when a query fails for a reason other than availability, then 500 without the database’s message', async () => {
      app = await startApp(engine);
      const admin = await createUserAndLogin(app.server, app.services, 'admin');
      await sql`drop table users cascade`.execute(app.database.db);

      const response = await app.server.inject({
        method: 'GET',
        url: USERS,
        headers: bearer(admin.accessToken),
      });

      const error = assertError(response, 500, 'INTERNAL_SERVER_ERROR');
      assert.equal(error.details, undefined);
      assert.doesNotMatch(response.body, /relation|does not exist|users"/);
    });
  });
}
