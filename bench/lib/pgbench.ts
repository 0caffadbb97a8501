import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ensureDatabase } from './database.js';
import { percentile, type LoadResult, type LoadSettings } from './load.js';
import { withoutPassword, type PgbenchSettings } from './settings.js';

/**
 * pgbench's built-in TPC-B-like script on the bench's PostgreSQL server, in a database of its
 * own: the yardstick of the ledger scenarios. Each of its transactions updates an account, reads
 * its balance, updates a teller and a branch, inserts a history row and commits: one money
 * movement, one commit, like a transfer through the API.
 */

export interface PgbenchOutput {
  command: string;
  /** pgbench's summary as it printed it. */
  output: string;
}

const UNDEFINED_TABLE = '42P01';

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function pgbench(args: string[]): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn('pgbench', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', (err) =>
      reject(new Error(`cannot run pgbench (is it on PATH?): ${err.message}`, { cause: err })),
    );
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The scale the tables were initialised with, or null when there are none. */
async function currentScale(url: string): Promise<number | null> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      'select count(*)::int as n from pgbench_branches',
    );
    return rows[0]?.n ?? null;
  } catch (err) {
    if ((err as { code?: string }).code === UNDEFINED_TABLE) return null;
    throw err;
  } finally {
    await client.end();
  }
}

/**
 * pgbench for a scenario's own connection count (`clients`, or the settings' when unset): as
 * many clients, on tables of a scale at least that count, so that TPC-B's branch rows (one per
 * scale unit, updated by every transaction) don't make pgbench wait on itself. A scale above
 * the configured one gets a database of its own (`<name>_s<scale>`), kept like the first.
 */
export function pgbenchFor(settings: PgbenchSettings, clients?: number): PgbenchSettings {
  const wanted = clients ?? settings.clients;
  if (wanted <= settings.scale) return { ...settings, clients: wanted };
  const url = new URL(settings.databaseUrl);
  url.pathname = `${url.pathname}_s${wanted}`;
  return { databaseUrl: url.toString(), scale: wanted, clients: wanted };
}

/** Room on the server for pgbench's clients and Stratum's pool: else say so before any load. */
async function checkConnections(url: string, needed: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ max: string }>(
      "select current_setting('max_connections') as max",
    );
    const max = Number(rows[0]?.max);
    if (max < needed) {
      throw new Error(
        `pgbench -c ${needed - CONNECTION_ROOM} needs max_connections >= ${needed} on the bench server (it is ${max}); lower the scenario's connections or raise the setting`,
      );
    }
  } finally {
    await client.end();
  }
}

/** What a pgbench run needs on top of its clients: Stratum's pool and the bench's own. */
const CONNECTION_ROOM = 30;

/**
 * Creates the database and pgbench's tables at the configured scale, unless they are there.
 * They are kept between bench runs: each measured run truncates the history table itself.
 */
export async function preparePgbench(settings: PgbenchSettings): Promise<void> {
  await ensureDatabase(settings.databaseUrl);
  await checkConnections(settings.databaseUrl, settings.clients + CONNECTION_ROOM);
  if ((await currentScale(settings.databaseUrl)) === settings.scale) return;
  process.stderr.write(`pgbench: initialising scale ${settings.scale}\n`);
  const init = await pgbench(['-i', '-q', '-s', String(settings.scale), settings.databaseUrl]);
  if (init.code !== 0) throw new Error(`pgbench -i failed:\n${init.stderr.slice(-2_000)}`);
}

function runArgs(settings: PgbenchSettings, durationS: number, logPrefix?: string): string[] {
  // One thread per core, as the load generator on the other side has the same machine.
  const threads = Math.min(settings.clients, os.availableParallelism());
  return [
    ...['-c', String(settings.clients), '-j', String(threads), '-T', String(durationS)],
    ...['-M', 'prepared'],
    // One line per transaction with its latency, for the percentiles autocannon reports too.
    ...(logPrefix ? ['-l', `--log-prefix=${logPrefix}`] : []),
    settings.databaseUrl,
  ];
}

function figure(output: string, pattern: RegExp): number | undefined {
  const match = pattern.exec(output)?.[1];
  return match === undefined ? undefined : Number(match);
}

/** Transaction latencies in ms from every thread's log: the third field, in microseconds. */
async function readLatencies(dir: string): Promise<number[]> {
  const latencies: number[] = [];
  for (const file of await fs.readdir(dir)) {
    const text = await fs.readFile(path.join(dir, file), 'utf8');
    for (const line of text.split('\n')) {
      // Failed or skipped transactions say so in that field instead of a number.
      const us = Number(line.split(' ')[2]);
      if (line && Number.isFinite(us)) latencies.push(us / 1000);
    }
  }
  return latencies.sort((a, b) => a - b);
}

/** One timed pgbench run after an untimed one of the warm-up's length, like `measure`. */
export async function measurePgbench(
  settings: PgbenchSettings,
  load: Pick<LoadSettings, 'durationS' | 'warmupS'>,
): Promise<LoadResult> {
  if (load.warmupS > 0) await pgbench(runArgs(settings, load.warmupS));
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'stratum-pgbench-'));
  try {
    const args = runArgs(settings, load.durationS, path.join(dir, 'log'));
    const run = await pgbench(args);
    const output = run.stdout + run.stderr;
    // Excluding connection time: the API side's connections are open before its clock starts.
    const tps = figure(output, /^tps = ([\d.]+) \(without initial connection time\)/m);
    if (run.code !== 0 && tps === undefined) {
      throw new Error(`pgbench failed (${run.code}):\n${output.slice(-2_000)}`);
    }
    const latencies = await readLatencies(dir);
    // Exit code 2 with a summary: some clients aborted; counted as errors, like autocannon's.
    const failed = figure(output, /^number of failed transactions: (\d+)/m) ?? 0;
    return {
      reqPerSec: tps ?? 0,
      p50Ms: percentile(latencies, 0.5),
      p95Ms: percentile(latencies, 0.95),
      p99Ms: percentile(latencies, 0.99),
      cpuUsPerReq: null,
      requests: figure(output, /^number of transactions actually processed: (\d+)/m) ?? 0,
      errors: failed + (run.code === 0 ? 0 : 1),
      timeouts: 0,
      non2xx: 0,
      raw: {
        command: ['pgbench', ...args.slice(0, -1), withoutPassword(settings.databaseUrl)].join(' '),
        output: run.stdout,
      },
    };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
