import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, runCommand } from '../../support/commands.js';

/**
 * A PostgreSQL cluster of the test's own (initdb into a temporary folder, a free port), so
 * stopping it disturbs nobody else's tests. PostgreSQL refuses to run as root: as root, its
 * commands run as the `postgres` user that Debian's package creates.
 */

export interface PostgresServer {
  url: string;
  stop(mode: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** PG_BIN, else the newest Debian install (/usr/lib/postgresql/<version>/bin), else none. */
export function postgresBinDir(): string | undefined {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return undefined;
  return fs
    .readdirSync(root)
    .sort((a, b) => Number(b) - Number(a))
    .map((version) => path.join(root, version, 'bin'))
    .find((bin) => fs.existsSync(path.join(bin, 'initdb')));
}

function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root and there is no postgres user to run PostgreSQL');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

export async function startPostgresServer(bin: string): Promise<PostgresServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stratum-fault-pg-'));
  const owner = postgresUser();
  if (owner) fs.chownSync(dir, owner.uid, owner.gid);
  const pgCommand = (name: string, args: string[]) =>
    owner
      ? runCommand('runuser', ['-u', 'postgres', '--', path.join(bin, name), ...args])
      : runCommand(path.join(bin, name), args);

  const data = path.join(dir, 'data');
  await pgCommand('initdb', [
    '-D',
    data,
    '-A',
    'trust',
    '-U',
    'postgres',
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  const port = await freePort();
  // fsync off: the cluster lives for one test, and its restarts are the point, not the disk.
  const options = [
    `-p ${port}`,
    `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    '-c fsync=off',
    '-c full_page_writes=off',
    '-c shared_buffers=32MB',
  ].join(' ');
  const start = async () =>
    void (await pgCommand('pg_ctl', [
      '-D',
      data,
      '-o',
      options,
      '-l',
      `${dir}/log`,
      '-w',
      '-t',
      '60',
      'start',
    ]));
  const stop = async (mode: 'fast' | 'immediate') =>
    void (await pgCommand('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']));
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop,
    async close() {
      await stop('immediate').catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
