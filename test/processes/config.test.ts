import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { runMain } from '../support/service-process.js';

describe('loadConfig', () => {
  it('when nothing is set, then every setting has its documented default', () => {
    const config = loadConfig({});
    assert.equal(config.port, 3000);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.nodeEnv, 'development');
    assert.equal(config.logLevel, 'info');
    assert.equal(config.dataDir, path.resolve('.data'));
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.redisUrl, undefined);
    assert.equal(config.dbPoolMax, 20);
    assert.equal(config.dbIdleTimeoutMs, 30_000);
    assert.equal(config.dbConnectTimeoutMs, 2_000);
    assert.equal(config.dbStatementTimeoutMs, 15_000);
    assert.equal(config.trustProxy, false);
    assert.equal(config.bodyLimitBytes, 1_048_576);
    assert.equal(config.requestTimeoutMs, 30_000);
    assert.equal(config.shutdownTimeoutMs, 10_000);
    assert.equal(config.shutdownDrainMs, 0);
  });

  it('when a variable is set to the empty string, then its default applies', () => {
    const config = loadConfig({ PORT: '', DB_POOL_MAX: '', TRUST_PROXY: '' });
    assert.equal(config.port, 3000);
    assert.equal(config.dbPoolMax, 20);
    assert.equal(config.trustProxy, false);
  });

  it('when good values are set, then they are parsed to their types', () => {
    const config = loadConfig({
      PORT: '0',
      DATA_DIR: 'relative/dir',
      DATABASE_URL: 'postgresql://u@db:5432/app',
      REDIS_URL: 'rediss://cache:6380',
      DB_POOL_MAX: '1000',
      REQUEST_TIMEOUT_MS: '0',
      SHUTDOWN_DRAIN_MS: '1500',
    });
    assert.equal(config.port, 0);
    assert.equal(config.dataDir, path.resolve('relative/dir'));
    assert.equal(config.databaseUrl, 'postgresql://u@db:5432/app');
    assert.equal(config.redisUrl, 'rediss://cache:6380');
    assert.equal(config.dbPoolMax, 1000);
    assert.equal(config.requestTimeoutMs, 0);
    assert.equal(config.shutdownDrainMs, 1500);
  });

  const badValues: [variable: string, value: string][] = [
    ['PORT', 'abc'],
    ['DB_LOCK_TIMEOUT_MS', '-1'],
    ['DEFAULT_CURRENCY', 'usd'],
    ['DEFAULT_CURRENCY', 'DOLLAR'],
    ['IDEMPOTENCY_KEY_TTL', '10s'],
    ['METRICS_TOKEN', 'short'],
    ['METRICS_ALLOW', '10.0.0.0/40'],
    ['METRICS_ENABLED', 'maybe'],
    ['PORT', '-1'],
    ['PORT', '65536'],
    ['PORT', '80.5'],
    ['PORT', '1e3'],
    ['HOST', '   '],
    ['NODE_ENV', 'staging'],
    ['LOG_LEVEL', 'verbose'],
    ['DATA_DIR', ' '],
    ['DATABASE_URL', 'not a url'],
    ['DATABASE_URL', 'mysql://localhost/app'],
    ['REDIS_URL', 'http://localhost:6379'],
    ['MIGRATE_ON_START', 'maybe'],
    ['DB_POOL_MAX', '0'],
    ['DB_POOL_MAX', '1001'],
    ['DB_IDLE_TIMEOUT_MS', '-5'],
    ['DB_CONNECT_TIMEOUT_MS', '0'],
    ['DB_STATEMENT_TIMEOUT_MS', 'soon'],
    ['TRUST_PROXY', 'everyone'],
    ['TRUST_PROXY', '10.0.0.1,'],
    ['TRUST_PROXY', '10.0.0.0/33'],
    ['TRUST_PROXY', 'cafe'],
    ['BODY_LIMIT_BYTES', '0'],
    ['BODY_LIMIT_BYTES', '1mb'],
    ['REQUEST_TIMEOUT_MS', '30s'],
    ['SHUTDOWN_TIMEOUT_MS', '99'],
    ['SHUTDOWN_DRAIN_MS', '-1'],
    ['GRAPHQL_GRAPHIQL', 'sometimes'],
    ['GRAPHQL_INTROSPECTION', '2'],
    ['GRAPHQL_MAX_DEPTH', '0'],
    ['GRAPHQL_MAX_ALIASES', '-1'],
    ['GRAPHQL_MAX_COST', 'lots'],
    ['GRAPHQL_INTROSPECTION_COST', '-1'],
    ['GRAPHQL_MAX_RESPONSE_BYTES', '0'],
    ['GRAPHQL_JIT', 'on'],

    ['OUTBOX_RETENTION_MS', '60000'],
    ['VIEW_FLUSH_RETENTION_MS', '7d'],
    ['DELIVERY_RETENTION_MS', String(7 * 86_400_000)],
    ['PRUNE_INTERVAL_MS', '999'],
    ['PRUNE_BATCH_SIZE', '0'],
  ];
  for (const [variable, value] of badValues) {
    it(`when ${variable} is "${value}", then the error names ${variable}`, () => {
      assert.throws(
        () => loadConfig({ [variable]: value }),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.equal(err.variable, variable);
          assert.match(err.message, new RegExp(`^${variable}: \\S`));
          return true;
        },
      );
    });
  }

  it('when several variables are bad, then one error names every one of them, in order', () => {
    assert.throws(
      () => loadConfig({ PORT: 'http', LOG_LEVEL: 'loud', DB_POOL_MAX: '0' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(
          err.problems.map((p) => p.variable),
          ['PORT', 'LOG_LEVEL', 'DB_POOL_MAX'],
        );
        assert.equal(err.variable, 'PORT');
        assert.match(err.message, /^PORT: .+; LOG_LEVEL: .+; DB_POOL_MAX: .+$/);
        return true;
      },
    );
  });

  const trustProxyForms: [raw: string, expected: boolean | number | string[]][] = [
    ['false', false],
    ['0', false],
    ['true', true],
    ['TRUE', true],
    ['2', 2],
    ['127.0.0.1', ['127.0.0.1']],
    ['10.0.0.0/8, 192.168.1.1', ['10.0.0.0/8', '192.168.1.1']],
    ['::1,FE80::/10', ['::1', 'fe80::/10']],
  ];
  for (const [raw, expected] of trustProxyForms) {
    it(`when TRUST_PROXY is "${raw}", then it is ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(loadConfig({ TRUST_PROXY: raw }).trustProxy, expected);
    });
  }

  it('when NODE_ENV is production, then GraphiQL and introspection are off unless set', () => {
    const secret = { JWT_SECRET: 'x'.repeat(32) };
    const production = loadConfig({ NODE_ENV: 'production', ...secret });
    assert.equal(production.graphqlGraphiql, false);
    assert.equal(production.graphqlIntrospection, false);
    const opened = loadConfig({
      NODE_ENV: 'production',
      GRAPHQL_GRAPHIQL: 'true',
      GRAPHQL_INTROSPECTION: 'true',
      ...secret,
    });
    assert.equal(opened.graphqlGraphiql, true);
    assert.equal(opened.graphqlIntrospection, true);
    const development = loadConfig({});
    assert.equal(development.graphqlGraphiql, true);
    assert.equal(development.graphqlIntrospection, true);
  });

  it('when nothing is set, then finished rows are kept a week and deliveries two', () => {
    const config = loadConfig({});
    assert.equal(config.outboxRetentionMs, 7 * 86_400_000);
    assert.equal(config.viewFlushRetentionMs, 7 * 86_400_000);
    assert.equal(config.deliveryRetentionMs, 14 * 86_400_000);
    assert.equal(config.pruneIntervalMs, 600_000);
    assert.equal(config.pruneBatchSize, 1000);
  });

  it('when jobs retry for longer, then deliveries must be kept past the last retry', () => {
    // 6 attempts an hour apart, doubling: 31 h of backoff on top of the 7 dead-letter days.
    const env = { JOB_ATTEMPTS: '6', JOB_BACKOFF_MS: '3600000' };
    const floorMs = (7 * 24 + 31 + 24) * 3_600_000;
    assert.equal(
      loadConfig({ ...env, DELIVERY_RETENTION_MS: String(floorMs) }).deliveryRetentionMs,
      floorMs,
    );
    assert.throws(
      () => loadConfig({ ...env, DELIVERY_RETENTION_MS: String(floorMs - 1) }),
      /DELIVERY_RETENTION_MS: must be between/,
    );
  });

  it('when DATABASE_URL is unset, then MIGRATE_ON_START defaults to true (embedded)', () => {
    assert.equal(loadConfig({}).migrateOnStart, true);
  });

  it('when DATABASE_URL is set, then MIGRATE_ON_START defaults to false (shared server)', () => {
    assert.equal(loadConfig({ DATABASE_URL: 'postgres://db/app' }).migrateOnStart, false);
  });

  it('when MIGRATE_ON_START is explicit, then it wins over the default', () => {
    assert.equal(
      loadConfig({ DATABASE_URL: 'postgres://db/app', MIGRATE_ON_START: 'yes' }).migrateOnStart,
      true,
    );
    assert.equal(loadConfig({ MIGRATE_ON_START: '0' }).migrateOnStart, false);
  });
});

describe('start-up with a bad configuration', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stratum-config-'));
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  const cases: [variable: string, value: string][] = [
    ['PORT', 'abc'],
    ['DB_LOCK_TIMEOUT_MS', '-1'],
    ['DEFAULT_CURRENCY', 'usd'],
    ['DEFAULT_CURRENCY', 'DOLLAR'],
    ['IDEMPOTENCY_KEY_TTL', '10s'],
    ['METRICS_TOKEN', 'short'],
    ['METRICS_ALLOW', '10.0.0.0/40'],
    ['METRICS_ENABLED', 'maybe'],
    ['DATABASE_URL', 'mysql://localhost/app'],
    ['TRUST_PROXY', '10.0.0.0/33'],
  ];
  for (const [variable, value] of cases) {
    it(`when ${variable}=${value}, then the process exits non-zero with one line naming it`, async () => {
      const { code, stderr } = await runMain({ DATA_DIR: dataDir, [variable]: value });
      assert.notEqual(code, 0);
      const lines = stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `expected one line on stderr, got:\n${stderr}`);
      assert.match(lines[0]!, new RegExp(`\\b${variable}\\b`));
      assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
    });
  }
});
