import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DatabaseHandle } from '../../../src/platform/db/database.js';
import { createPostgres } from '../../../src/platform/db/postgres.js';
import { skipOrFail } from '../../support/skip.js';
import { startSmtpServer, type TestSmtpServer } from '../../support/smtp.js';
import { postgresBinDir, startPostgresServer, type PostgresServer } from './postgres-server.js';
import { redisServerBinary, startRedisServer, type RedisServer } from './redis-server.js';

/**
 * Everything a fault test stops and starts, of its own: a PostgreSQL cluster, a Redis and an
 * SMTP server, plus the environment that points the API and the worker at them.
 */

const postgresBin = postgresBinDir();
const redisBinary = redisServerBinary();

/** Undefined when the servers can be started here; else why the suite is skipped (CI: fails). */
export const faultSkip =
  postgresBin && redisBinary
    ? undefined
    : skipOrFail(
        'fault-test servers',
        `${postgresBin ? '' : 'no PostgreSQL initdb (set PG_BIN) '}${redisBinary ? '' : 'no redis-server on PATH'}`,
      );

export const ADMIN = { email: 'admin@faults.test', password: 'fault test operator passphrase' };

export interface FaultStack {
  postgres: PostgresServer;
  redis: RedisServer;
  smtp: TestSmtpServer;
  /** The API's and the worker's environment. */
  env: Record<string, string>;
  /** A pool of the test's own on the database, for checks straight from the tables. */
  database(): DatabaseHandle;
  close(): Promise<void>;
}

export async function startStack(env: Record<string, string> = {}): Promise<FaultStack> {
  if (!postgresBin || !redisBinary) throw new Error(faultSkip);
  const [postgres, redis, smtp] = await Promise.all([
    startPostgresServer(postgresBin),
    startRedisServer(redisBinary),
    startSmtpServer(),
  ]);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stratum-fault-data-'));
  let handle: DatabaseHandle | undefined;
  return {
    postgres,
    redis,
    smtp,
    env: {
      DATABASE_URL: postgres.url,
      MIGRATE_ON_START: 'true',
      REDIS_URL: redis.url,
      SMTP_URL: smtp.url,
      DATA_DIR: dataDir,
      JWT_SECRET: 'fault-tests-jwt-secret-of-32-bytes-at-least',
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      OUTBOX_POLL_MS: '100',
      LOG_LEVEL: 'info',
      // Members sign up and move money at once; email verification has its own suite.
      REQUIRE_VERIFIED_EMAIL: 'false',
      ...env,
    },
    database() {
      handle ??= createPostgres({
        url: postgres.url,
        poolMax: 2,
        idleTimeoutMs: 1_000,
        connectTimeoutMs: 5_000,
        statementTimeoutMs: 30_000,
      });
      return handle;
    },
    async close() {
      await handle?.close().catch(() => {});
      await Promise.all([postgres.close(), redis.close(), smtp.close()]);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
