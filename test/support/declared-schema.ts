import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** One column, as schema.ts declares it or as the database has it. */
export interface Column {
  table: string;
  column: string;
  /** schema.ts: the select type's kinds, e.g. `Date`, `bigint|number|string`; the database: data_type. */
  type: string;
  /** Undefined when the declared type can't say (unknown, any: a jsonb column). */
  nullable: boolean | undefined;
}

const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
const rowsFile = fileURLToPath(new URL('./schema-rows.ts', import.meta.url));

/**
 * The columns of the tables in src/platform/db/schema.ts, read with the TypeScript compiler
 * from SchemaRows (Kysely's Selectable of each table): the types are erased at run time, so the
 * checker is the one that knows them. ColumnType and Generated resolve as Kysely resolves them.
 */
export function declaredColumns(): Column[] {
  const configPath = ts.findConfigFile(
    projectRoot,
    (file) => ts.sys.fileExists(file),
    'tsconfig.json',
  )!;
  const config = ts.getParsedCommandLineOfConfigFile(
    configPath,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  )!;
  const program = ts.createProgram([rowsFile], { ...config.options, noEmit: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(rowsFile)!;
  const alias = source.statements.find(
    (s): s is ts.TypeAliasDeclaration =>
      ts.isTypeAliasDeclaration(s) && s.name.text === 'SchemaRows',
  )!;
  const rows = checker.getTypeAtLocation(alias.name);
  const columns: Column[] = [];
  for (const table of checker.getPropertiesOfType(rows)) {
    const tableType = checker.getTypeOfSymbolAtLocation(table, alias);
    for (const column of checker.getPropertiesOfType(tableType)) {
      const type = checker.getTypeOfSymbolAtLocation(column, alias);
      columns.push({ table: table.name, column: column.name, ...describe(type, checker) });
    }
  }
  return columns;
}

function describe(type: ts.Type, checker: ts.TypeChecker): Pick<Column, 'type' | 'nullable'> {
  if (type.flags & (ts.TypeFlags.Unknown | ts.TypeFlags.Any)) {
    return { type: 'unknown', nullable: undefined };
  }
  const parts = type.isUnion() ? type.types : [type];
  const nullable = parts.some((t) => t.flags & ts.TypeFlags.Null);
  const kinds = new Set(
    parts
      .filter((t) => !(t.flags & (ts.TypeFlags.Null | ts.TypeFlags.Undefined)))
      .map((t) => kind(t, checker)),
  );
  return { type: [...kinds].sort().join('|'), nullable };
}

function kind(type: ts.Type, checker: ts.TypeChecker): string {
  if (type.flags & ts.TypeFlags.StringLike) return 'string';
  if (type.flags & ts.TypeFlags.NumberLike) return 'number';
  if (type.flags & ts.TypeFlags.BigIntLike) return 'bigint';
  if (type.flags & ts.TypeFlags.BooleanLike) return 'boolean';
  const name = type.getSymbol()?.name;
  if (name === 'Date' || name === 'Uint8Array') return name;
  return checker.typeToString(type);
}

/** The TypeScript kinds schema.ts may declare for each PostgreSQL type the migrations use. */
const COMPATIBLE: Record<string, string[] | 'any'> = {
  uuid: ['string'],
  text: ['string'],
  tsvector: ['string'],
  integer: ['number'],
  smallint: ['number'],
  // pg returns int8 as a string, PGlite as a bigint; a number goes in.
  bigint: ['bigint|number|string'],
  boolean: ['boolean'],
  bytea: ['Uint8Array'],
  // Strings go in and out; a string is accepted too where a query compares with one.
  'timestamp with time zone': ['Date', 'Date|string'],
  jsonb: 'any',
};

/** Every difference: a column on one side only, a type that can't hold it, a nullability. */
export function schemaDrift(live: Column[], declared: Column[]): string[] {
  const key = (c: Column) => `${c.table}.${c.column}`;
  const liveByKey = new Map(live.map((c) => [key(c), c]));
  const declaredByKey = new Map(declared.map((c) => [key(c), c]));
  const problems: string[] = [];
  for (const [name, c] of liveByKey) {
    const d = declaredByKey.get(name);
    if (!d) {
      problems.push(
        `${name}: in the database (${c.type}${c.nullable ? ', null' : ''}), not in schema.ts`,
      );
      continue;
    }
    const compatible = COMPATIBLE[c.type];
    if (compatible === undefined) {
      problems.push(`${name}: ${c.type} in the database, a type this check does not know yet`);
    } else if (compatible !== 'any' && !compatible.includes(d.type)) {
      problems.push(
        `${name}: ${c.type} in the database, ${d.type} in schema.ts (expected ${compatible.join(' or ')})`,
      );
    }
    if (d.nullable !== undefined && d.nullable !== c.nullable) {
      problems.push(
        `${name}: ${c.nullable ? 'nullable' : 'not null'} in the database, ` +
          `${d.nullable ? 'nullable' : 'not nullable'} in schema.ts`,
      );
    }
  }
  for (const name of declaredByKey.keys()) {
    if (!liveByKey.has(name)) problems.push(`${name}: in schema.ts, not in the database`);
  }
  return problems.sort();
}
