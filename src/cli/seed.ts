import { parseArgs } from 'node:util';
import { closeDependencies, createDependencies } from '../app.js';
import { loadConfigOrExit } from '../config.js';
import type { Database } from '../platform/db/database.js';
import { progressBar } from './progress-bar.js';
import { seedDemoProducts } from './seed-products.js';
import { seedDemoData, seedUsers } from './seed-users.js';

/**
 * `npm run db:seed`: the demo data set, or `-- --users N` random users in bulk.
 * Works on DATABASE_URL or the embedded database, and migrates first.
 */

const USAGE = 'usage: npm run db:seed [-- --users N]';
const MAX_USERS = 10_000_000;

class UsageError extends Error {}

interface SeedOptions {
  users?: number;
  help: boolean;
}

function parseUserCount(raw: string): number {
  if (!/^\d+$/.test(raw)) throw new UsageError(`--users must be a whole number, got "${raw}"`);
  const count = Number(raw);
  if (count < 1 || count > MAX_USERS) {
    throw new UsageError(`--users must be between 1 and ${MAX_USERS}, got ${count}`);
  }
  return count;
}

function readFlags(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: { users: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    // parseArgs explains itself in one sentence, sometimes followed by a hint on a second line.
    throw new UsageError((err as Error).message.split('\n')[0]);
  }
}

function parseSeedArgs(argv: string[]): SeedOptions {
  const flags = readFlags(argv);
  const users = flags.users === undefined ? undefined : parseUserCount(flags.users);
  return { users, help: flags.help ?? false };
}

async function seedDemo(db: Database) {
  const { inserted, total } = await seedDemoData(db);
  process.stdout.write(
    `demo data: ${inserted} users inserted, ${total - inserted} already there\n`,
  );
  const products = await seedDemoProducts(db);
  process.stdout.write(
    `demo data: ${products.inserted} products inserted, ${products.total - products.inserted} already there\n`,
  );
}

async function seedBulk(db: Database, count: number) {
  const bar = progressBar(count, 'users');
  const started = performance.now();
  bar.update(0);
  const inserted = await seedUsers(db, count, { onProgress: ({ done }) => bar.update(done) });
  bar.finish();
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`inserted ${inserted} users in ${seconds.toFixed(2)} s\n`);
}

function optionsOrExit(): SeedOptions {
  try {
    return parseSeedArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`seed: ${err.message} (${USAGE})\n`);
    process.exit(2);
  }
}

const options = optionsOrExit();
if (options.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const config = loadConfigOrExit();
const deps = await createDependencies({ ...config, migrateOnStart: true, redisUrl: undefined });
try {
  if (options.users === undefined) await seedDemo(deps.database.db);
  else await seedBulk(deps.database.db, options.users);
} finally {
  await closeDependencies(deps);
}
