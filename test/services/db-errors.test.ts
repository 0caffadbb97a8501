import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { DatabaseHandle } from '../../src/platform/db/database.js';
import {
  isDatabaseUnavailable,
  isRetryableTransactionError,
  isUniqueViolation,
} from '../../src/platform/db/errors.js';
import { createPostgres } from '../../src/platform/db/postgres.js';
import { withTransaction } from '../../src/platform/db/transaction.js';
import { openPostgres, postgresSkip, TEST_DATABASE_URL } from '../support/databases.js';
import { eventually } from '../support/time.js';

function withCode(code: string, message = `error ${code}`) {
  return Object.assign(new Error(message), { code });
}

const poolOptions = {
  poolMax: 1,
  idleTimeoutMs: 1_000,
  connectTimeoutMs: 300,
  statementTimeoutMs: 0,
};

async function rejection(work: Promise<unknown>): Promise<unknown> {
  try {
    await work;
  } catch (err) {
    return err;
  }
  assert.fail('expected a rejection');
}

describe('isDatabaseUnavailable', () => {
  const cases: [label: string, error: unknown, unavailable: boolean][] = [
    ['connection refused', withCode('ECONNREFUSED'), true],
    ['connection reset', withCode('ECONNRESET'), true],
    ['admin shutdown 57P01', withCode('57P01'), true],
    ['crash shutdown 57P02', withCode('57P02'), true],
    ['cannot connect now 57P03', withCode('57P03'), true],
    ['too many connections 53300', withCode('53300'), true],
    ['connection failure 08006', withCode('08006'), true],
    ['connection does not exist 08003', withCode('08003'), true],
    ["pg-pool's connect timeout", new Error('timeout exceeded when trying to connect'), true],
    ["pg's connect timeout", new Error('Connection terminated due to connection timeout'), true],
    ['a dropped connection', new Error('Connection terminated unexpectedly'), true],
    ['unique violation 23505', withCode('23505'), false],
    ['serialization failure 40001', withCode('40001'), false],
    ['undefined table 42P01', withCode('42P01'), false],
    ['a plain error', new Error('boom'), false],
    ['a non-string code', { code: 57 }, false],
    ['null', null, false],
    ['a string', 'ECONNREFUSED', false],
  ];
  for (const [label, error, unavailable] of cases) {
    it(`when the error is ${label}, then it is ${unavailable ? '' : 'not '}unavailable`, () => {
      assert.equal(isDatabaseUnavailable(error), unavailable);
    });
  }

  it('when nothing listens on the port, then the real driver error is unavailable', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const database = createPostgres({ ...poolOptions, url: `postgres://x@127.0.0.1:${port}/x` });
    const err = await rejection(database.ping());
    await database.close();
    assert.equal((err as { code?: string }).code, 'ECONNREFUSED');
    assert.equal(isDatabaseUnavailable(err), true);
  });

  it('when the server accepts but never answers, then the connect timeout is unavailable', async () => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    const database = createPostgres({ ...poolOptions, url: `postgres://x@127.0.0.1:${port}/x` });
    const err = await rejection(database.ping());
    await database.close().catch(() => {});
    for (const socket of sockets) socket.destroy();
    server.close();
    assert.equal(isDatabaseUnavailable(err), true, String(err));
  });
});

describe('driver errors from a real PostgreSQL', { skip: postgresSkip }, () => {
  let database: DatabaseHandle;
  before(async () => (database = await openPostgres()));
  after(async () => database?.close());

  it('when the pool is exhausted past its connect timeout, then the error is unavailable', async () => {
    const tiny = createPostgres({ ...poolOptions, url: TEST_DATABASE_URL });
    let release!: () => void;
    const held = withTransaction(tiny.db, () => new Promise<void>((r) => (release = r)));
    const err = await rejection(tiny.ping());
    release();
    await held;
    await tiny.close();
    assert.match(String(err), /timeout exceeded when trying to connect/);
    assert.equal(isDatabaseUnavailable(err), true);
  });

  it('when the backend is terminated mid-query, then the error (57P01) is unavailable', async () => {
    // A pool of its own: the terminated client may go back to its pool before pg notices it
    // is dead, and the next test must not draw it.
    const victim = createPostgres({ ...poolOptions, url: TEST_DATABASE_URL });
    const query = sql`select pg_sleep(10), current_setting('application_name')`.execute(victim.db);
    const err = rejection(query);
    // Terminated once it runs: waited for in pg_stat_activity, not guessed at.
    await eventually(
      async () => {
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
          where query like 'select pg_sleep(10), current_setting%' and state = 'active'`.execute(
          database.db,
        );
        return rows[0]!.n > 0;
      },
      { what: 'the query running' },
    );
    await sql`select pg_terminate_backend(pid) from pg_stat_activity
      where query like 'select pg_sleep(10), current_setting%'`.execute(database.db);
    const error = await err;
    await victim.close();
    assert.equal((error as { code?: string }).code, '57P01');
    assert.equal(isDatabaseUnavailable(error), true);
  });

  it('when the backend of a client held between queries dies, then the process survives and the next query is unavailable', async () => {
    // The client is checked out (a transaction in progress), where the pool doesn't listen for
    // its 'error' event: the fault test of a PostgreSQL restart crashed the API here.
    const victim = createPostgres({ ...poolOptions, url: TEST_DATABASE_URL });
    const err = await rejection(
      withTransaction(victim.db, async (tx) => {
        const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx);
        await sql`select pg_terminate_backend(${rows[0]!.pid})`.execute(database.db);
        // The backend is gone (and its socket closed) before the next query is sent.
        await eventually(
          async () => {
            const gone = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
              where pid = ${rows[0]!.pid}`.execute(database.db);
            return gone.rows[0]!.n === 0;
          },
          { what: 'the backend gone' },
        );
        await sql`select 1`.execute(tx);
      }),
    );
    assert.equal(isDatabaseUnavailable(err), true, String(err));
    assert.equal(await victim.ping().then(() => 'ok'), 'ok', 'the pool dropped the dead client');
    await victim.close();
  });

  it('when a unique index is violated, then it is a unique violation, not unavailable', async () => {
    const user = {
      name: 'Dup',
      email: `dup-${randomUUID()}@example.com`,
      role: 'user' as const,
      status: 'active' as const,
    };
    await database.db
      .insertInto('users')
      .values({ id: randomUUID(), ...user })
      .execute();
    const err = await rejection(
      database.db
        .insertInto('users')
        .values({ id: randomUUID(), ...user, email: user.email.toUpperCase() })
        .execute(),
    );
    assert.equal(isUniqueViolation(err), true);
    assert.equal(isDatabaseUnavailable(err), false);
    assert.equal(isRetryableTransactionError(err), false);
  });
});

describe('isRetryableTransactionError', () => {
  for (const [code, retryable] of [
    ['40001', true],
    ['40P01', true],
    ['23505', false],
    ['57P01', false],
  ] as const) {
    it(`when the code is ${code}, then it is ${retryable ? '' : 'not '}retryable`, () => {
      assert.equal(isRetryableTransactionError(withCode(code)), retryable);
    });
  }
});
