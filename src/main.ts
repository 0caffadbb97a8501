import { loadDotEnv } from './env-file.js';
// Imports run first, but none reads the environment while loading; the config is read below.
loadDotEnv();
import { loadConfigOrExit } from './config.js';
import type { AddressInfo } from 'node:net';
import { announceStart } from './platform/banner.js';
import { exitOnStartupError } from './platform/startup-errors.js';
import { startTracing } from './tracing.js';

const config = loadConfigOrExit();
// Before the app's modules load: tracing patches http, pg and ioredis as they are required.
const tracing = await startTracing(config, 'stratum-api');
// The embedded database opens (its WebAssembly compiled off this thread, its files read) while
// the app's modules load: the two overlap for a few hundred milliseconds of every start.
const { openDatabase } = await import('./platform/db/open.js');
const database = openDatabase(config);
// Awaited by createDependencies below; until then a failure must not count as unhandled.
database.catch(() => {});
const { closeDependencies, createDependencies } = await import('./composition/dependencies.js');
const { buildApp } = await import('./app.js');
// The usual mistakes (a port in use, a database down or not migrated) end with one line.
const fail = exitOnStartupError({
  portVariable: 'PORT',
  connectTimeoutMs: config.dbConnectTimeoutMs,
});
const deps = await createDependencies(config, { database }).catch(fail);
const { server, lifecycle } = await buildApp(config, deps).catch(fail);

await server.listen({ port: config.port, host: config.host }).catch(fail);
announceStart(config, (server.server.address() as AddressInfo).port, server.log);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  server.log.info({ signal }, 'shutting down');
  // Whatever happens below, the process is gone within the bound.
  setTimeout(() => {
    server.log.error('shutdown took too long, exiting');
    process.exit(1);
  }, config.shutdownTimeoutMs).unref();
  // Readiness turns 503 first, so a load balancer stops sending before we stop accepting.
  lifecycle.shuttingDown = true;
  if (config.shutdownDrainMs > 0) await new Promise((r) => setTimeout(r, config.shutdownDrainMs));
  // Stops accepting, lets in-flight requests finish, then runs onClose (the last view flush);
  // the pool and Redis close after that, since the flush needs them.
  await server.close();
  await closeDependencies(deps);
  await tracing.shutdown();
  process.exit(0);
}

process.once('SIGTERM', (s) => void shutdown(s));
process.once('SIGINT', (s) => void shutdown(s));
