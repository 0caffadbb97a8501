import { createRequire } from 'node:module';

type BullMq = typeof import('bullmq');

const require = createRequire(import.meta.url);
let loaded: BullMq | undefined;

/**
 * BullMQ, loaded when a queue is first opened: a process without a queue Redis (the embedded
 * default) never needs it, and loading it is a third of the API's module-loading time. The
 * package is CommonJS (its import resolves to the same file), so this is the instance an import
 * would give.
 */
export function bullmq(): BullMq {
  loaded ??= require('bullmq') as BullMq;
  return loaded;
}
