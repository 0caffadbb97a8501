import { loadDotEnv } from './env-file.js';
// Imports run first, but none reads the environment while loading; the config is read below.
loadDotEnv();
import { loadConfigOrExit, redisConfigured } from './config.js';
import { exitOnStartupError } from './platform/startup-errors.js';
import { startTracing } from './tracing.js';

const config = loadConfigOrExit();
if (!config.queueRedisUrl && !redisConfigured(config)) {
  process.stderr.write(
    'Invalid configuration: QUEUE_REDIS_URL or REDIS_URL (or REDIS_SENTINELS, or ' +
      'REDIS_CLUSTER_NODES) is required by the worker ' +
      '(without Redis the API process runs jobs itself)\n',
  );
  process.exit(1);
}
// Before the app's modules load: tracing patches http, pg and ioredis as they are required.
const tracing = await startTracing(config, 'stratum-worker');
const { closeDependencies, createDependencies } = await import('./composition/dependencies.js');
const { buildWorker } = await import('./composition/worker.js');
// The usual mistakes (a port in use, a database or Redis down) end with one line.
const fail = exitOnStartupError({
  portVariable: 'WORKER_PORT',
  connectTimeoutMs: config.dbConnectTimeoutMs,
});
const deps = await createDependencies(config).catch(fail);
const worker = buildWorker(config, deps);
const log = worker.server.log;

if (config.workerPort > 0)
  await worker.server.listen({ port: config.workerPort, host: config.host }).catch(fail);
else await worker.server.ready();
log.info({ queues: worker.jobs.registry.queueNames() }, 'worker started');

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'worker shutting down');
  // Jobs still running past the bound are abandoned: their locks expire and another worker
  // takes them over (the stalled-job check), so they run again rather than being lost.
  setTimeout(() => {
    log.error('worker shutdown took too long, exiting');
    process.exit(1);
  }, config.workerShutdownTimeoutMs).unref();
  await worker.close();
  await closeDependencies(deps);
  await tracing.shutdown();
  log.info('worker stopped');
  process.exit(0);
}

process.once('SIGTERM', (s) => void shutdown(s));
process.once('SIGINT', (s) => void shutdown(s));
