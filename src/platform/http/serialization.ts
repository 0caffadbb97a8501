import { createRequire } from 'node:module';
import type { FastifyServerOptions } from 'fastify';

type SerializerFactory = NonNullable<
  NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']
>['buildSerializer'];
type Factory = NonNullable<SerializerFactory>;

// Fastify's own serializer compiler, resolved from Fastify's folder: the one it uses by default.
const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));
const defaultFactory = (fromFastify('@fastify/fast-json-stringify-compiler') as { (): Factory })();

/**
 * Fastify's response serializers, each compiled by the first response that needs it rather
 * than at start-up, where compiling every route's took a tenth of the start. What a serializer
 * writes is the same: the compiler and its options are Fastify's own.
 */
export const lazySerializerFactory: Factory = (externalSchemas, options) => {
  const compile = defaultFactory(externalSchemas, options);
  return (route) => {
    let serialize: ((data: unknown) => string) | undefined;
    return (data: unknown) => {
      serialize ??= compile(route);
      return serialize(data);
    };
  };
};
