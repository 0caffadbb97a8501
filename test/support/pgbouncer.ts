import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './commands.js';
import { skipOrFail } from './skip.js';

/**
 * A PgBouncer of the test's own in transaction mode, in front of a PostgreSQL server: every
 * database name passes through to that server, and a few server connections per database are
 * shared by all of its clients, so a statement tied to one connection (a named prepared
 * statement, a session SET) meets another connection on its next call. It refuses start-up
 * parameters it does not know (no `ignore_startup_parameters`): what the service sends must pass
 * as it is. As root it drops to the `postgres` user, since PgBouncer refuses to run as root.
 */

export interface Pgbouncer {
  /** The URL of `database` through the pooler (the server's user and password). */
  url(database: string): string;
  close(): Promise<void>;
}

/** Server connections per database and user: few, so that they really are shared. */
export const PGBOUNCER_POOL_SIZE = 5;

const binary = process.env.PGBOUNCER_BIN ?? '/usr/sbin/pgbouncer';

/** Undefined when PgBouncer is installed, else the reason its suites are skipped (CI fails). */
export function pgbouncerSkip(): string | undefined {
  if (fs.existsSync(binary)) return undefined;
  return skipOrFail('PgBouncer', `${binary} is missing: apt-get install pgbouncer`);
}

function postgresUid(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root and there is no postgres user to run PgBouncer');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Waits until the pooler answers a query on `url` (PgBouncer takes a moment to listen). */
async function answered(url: string, log: string) {
  let last: unknown;
  for (let attempt = 0; attempt < 100; attempt++) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      await client.query('select 1');
      return;
    } catch (err) {
      last = err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await client.end().catch(() => {});
    }
  }
  const tail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(-2000) : '';
  throw new Error(`PgBouncer did not answer: ${(last as Error).message}\n${tail}`);
}

/**
 * Starts PgBouncer in front of the server of `serverUrl` (a postgres:// URL); `poolSize` server
 * connections per database (the benchmark gives it as many as the service's pool).
 */
export async function startPgbouncer(
  serverUrl: string,
  poolSize = PGBOUNCER_POOL_SIZE,
): Promise<Pgbouncer> {
  const server = new URL(serverUrl);
  const user = decodeURIComponent(server.username) || 'postgres';
  const password = decodeURIComponent(server.password);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stratum-pgbouncer-'));
  const port = await freePort();
  const quote = (value: string) => `"${value.replace(/"/g, '""')}"`;
  fs.writeFileSync(path.join(dir, 'users.txt'), `${quote(user)} ${quote(password)}\n`);
  const log = path.join(dir, 'pgbouncer.log');
  fs.writeFileSync(
    path.join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      // Any database name the client asks for, on the one server, as the auth file's user.
      `* = host=${server.hostname} port=${server.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      // The clients are the tests on this machine; the server login uses the auth file's password.
      'auth_type = trust',
      `auth_file = ${path.join(dir, 'users.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${poolSize}`,
      'max_client_conn = 500',
      `logfile = ${log}`,
      '',
    ].join('\n'),
  );
  const owner = postgresUid();
  if (owner) {
    for (const file of ['', 'users.txt', 'pgbouncer.ini']) {
      fs.chownSync(path.join(dir, file), owner.uid, owner.gid);
    }
  }
  const args = [...(owner ? ['-u', 'postgres'] : []), path.join(dir, 'pgbouncer.ini')];
  const child = spawn(binary, args, { stdio: 'ignore' });
  // The pooler must not outlive the test process, however it ends.
  const kill = () => {
    if (child.exitCode === null) child.kill('SIGTERM');
  };
  // A pooler shared by a whole test process (TEST_DB_POOLER) ends with it, folder and all.
  const atExit = () => {
    kill();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', atExit);
  child.unref();
  const url = (database: string) => {
    const through = new URL(serverUrl);
    through.hostname = '127.0.0.1';
    through.port = String(port);
    through.pathname = `/${database}`;
    return through.toString();
  };
  try {
    await answered(url(server.pathname.slice(1) || 'postgres'), log);
  } catch (err) {
    kill();
    throw err;
  }
  return {
    url,
    async close() {
      process.off('exit', atExit);
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        // Held while it stops: an unreferenced child would let the loop end first.
        child.ref();
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
