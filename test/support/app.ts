import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import os from 'node:os';
import path from 'node:path';
import { buildApp, type App } from '../../src/app.js';
import { adapters } from '../../src/composition/dependencies.js';
import type { Jobs } from '../../src/composition/jobs.js';
import type { Services } from '../../src/composition/services.js';
import { loadConfig } from '../../src/config.js';
import type { DatabaseHandle } from '../../src/platform/db/database.js';
import type { Mailer } from '../../src/platform/mail/mailer.js';
import type { Replica } from '../../src/platform/db/replicas.js';
import type { RedisClient } from '../../src/platform/redis/connect.js';
import type { Engine } from './databases.js';
import { openRedis } from './redis.js';

/** Small enough that a test can exceed it cheaply, large enough for every ordinary request. */
export const TEST_BODY_LIMIT_BYTES = 8 * 1024;
export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-bytes-long';

export interface StartAppOptions {
  /** Extra environment for loadConfig, on top of the test defaults. */
  env?: NodeJS.ProcessEnv;
  /** Runs on the built server before ready(), e.g. to add a route that only a test needs. */
  beforeReady?: (server: FastifyInstance) => void;
  /** Share an already open database (several app instances over one database). */
  database?: DatabaseHandle;
  redis?: RedisClient;
  /**
   * Redis name of the pending view counters. Suites share one Redis but not one database: a
   * flusher must not drain another suite's views, so each app gets its own unless told.
   */
  viewCountersName?: string;
  /** BullMQ's connection: jobs go through the relay to Redis instead of running in process. */
  queueRedis?: RedisClient;
  mailer?: Mailer;
  /** Streaming standbys for the replica-safe reads; closed with the app. */
  replicas?: Replica[];
}

/** Welcome emails of the suites land here (as .eml files), not in the project's .data. */
export const TEST_DATA_DIR = path.join(os.tmpdir(), `stratum-test-${process.pid}`);

export interface StartedApp {
  server: FastifyInstance;
  services: Services;
  viewFlusher: App['viewFlusher'];
  jobs: Jobs;
  /** The app's database; closing it early (to test readiness) is fine, close() copes. */
  database: DatabaseHandle;
  close(): Promise<void>;
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}

/** The real app, as main.ts builds it, over a fresh migrated database of the given engine. */
export async function startApp(engine: Engine, options: StartAppOptions = {}): Promise<StartedApp> {
  const opened = options.database ?? (await engine.open());
  const owned = options.database === undefined;
  const database: DatabaseHandle = {
    ...opened,
    close: once(() => (owned ? opened.close() : Promise.resolve())),
  };
  try {
    const config = loadConfig({
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      BODY_LIMIT_BYTES: String(TEST_BODY_LIMIT_BYTES),
      JWT_SECRET: TEST_JWT_SECRET,
      RATE_LIMIT_MAX: '100000',
      // The load shedder off: suites fire bursts of concurrent requests on a busy machine.
      // test/http/load-shedding.test.ts turns it on.
      LOAD_SHED_MAX_IN_FLIGHT: '0',
      LOAD_SHED_CRITICAL_IN_FLIGHT: '0',
      LOAD_SHED_EVENT_LOOP_DELAY_MS: '0',
      LOAD_SHED_HEAP_PERCENT: '0',
      LOAD_SHED_POOL_WAITING: '0',
      DATA_DIR: TEST_DATA_DIR,
      ...options.env,
    });
    const deps = adapters(database, options.redis, config, {
      queueRedis: options.queueRedis,
      viewCountersName: options.viewCountersName ?? `views-test-${randomUUID()}`,
      replicas: options.replicas,
    });
    const { server, services, viewFlusher, jobs } = await buildApp(config, deps, {
      mailer: options.mailer,
    });
    options.beforeReady?.(server);
    await server.ready();
    return {
      server,
      services,
      viewFlusher,
      jobs,
      database,
      async close() {
        await server.close();
        await deps.replicaReads.close();
        await database.close();
      },
    };
  } catch (err) {
    await database.close();
    throw err;
  }
}

/** Two API processes over one database, each with its own Redis connection, as on two hosts. */
export async function startTwoApps(engine: Engine, options: StartAppOptions = {}) {
  const redisA = openRedis();
  const redisB = openRedis();
  const first = await startApp(engine, { ...options, redis: redisA });
  const second = await startApp(engine, { ...options, redis: redisB, database: first.database });
  return {
    first,
    second,
    close: async () => {
      await second.close();
      await first.close();
      redisA.disconnect();
      redisB.disconnect();
    },
  };
}
