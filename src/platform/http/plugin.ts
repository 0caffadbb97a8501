import type { FastifyPluginAsync, FastifyPluginOptions } from 'fastify';
import fp from 'fastify-plugin';

export interface PluginMeta {
  /** How other plugins name this one in their `dependencies`. */
  name: string;
  /** Plugins that must be registered before this one; Fastify refuses to start otherwise. */
  dependencies?: string[];
  /** Decorators that must exist before this one is registered (`request: ['actor']`). */
  decorators?: { fastify?: string[]; request?: string[]; reply?: string[] };
}

/**
 * A named plugin (fastify-plugin) whose hooks and decorators belong to the instance that
 * registers it, not to a scope of its own, with what it needs registered first. Fastify checks
 * the `dependencies` and `decorators` when the plugin is registered and stops start-up with
 * FST_ERR_PLUGIN_NOT_PRESENT_IN_INSTANCE (or a missing-decorator error) when one is missing:
 * the order of the cross-cutting hooks is declared here, not kept by a comment.
 */
export function namedPlugin<Options extends FastifyPluginOptions = Record<never, never>>(
  plugin: FastifyPluginAsync<Options>,
  meta: PluginMeta,
): FastifyPluginAsync<Options> {
  return fp(plugin, { fastify: '5.x', ...meta });
}
