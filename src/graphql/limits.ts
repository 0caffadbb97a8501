import {
  getArgumentValues,
  getNamedType,
  getNullableType,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  type ASTVisitor,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import type { ErrorCode } from '../platform/errors.js';

/**
 * Limits on what one operation may ask for, checked before any resolver runs.
 *
 * Every field counts, meta-fields included: `__typename` is an ordinary leaf to the depth and
 * the cost, and an alias is an alias whatever it names. `__schema` and `__type` (reachable only
 * with GRAPHQL_INTROSPECTION on) are measured as walks of the schema rather than field by field,
 * since what they return is the schema's size, not the document's:
 *
 * - depth: their subtrees don't count (GraphiQL's own query is 15 deep, `ofType` in `ofType`);
 *   graphql-js' MaxIntrospectionDepthRule bounds how deep `fields` may nest there;
 * - cost: each costs GRAPHQL_INTROSPECTION_COST per walk. An alias inside repeats a walk (or
 *   part of one), so each adds a walk; and lists may nest three deep (`types { fields { args } }`,
 *   as `getIntrospectionQuery()` asks), each list level beyond multiplying by DEFAULT_LIST_SIZE,
 *   as `type { fields { type { fields … } } }` re-enters the schema at every step. So GraphiQL's
 *   query costs 1000 under the defaults, and 20 aliased copies of it cost 20 000.
 *
 * The cost is that of the operation that runs (the request's `operationName`), with the
 * variables as execution will see them: coerced, their defaults filled in.
 *
 * Fragments are measured once each and reused, so a document that spreads fragments into
 * fragments costs linear time to measure, however large it claims to expand.
 */

export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  maxCost: number;
  introspectionCost: number;
}

/** The size assumed for a list field without a `limit` argument (accounts, order lines). */
export const DEFAULT_LIST_SIZE = 10;

/** How deep lists nest inside `__schema`/`__type` before each level multiplies the cost. */
export const INTROSPECTION_LIST_DEPTH = 3;

const walksSchema = (name: string) => name === '__schema' || name === '__type';

function limitError(code: ErrorCode, message: string, details: object) {
  return new GraphQLError(message, { extensions: { code, details } });
}

/**
 * Several document errors at once; the error formatter reads `errors` as it reads those of
 * mercurius' own validation failure.
 */
class DocumentErrors extends Error {
  constructor(readonly errors: readonly GraphQLError[]) {
    super(errors[0]?.message ?? 'Invalid request');
  }
}

type Fragments = (name: string) => FragmentDefinitionNode | undefined;

/** Walks a selection set, adding up a measure per field and reusing each fragment's. */
function measurer(
  fragments: Fragments,
  field: (node: FieldNode, inner: () => number) => number,
  combine: (a: number, b: number) => number,
) {
  const memo = new Map<string, number>();
  const measure = (set: SelectionSetNode | undefined): number => {
    let total = 0;
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        total = combine(
          total,
          field(selection, () => measure(selection.selectionSet)),
        );
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        total = combine(total, measure(selection.selectionSet));
      } else {
        const name = selection.name.value;
        if (!memo.has(name)) {
          // A cycle measures as nothing here; NoFragmentCyclesRule refuses the document anyway.
          memo.set(name, 0);
          memo.set(name, measure(fragments(name)?.selectionSet));
        }
        total = combine(total, memo.get(name)!);
      }
    }
    return total;
  };
  return measure;
}

/** A validation rule: the depth and alias limits, static properties of the document. */
export function depthAndAliasRule({
  maxDepth,
  maxAliases,
}: Pick<QueryLimits, 'maxDepth' | 'maxAliases'>) {
  return (context: ValidationContext): ASTVisitor => {
    const fragments: Fragments = (name) => context.getFragment(name) ?? undefined;
    const depthOf = measurer(
      fragments,
      (node, inner) => (walksSchema(node.name.value) ? 0 : 1 + inner()),
      Math.max,
    );
    const aliasesOf = measurer(
      fragments,
      (node, inner) => (node.alias ? 1 : 0) + inner(),
      (a, b) => a + b,
    );
    return {
      OperationDefinition(operation) {
        const depth = depthOf(operation.selectionSet);
        if (depth > maxDepth) {
          context.reportError(
            limitError('QUERY_TOO_DEEP', `Query depth ${depth} exceeds the limit of ${maxDepth}`, {
              depth,
              limit: maxDepth,
            }),
          );
        }
        const aliases = aliasesOf(operation.selectionSet);
        if (aliases > maxAliases) {
          context.reportError(
            limitError(
              'TOO_MANY_ALIASES',
              `Query uses ${aliases} aliases; the limit is ${maxAliases}`,
              { aliases, limit: maxAliases },
            ),
          );
        }
      },
    };
  };
}

function fieldsOf(
  type: GraphQLNamedType | undefined,
): Record<string, GraphQLField<unknown, unknown>> {
  return type && (isObjectType(type) || isInterfaceType(type)) ? type.getFields() : {};
}

const isList = (field: GraphQLField<unknown, unknown>) => isListType(getNullableType(field.type));

interface Walk {
  aliases: number;
  lists: number;
}

/**
 * What an operation costs: every field counts 1, and a list field multiplies what is selected
 * under it by its `limit` argument (from the literal or the variables), or by DEFAULT_LIST_SIZE
 * when it has none. `users(limit: 20) { posts { title } }` with the default 10 posts per user
 * costs 1 + 20 × (1 + 10 × 1) = 221. `__schema` and `__type` cost as the module comment says.
 * The variables are the coerced ones, as execution sees them.
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
  introspectionCost: number,
): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION)
      fragments.set(definition.name.value, definition);
  }
  const typeOf = (name: string) => schema.getType(name) ?? undefined;
  const fragmentType = (fragment: FragmentDefinitionNode | undefined) =>
    fragment && typeOf(fragment.typeCondition.name.value);

  const walkMemo = new Map<string, Walk>();
  const walkOf = (
    set: SelectionSetNode | undefined,
    parent: GraphQLNamedType | undefined,
  ): Walk => {
    const walk: Walk = { aliases: 0, lists: 0 };
    const add = (inner: Walk, aliases: number, lists: number) => {
      walk.aliases += aliases + inner.aliases;
      walk.lists = Math.max(walk.lists, lists + inner.lists);
    };
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        const definition = fieldsOf(parent)[selection.name.value];
        const inner = walkOf(selection.selectionSet, definition && getNamedType(definition.type));
        add(inner, selection.alias ? 1 : 0, definition && isList(definition) ? 1 : 0);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? typeOf(selection.typeCondition.name.value) : parent;
        add(walkOf(selection.selectionSet, type), 0, 0);
      } else {
        const name = selection.name.value;
        if (!walkMemo.has(name)) {
          const fragment = fragments.get(name);
          walkMemo.set(name, { aliases: 0, lists: 0 });
          walkMemo.set(name, walkOf(fragment?.selectionSet, fragmentType(fragment)));
        }
        add(walkMemo.get(name)!, 0, 0);
      }
    }
    return walk;
  };
  const schemaWalkCost = (node: FieldNode) => {
    const root = node.name.value === '__schema' ? SchemaMetaFieldDef : TypeMetaFieldDef;
    const { aliases, lists } = walkOf(node.selectionSet, getNamedType(root.type));
    const nesting = DEFAULT_LIST_SIZE ** Math.max(0, lists - INTROSPECTION_LIST_DEPTH);
    return introspectionCost * (1 + aliases) * nesting;
  };

  const memo = new Map<string, number>();
  const costOf = (
    set: SelectionSetNode | undefined,
    parent: GraphQLNamedType | undefined,
  ): number => {
    let total = 0;
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (name === '__typename') {
          total += 1;
          continue;
        }
        if (walksSchema(name)) {
          total += schemaWalkCost(selection);
          continue;
        }
        // An unknown field never gets here: validation refused the document.
        const definition = fieldsOf(parent)[name];
        if (!definition) continue;
        const inner = costOf(selection.selectionSet, getNamedType(definition.type));
        const limit = getArgumentValues(definition, selection, variables).limit;
        // A negative limit is refused when the field resolves; it mustn't pay for the rest.
        const size = isList(definition)
          ? typeof limit === 'number'
            ? Math.max(0, limit)
            : DEFAULT_LIST_SIZE
          : 1;
        total += 1 + size * inner;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? typeOf(selection.typeCondition.name.value) : parent;
        total += costOf(selection.selectionSet, type);
      } else {
        const name = selection.name.value;
        if (!memo.has(name)) {
          const fragment = fragments.get(name);
          memo.set(name, 0);
          memo.set(name, costOf(fragment?.selectionSet, fragmentType(fragment)));
        }
        total += memo.get(name)!;
      }
    }
    return total;
  };
  return costOf(operation.selectionSet, schema.getRootType(operation.operation) ?? undefined);
}

/** The operation a request runs, as graphql-js' execute picks it. */
export function selectOperation(
  document: DocumentNode,
  operationName: string | undefined,
): OperationDefinitionNode {
  const operation = getOperationAST(document, operationName);
  if (operation) return operation;
  throw new GraphQLError(
    operationName === undefined
      ? 'Must provide operation name if query contains multiple operations.'
      : `Unknown operation named "${operationName}".`,
  );
}

/**
 * Refuses, before execution, an operation whose variables don't coerce (with graphql-js'
 * errors, as execution would report them) or whose cost is over the limit. The variables are
 * coerced here rather than trusted to mercurius, which skips its own check on the request that
 * compiles a query with JIT.
 */
export function checkCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  request: { operationName: string | undefined; variables: unknown },
  { maxCost, introspectionCost }: Pick<QueryLimits, 'maxCost' | 'introspectionCost'>,
): void {
  const operation = selectOperation(document, request.operationName);
  const raw = request.variables ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new GraphQLError('Variables must be an object');
  }
  const coerced = getVariableValues(
    schema,
    operation.variableDefinitions ?? [],
    raw as Record<string, unknown>,
  );
  if (coerced.errors) throw new DocumentErrors(coerced.errors);
  const cost = operationCost(schema, document, operation, coerced.coerced, introspectionCost);
  if (cost > maxCost) {
    throw limitError('QUERY_TOO_COMPLEX', `Query cost ${cost} exceeds the limit of ${maxCost}`, {
      cost,
      limit: maxCost,
    });
  }
}
