import type { FastifyInstance } from 'fastify';
import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * V8 shrinks its heap once idle only after a full collection has run since the load: its
 * memory reducer starts from one. A load served by young-generation collections alone (the
 * usual case: the old generation's limit is far above what a load promotes) leaves the old
 * generation holding the load's dead objects, and the process's resident memory with them, for
 * as long as the process stays idle.
 *
 * So after `idleMs` without a request, following some requests, the process runs one full
 * collection, which frees those pages and starts the reducer. A process with steady traffic
 * never does: its collections run as the load drives them.
 */
export function collectWhenIdle(
  app: FastifyInstance,
  idleMs: number,
  collect: () => void = fullCollection(),
) {
  let requests = 0;
  let seen = 0;
  let collectedAt = 0;
  // A callback hook: an async one costs a promise on every request. Health probes and metric
  // scrapes (`neverShed`) come on a schedule whatever the load: counted, they would keep an
  // otherwise idle process from ever collecting.
  app.addHook('onRequest', (request, _reply, done) => {
    if (!request.routeOptions.config.neverShed) requests++;
    done();
  });
  const timer = setInterval(() => {
    if (requests !== seen) {
      seen = requests;
      return;
    }
    if (collectedAt === seen) return;
    collectedAt = seen;
    collect();
  }, idleMs);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));
}

/** V8's full collection, as `--expose-gc` gives it, without starting the process with that flag. */
export function fullCollection(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  // The flag only puts `gc` on contexts created while it is set: one, here, then off again.
  v8.setFlagsFromString('--expose-gc');
  try {
    return vm.runInNewContext('gc') as () => void;
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
}
