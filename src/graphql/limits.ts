import {
  getArgumentValues,
  getNamedType,
  getNullableType,
  GraphQLError,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type ASTVisitor,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLNamedType,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';

/**
 * Limits on what one operation may ask for, checked before any resolver runs. Introspection
 * fields (`__schema`, `__type`, `__typename`) don't count: their size is the schema's, and
 * introspection itself is switched off in production (GRAPHQL_INTROSPECTION).
 *
 * Fragments are measured once each and reused, so a document that spreads fragments into
 * fragments costs linear time to measure, however large it claims to expand.
 */

export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  maxCost: number;
}

/** The size assumed for a list field without a `limit` argument (accounts, order lines). */
export const DEFAULT_LIST_SIZE = 10;

const isIntrospection = (name: string) => name.startsWith('__');

function limitError(code: string, message: string, details: object) {
  return new GraphQLError(message, { extensions: { code, details } });
}

type Fragments = (name: string) => FragmentDefinitionNode | undefined;

/** Walks a selection set, adding up a measure per field and reusing each fragment's. */
function measurer(
  fragments: Fragments,
  field: (name: string, alias: boolean, inner: number) => number,
  combine: (a: number, b: number) => number,
) {
  const memo = new Map<string, number>();
  const measure = (set: SelectionSetNode | undefined): number => {
    let total = 0;
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (isIntrospection(name)) continue;
        total = combine(total, field(name, !!selection.alias, measure(selection.selectionSet)));
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
export function depthAndAliasRule({ maxDepth, maxAliases }: QueryLimits) {
  return (context: ValidationContext): ASTVisitor => {
    const fragments: Fragments = (name) => context.getFragment(name) ?? undefined;
    const depthOf = measurer(fragments, (_n, _a, inner) => 1 + inner, Math.max);
    const aliasesOf = measurer(
      fragments,
      (_n, alias, inner) => (alias ? 1 : 0) + inner,
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

function fieldsOf(type: GraphQLNamedType | undefined) {
  return type && (isObjectType(type) || isInterfaceType(type)) ? type.getFields() : {};
}

/**
 * What an operation may cost: every field counts 1, and a list field multiplies what is
 * selected under it by its `limit` argument (from the literal or the variables), or by
 * DEFAULT_LIST_SIZE when it has none. `users(limit: 20) { posts { title } }` with the default
 * 10 posts per user costs 1 + 20 × (1 + 10 × 1) = 221. The highest cost of the document's
 * operations is returned, since the hook that calls this is not told which one will run.
 */
export function queryCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> = {},
): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION)
      fragments.set(definition.name.value, definition);
  }
  const memo = new Map<string, number>();
  const costOf = (
    set: SelectionSetNode | undefined,
    parent: GraphQLNamedType | undefined,
  ): number => {
    let total = 0;
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        const definition = fieldsOf(parent)[selection.name.value];
        if (!definition || isIntrospection(selection.name.value)) continue;
        const inner = costOf(selection.selectionSet, getNamedType(definition.type));
        const limit = getArgumentValues(definition, selection, variables).limit;
        const size = isListType(getNullableType(definition.type))
          ? typeof limit === 'number'
            ? limit
            : DEFAULT_LIST_SIZE
          : 1;
        total += 1 + size * inner;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition
          ? schema.getType(selection.typeCondition.name.value)
          : parent;
        total += costOf(selection.selectionSet, type);
      } else {
        const name = selection.name.value;
        if (!memo.has(name)) {
          const fragment = fragments.get(name);
          memo.set(name, 0);
          memo.set(
            name,
            costOf(
              fragment?.selectionSet,
              fragment && schema.getType(fragment.typeCondition.name.value),
            ),
          );
        }
        total += memo.get(name)!;
      }
    }
    return total;
  };
  let highest = 0;
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    const root = schema.getRootType(definition.operation) ?? undefined;
    highest = Math.max(highest, costOf(definition.selectionSet, root));
  }
  return highest;
}

/** Refuses an operation over the cost limit; a preExecution hook, so variables are known. */
export function checkCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  maxCost: number,
): void {
  const cost = queryCost(schema, document, variables);
  if (cost > maxCost) {
    throw limitError('QUERY_TOO_COMPLEX', `Query cost ${cost} exceeds the limit of ${maxCost}`, {
      cost,
      limit: maxCost,
    });
  }
}
