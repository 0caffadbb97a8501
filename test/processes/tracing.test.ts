import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ProxyTracerProvider, trace } from '@opentelemetry/api';
import { loadConfig } from '../../src/config.js';
import { activeTraceparent, linksTo } from '../../src/platform/tracing/trace-context.js';
import { startTracing } from '../../src/tracing.js';
import { postgresSkip } from '../support/databases.js';
import { eventually } from '../support/time.js';
import { deleteQueueKeys, uniqueQueuePrefix } from '../support/queues.js';
import { redisSkip, TEST_REDIS_URL } from '../support/redis.js';
import { spawnWorker, type WorkerProcess } from '../support/worker-process.js';
import { startOtlpCollector, type CollectedSpan } from '../support/otlp-collector.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database.js';
import { startService, type RunningService } from '../support/service-process.js';

const SERVER = 2;
const CONSUMER = 5;

type Collector = Awaited<ReturnType<typeof startOtlpCollector>>;

/** True when `span` sits somewhere under `ancestor` in the same trace. */
function descendsFrom(span: CollectedSpan, ancestor: CollectedSpan, all: CollectedSpan[]) {
  const byId = new Map(all.filter((s) => s.traceId === span.traceId).map((s) => [s.spanId, s]));
  for (let parent = span.parentSpanId; parent; parent = byId.get(parent)?.parentSpanId) {
    if (parent === ancestor.spanId) return true;
  }
  return false;
}

function isDb(span: CollectedSpan, system: string) {
  return span.attributes['db.system'] === system || span.attributes['db.system.name'] === system;
}

async function register(port: number, requestId: string) {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': requestId },
    body: JSON.stringify({
      name: 'Traced',
      email: `traced-${randomUUID()}@example.com`,
      password: 'a traced password',
    }),
  });
  assert.equal(res.status, 201, await res.text());
}

/**
 * The request's server span, a SQL span under it, and the welcome-email job's span linked to
 * it (as its own trace); with Redis also a Redis span under the request.
 */
async function assertRequestAndJobTraced(
  collector: Collector,
  requestId: string,
  jobService: string,
  withRedis: boolean,
) {
  const server = await eventually(
    () =>
      collector.spans.find((s) => s.attributes['request.id'] === requestId && s.kind === SERVER) ??
      false,
    { what: 'the request span', timeoutMs: 30_000 },
  );
  assert.equal(server.service, 'stratum-api');
  assert.equal(server.name, 'POST /api/v1/auth/register');
  assert.equal(server.attributes['http.route'], '/api/v1/auth/register');
  const sql = await eventually(
    () =>
      collector.spans.find(
        (s) => s.name.startsWith('pg.query') && descendsFrom(s, server, collector.spans),
      ) ?? false,
    { what: 'a SQL span under the request' },
  );
  assert.ok(isDb(sql, 'postgresql'), JSON.stringify(sql.attributes));
  if (withRedis) {
    await eventually(
      () =>
        collector.spans.find((s) => isDb(s, 'redis') && descendsFrom(s, server, collector.spans)) ??
        false,
      { what: 'a Redis span under the request' },
    );
  }
  const job = await eventually(
    () =>
      collector.spans.find(
        (s) => s.name === 'job email.welcome' && s.attributes['request.id'] === requestId,
      ) ?? false,
    { what: 'the job span', timeoutMs: 30_000 },
  );
  assert.equal(job.service, jobService);
  assert.equal(job.kind, CONSUMER);
  assert.notEqual(job.traceId, server.traceId, 'the job runs in a trace of its own');
  assert.equal(job.links.length, 1);
  const [link] = job.links;
  assert.equal(link!.traceId, server.traceId);
  assert.equal(link!.spanId, server.spanId, 'the link names the request span');
  assert.equal(job.attributes['job.attempt'], 1);
  assert.ok(job.attributes['job.id']);
  const jobSql = collector.spans.find(
    (s) => isDb(s, 'postgresql') && s.parentSpanId === job.spanId,
  );
  assert.ok(jobSql, "the job's queries are its children");
}

function baseEnv(scratch: ScratchDatabase, dataDir: string, collector: Collector) {
  return {
    DATABASE_URL: scratch.url,
    DATA_DIR: dataDir,
    JWT_SECRET: 'a tracing test secret of at least 32 bytes',
    RATE_LIMIT_MAX: '100000',
    OUTBOX_POLL_MS: '200',
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
    OTEL_BSP_SCHEDULE_DELAY: '100',
  };
}

describe('tracing on, jobs run by the API itself', { skip: postgresSkip }, () => {
  let collector: Collector;
  let scratch: ScratchDatabase;
  let api: RunningService;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stratum-trace-'));

  before(async () => {
    collector = await startOtlpCollector();
    scratch = await createScratchDatabase();
    api = await startService({ ...baseEnv(scratch, dataDir, collector), MIGRATE_ON_START: 'true' });
  });

  after(async () => {
    api?.kill();
    await api?.exited;
    await scratch?.drop();
    await collector?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('when a request schedules a job, then its span links to the request span', async () => {
    const requestId = `trace-${randomUUID()}`;
    await register(api.port, requestId);
    await assertRequestAndJobTraced(collector, requestId, 'stratum-api', false);
  });
});

describe('tracing on, with Redis and a worker', { skip: postgresSkip ?? redisSkip }, () => {
  let collector: Collector;
  let scratch: ScratchDatabase;
  let api: RunningService;
  let worker: WorkerProcess;
  const prefix = uniqueQueuePrefix();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stratum-trace-'));

  before(async () => {
    collector = await startOtlpCollector();
    scratch = await createScratchDatabase();
    const env = {
      ...baseEnv(scratch, dataDir, collector),
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
    };
    api = await startService({ ...env, MIGRATE_ON_START: 'true' });
    worker = spawnWorker({ ...env, LOG_LEVEL: 'info' });
    await worker.waitForLog(/worker started/, 60_000);
  });

  after(async () => {
    api?.kill();
    worker?.signal('SIGKILL');
    await Promise.all([api?.exited, worker?.exited]);
    await scratch?.drop();
    await deleteQueueKeys(prefix);
    await collector?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('when a request schedules a job, then the worker span links to it across BullMQ', async () => {
    const requestId = `trace-${randomUUID()}`;
    await register(api.port, requestId);
    await assertRequestAndJobTraced(collector, requestId, 'stratum-worker', true);
  });
});

describe('tracing off', () => {
  it('when OTEL_EXPORTER_OTLP_ENDPOINT is unset, then no tracer provider is registered', async () => {
    await startTracing(loadConfig({}), 'stratum-api');
    const provider = trace.getTracerProvider();
    assert.ok(provider instanceof ProxyTracerProvider);
    assert.equal(provider.getDelegate().constructor.name, 'NoopTracerProvider');
    trace.getTracer('test').startActiveSpan('nothing', (span) => {
      assert.equal(span.isRecording(), false);
      assert.equal(activeTraceparent(), undefined, 'nothing is stored with outbox rows');
      span.end();
    });
    assert.deepEqual(linksTo(null), []);
  });
});
