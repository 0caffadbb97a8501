import { createHash, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The knobs of the hostile-input suite, all from the environment:
 * HOSTILE_SEED replays a run, HOSTILE_RUNS scales how many values each property draws,
 * HOSTILE_BUDGET_MS bounds the whole suite (both files together), HOSTILE_ONLY keeps the
 * operations whose name contains it (e.g. `POST /api/v1/transfers` or `Mutation.createUser`).
 */
function intFrom(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, got "${raw}"`);
  return value;
}

/**
 * Without HOSTILE_SEED, one seed for the whole run: both files are children of the same test
 * runner, so they derive it from its process id and start time (Linux); elsewhere, random.
 */
function runSeed(): number {
  try {
    const stat = readFileSync(`/proc/${process.ppid}/stat`, 'utf8');
    const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    if (!startTime) throw new Error('no start time');
    const digest = createHash('sha256').update(`${process.ppid}:${startTime}`).digest();
    return digest.readUInt32BE(0) & 0x7fffffff;
  } catch {
    return randomInt(0, 2 ** 31 - 1);
  }
}

export const SEED = intFrom('HOSTILE_SEED', runSeed());
export const RUNS = Math.max(1, intFrom('HOSTILE_RUNS', 10));
export const BUDGET_MS = Math.max(10_000, intFrom('HOSTILE_BUDGET_MS', 180_000));
export const ONLY = process.env.HOSTILE_ONLY?.trim() || undefined;
/** Where each file writes its findings as JSON, next to what it prints. */
export const REPORT_DIR = process.env.HOSTILE_REPORT_DIR ?? os.tmpdir();

export const reportPath = (file: string) =>
  path.join(REPORT_DIR, `stratum-hostile-${file}-${SEED}.json`);

/** A property's own seed: stable for a name whatever else runs, so HOSTILE_ONLY replays it. */
export function seedFor(...parts: string[]): number {
  const digest = createHash('sha256')
    .update([String(SEED), ...parts].join('\u0000'))
    .digest();
  return digest.readUInt32BE(0) & 0x7fffffff;
}

export const selected = (name: string) => ONLY === undefined || name.includes(ONLY);

export function banner(file: string): string {
  return (
    `hostile ${file}: HOSTILE_SEED=${SEED} HOSTILE_RUNS=${RUNS} HOSTILE_BUDGET_MS=${BUDGET_MS}` +
    (ONLY ? ` HOSTILE_ONLY=${JSON.stringify(ONLY)}` : '')
  );
}
