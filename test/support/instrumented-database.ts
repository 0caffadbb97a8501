import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  UnknownRow,
} from 'kysely';
import type { DatabaseHandle } from '../../src/platform/db/database.js';
import { sleep } from './time.js';

export interface Instrumented {
  handle: DatabaseHandle;
  /** Statements run since the last reset, by kind (SelectQueryNode, UpdateQueryNode, …). */
  statements: string[];
  reset(): void;
  /** Delay (ms) added after each statement's result, e.g. to widen race windows. */
  delay: () => number;
}

/**
 * The same database seen through a Kysely plugin that records every statement and can hold
 * each result back for a while: how tests count database reads and provoke interleavings
 * without touching the code under test.
 */
export function instrument(handle: DatabaseHandle): Instrumented {
  const instrumented: Instrumented = {
    handle,
    statements: [],
    reset: () => void (instrumented.statements.length = 0),
    delay: () => 0,
  };
  const plugin: KyselyPlugin = {
    transformQuery(args: PluginTransformQueryArgs) {
      instrumented.statements.push(args.node.kind);
      return args.node;
    },
    async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
      const ms = instrumented.delay();
      if (ms > 0) await sleep(ms);
      return args.result;
    },
  };
  instrumented.handle = { ...handle, db: handle.db.withPlugin(plugin) };
  return instrumented;
}

export const selects = (statements: string[]) =>
  statements.filter((kind) => kind === 'SelectQueryNode').length;
