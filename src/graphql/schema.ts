import type { IResolvers, MercuriusLoaders } from 'mercurius';
import type { GraphqlModule } from './module.js';
import { DateTime, MinorUnits, scalarTypeDefs } from './scalars.js';

const rootTypeDefs = `
  type Query
  type Mutation
`;

/** Merges two maps of maps (type → field → resolver or loader), refusing a field defined twice. */
function mergeByType<T extends object>(into: Record<string, T>, from: Record<string, T>) {
  for (const [type, fields] of Object.entries(from)) {
    const existing = into[type];
    if (!existing) {
      into[type] = { ...fields };
      continue;
    }
    for (const field of Object.keys(fields)) {
      if (field in existing) throw new Error(`GraphQL field ${type}.${field} is defined twice`);
    }
    Object.assign(existing, fields);
  }
}

/** The one schema: the root types and scalars, then what every module extends them with. */
export function assembleSchema(modules: GraphqlModule[]) {
  const resolvers: IResolvers = { DateTime, MinorUnits };
  const loaders: MercuriusLoaders = {};
  for (const module of modules) {
    mergeByType(resolvers as Record<string, object>, module.resolvers as Record<string, object>);
    if (module.loaders) mergeByType(loaders, module.loaders);
  }
  return {
    schema: [rootTypeDefs, scalarTypeDefs, ...modules.map((m) => m.typeDefs)],
    resolvers,
    loaders,
  };
}
