import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

// The cache class mercurius itself imports: resolved from mercurius' folder, whichever copy that is.
const fromMercurius = createRequire(createRequire(import.meta.url).resolve('mercurius'));
const { default: QuickLRU } = (await import(
  pathToFileURL(fromMercurius.resolve('quick-lru')).href
)) as { default: { prototype: object } };

/**
 * Which GraphQL documents mercurius has compiled with graphql-jit. mercurius keeps each
 * validated document in a quick-lru cache as `{ document, count, jit }` and sets `jit` when it
 * compiles; nothing public says whether a request ran compiled, so this watches what the cache
 * is given. Call before the app is built (the cache is created when mercurius registers).
 */
export function watchCompiledQueries(): { compiled(source: string): boolean } {
  // Every cache's entry for a text: the apps of one test process share the class.
  const entries = new Map<unknown, { jit?: unknown }[]>();
  const proto = QuickLRU.prototype as {
    set: (this: unknown, key: unknown, value: unknown, options?: unknown) => unknown;
  };
  const set = proto.set;
  proto.set = function (this: unknown, key: unknown, value: unknown, options?: unknown) {
    if (value && typeof value === 'object' && 'jit' in value) {
      entries.set(key, [...(entries.get(key) ?? []), value]);
    }
    return set.call(this, key, value, options);
  };
  return {
    compiled: (source) =>
      (entries.get(source) ?? []).some(({ jit }) => jit !== undefined && jit !== null),
  };
}
