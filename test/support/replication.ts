import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { postgresBinDir } from '../faults/support/postgres-server.js';
import { freePort, runCommand } from './commands.js';
import { skipOrFail } from './skip.js';

/**
 * A primary and a streaming standby of the test's own: initdb into a temporary folder on a free
 * port (`wal_level=replica`), then `pg_basebackup -R` from it into another folder, started on
 * another port. Not the machine's server: stopping or pausing them disturbs nobody. As root,
 * PostgreSQL's commands run as the `postgres` user.
 */

export interface Replication {
  primaryUrl: string;
  standbyUrl: string;
  /** Stops replaying WAL on the standby (it keeps answering queries). */
  pauseStandby(): Promise<void>;
  resumeStandby(): Promise<void>;
  stopStandby(): Promise<void>;
  close(): Promise<void>;
}

/** Undefined when PostgreSQL's binaries are here, else why the suite is skipped (CI fails). */
export function replicationSkip(): string | undefined {
  if (postgresBinDir()) return undefined;
  return skipOrFail('PostgreSQL binaries', 'no initdb under /usr/lib/postgresql (or PG_BIN)');
}

function postgresOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root and there is no postgres user to run PostgreSQL');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

async function onStandby(url: string, statement: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

export async function startReplication(): Promise<Replication> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('no PostgreSQL binaries');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stratum-replication-'));
  const owner = postgresOwner();
  if (owner) fs.chownSync(dir, owner.uid, owner.gid);
  const run = (name: string, args: string[]) =>
    owner
      ? runCommand('runuser', ['-u', 'postgres', '--', path.join(bin, name), ...args])
      : runCommand(path.join(bin, name), args);
  const primary = path.join(dir, 'primary');
  const standby = path.join(dir, 'standby');
  const [primaryPort, standbyPort] = [await freePort(), await freePort()];
  // fsync off: the clusters live for one suite; replication, not the disk, is under test.
  const options = (port: number) =>
    [
      `-p ${port}`,
      `-k ${dir}`,
      '-c listen_addresses=127.0.0.1',
      '-c fsync=off',
      '-c shared_buffers=32MB',
      '-c wal_level=replica',
      '-c max_wal_senders=4',
    ].join(' ');
  const pgCtl = (data: string, port: number, action: string[]) =>
    run('pg_ctl', [
      '-D',
      data,
      '-o',
      options(port),
      '-l',
      `${data}.log`,
      '-w',
      '-t',
      '60',
      ...action,
    ]);
  await run('initdb', ['-D', primary, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
  await pgCtl(primary, primaryPort, ['start']);
  // -R writes standby.signal and primary_conninfo: it starts as a streaming standby.
  await run('pg_basebackup', [
    '-h',
    '127.0.0.1',
    '-p',
    String(primaryPort),
    '-U',
    'postgres',
    '-D',
    standby,
    '-R',
    '-X',
    'stream',
    '--no-sync',
  ]);
  await pgCtl(standby, standbyPort, ['start']);
  const url = (port: number) => `postgres://postgres@127.0.0.1:${port}/postgres`;
  const standbyUrl = url(standbyPort);
  let standbyUp = true;
  return {
    primaryUrl: url(primaryPort),
    standbyUrl,
    pauseStandby: () => onStandby(standbyUrl, 'select pg_wal_replay_pause()'),
    resumeStandby: () => onStandby(standbyUrl, 'select pg_wal_replay_resume()'),
    async stopStandby() {
      standbyUp = false;
      await run('pg_ctl', ['-D', standby, '-m', 'immediate', '-w', 'stop']);
    },
    async close() {
      if (standbyUp) await run('pg_ctl', ['-D', standby, '-m', 'immediate', '-w', 'stop']);
      await run('pg_ctl', ['-D', primary, '-m', 'immediate', '-w', 'stop']).catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
