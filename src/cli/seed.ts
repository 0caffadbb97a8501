import { loadDotEnv } from '../env-file.js';
// Imports run first, but none reads the environment while loading; the config is read below.
loadDotEnv();
import { parseArgs } from 'node:util';
import { closeDependencies, createDependencies } from '../composition/dependencies.js';
import { loadConfigOrExit, withoutRedis } from '../config.js';
import type { Database } from '../platform/db/database.js';
import { progressBar } from './progress-bar.js';
import { seedAuthors, seedPosts } from './seed-posts.js';
import { seedDemoProducts } from './seed-products.js';
import { DEMO_PASSWORD, seedDemoData, seedUsers } from './seed-users.js';
import { Argon2PasswordHasher } from '../platform/auth/passwords.js';
import { exitOnStartupError } from '../platform/startup-errors.js';

/**
 * `npm run db:seed`: the demo data set, or `-- --users N` random users in bulk, and/or
 * `-- --posts N` random posts by existing users (the demo users when there are none).
 * Works on DATABASE_URL or the embedded database, and migrates first.
 */

const USAGE = 'usage: npm run db:seed [-- --users N] [--posts N]';
const MAX_USERS = 10_000_000;
const MAX_POSTS = 100_000_000;

class UsageError extends Error {}

interface SeedOptions {
  users?: number;
  posts?: number;
  help: boolean;
}

function parseCount(flag: string, raw: string, max: number): number {
  if (!/^\d+$/.test(raw)) throw new UsageError(`--${flag} must be a whole number, got "${raw}"`);
  const count = Number(raw);
  if (count < 1 || count > max) {
    throw new UsageError(`--${flag} must be between 1 and ${max}, got ${count}`);
  }
  return count;
}

function readFlags(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: {
        users: { type: 'string' },
        posts: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
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
  const users = flags.users === undefined ? undefined : parseCount('users', flags.users, MAX_USERS);
  const posts = flags.posts === undefined ? undefined : parseCount('posts', flags.posts, MAX_POSTS);
  return { users, posts, help: flags.help ?? false };
}

async function seedDemo(db: Database, production: boolean) {
  const hasher = new Argon2PasswordHasher();
  const { inserted, total, logins } = await seedDemoData(db, {
    production,
    hashPassword: (password) => hasher.hash(password),
  });
  process.stdout.write(
    `demo data: ${inserted} users inserted, ${total - inserted} already there\n`,
  );
  const admin = logins.find((login) => login.role === 'admin');
  const user = logins.find((login) => login.role === 'user');
  if (admin && user) {
    process.stdout.write(
      `demo logins (password "${DEMO_PASSWORD}"): ${admin.email} (admin), ${user.email} ` +
        `and ${logins.length - 2} more users\n`,
    );
  } else {
    process.stdout.write(
      'demo users have no password in production; create an admin with ' +
        '`npm run user:create -- --email E --password P --role admin`\n',
    );
  }
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

async function seedBulkPosts(db: Database, count: number, production: boolean) {
  let authors = await seedAuthors(db);
  if (authors.length === 0) {
    await seedDemo(db, production);
    authors = await seedAuthors(db);
  }
  const bar = progressBar(count, 'posts');
  const started = performance.now();
  bar.update(0);
  const inserted = await seedPosts(db, authors, count, {
    onProgress: ({ done }) => bar.update(done),
  });
  bar.finish();
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `inserted ${inserted} posts by ${authors.length} authors in ${seconds.toFixed(2)} s\n`,
  );
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
const deps = await createDependencies({
  ...withoutRedis(config),
  migrateOnStart: true,
}).catch(exitOnStartupError({ connectTimeoutMs: config.dbConnectTimeoutMs }));
try {
  const { db } = deps.database;
  const production = config.nodeEnv === 'production';
  if (options.users !== undefined) await seedBulk(db, options.users);
  else if (options.posts === undefined) await seedDemo(db, production);
  if (options.posts !== undefined) await seedBulkPosts(db, options.posts, production);
} finally {
  await closeDependencies(deps);
}
