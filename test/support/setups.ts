import type { Redis } from 'ioredis';
import { after, before, beforeEach } from 'node:test';
import { startApp, type StartAppOptions, type StartedApp } from './app.js';
import { createUserAndLogin, type TestUser } from './auth.js';
import { engines, type Engine } from './databases.js';
import { instrument, type Instrumented } from './instrumented-database.js';
import { openRedis, redisSkip } from './redis.js';

export interface Setup {
  name: string;
  engine: Engine;
  redis: boolean;
  /** Why the suite can't run here, if it can't. */
  skip: string | undefined;
}

function setup(name: string, engineName: Engine['name'], redis: boolean): Setup {
  const engine = engines.find((e) => e.name === engineName)!;
  return { name, engine, redis, skip: engine.skip ?? (redis ? redisSkip : undefined) };
}

/** The two deployments a cache suite runs on: a server with Redis, and the embedded default. */
export const cacheSetups: Setup[] = [
  setup('PostgreSQL + Redis', 'postgres', true),
  setup('PGlite + memory', 'pglite', false),
];

export interface InstrumentedApp {
  app: StartedApp;
  /** The app's database, counting statements and delaying results on demand. */
  db: Instrumented;
  admin: TestUser;
  redis: Redis | undefined;
}

/**
 * Registers the suite's hooks: before it, the real app over an instrumented database of the
 * setup (with Redis when the setup has it) and a signed-in admin; after it, all closed; before
 * each test, no delay. The fields are filled in when `before` has run.
 */
export function useInstrumentedApp(
  { engine, redis: withRedis, skip }: Setup,
  options: Pick<StartAppOptions, 'env'> = {},
): InstrumentedApp {
  const context = {
    redis: skip || !withRedis ? undefined : openRedis(),
  } as InstrumentedApp;
  before(async () => {
    context.db = instrument(await engine.open());
    context.app = await startApp(engine, {
      ...options,
      // The hold sweep's statements (every HOLD_SWEEP_INTERVAL_MS) would be counted with a
      // request's: it runs once at start-up, then not within a suite.
      env: { HOLD_SWEEP_INTERVAL_MS: '3600000', ...options.env },
      database: context.db.handle,
      redis: context.redis,
    });
    context.admin = await createUserAndLogin(context.app.server, context.app.services, 'admin');
  });
  after(async () => {
    await context.app?.close();
    await context.db?.handle.close();
    context.redis?.disconnect();
  });
  beforeEach(() => {
    if (context.db) context.db.delay = () => 0;
  });
  return context;
}
