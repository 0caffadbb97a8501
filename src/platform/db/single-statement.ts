import { sql, type RawBuilder, type SqlBool } from 'kysely';

/**
 * The single statement: a whole change (a transfer, a deposit, an order) written as ONE SQL
 * statement, a chain of data-modifying CTEs that PostgreSQL runs as its own implicit
 * transaction, so one round trip and one commit (docs/decisions/0001-one-statement-money-
 * movements.md). PostgreSQL-specific by design. The vocabulary:
 *
 * - **The statement**: the one that runs, owned and executed by one repository
 *   (`AccountsRepository.move`). It decides the outcome on the rows it locked.
 * - **A part** (`StatementPart`): rows for one table that another repository adds to ride along
 *   in the statement, inserted only when its guard holds: an order and its lines
 *   (`OrdersRepository.orderParts`), an outbox row (`OutboxRepository.insertPart`), an
 *   idempotency key with its response (`IdempotencyKeysRepository.insertPart`). Alone, a part
 *   is one more CTE (`INSERT … SELECT … FROM jsonb_to_recordset(…) WHERE guard`); in a batch of
 *   movements (the group commit), the parts of every member for one table are ONE such CTE,
 *   each row under its own member's guard (`batchPartsSql`), so a batch's statement has a few
 *   CTEs to plan whatever its size.
 * - **A guard** (`Guard`): a condition over the statement's own CTEs that a part runs under,
 *   made by the statement's owner: for a movement, `allowed` (the money moved) or `refused`.
 * - **A companion** (`Companion`): what a service hands the statement: given the guards, the
 *   parts to add. Services build companions from repository methods and pass them along; they
 *   never see the SQL.
 * - **The claim** (`IdempotencyClaim`, src/platform/idempotency/idempotency.ts): a request's
 *   hold on its Idempotency-Key. Its companion part stores the key with the response in the
 *   statement, so the key exists exactly when the effect committed; when the statement finds
 *   the key taken (or is refused), the claim answers with the stored response.
 *
 * `StatementPart` and `Guard` are opaque outside the repositories: services hold them only to
 * hand them on. Repositories make them with `rowsPart`/`guard`; the statement's owner renders
 * them with `partsSql` (one statement) or `batchPartsSql` (a batch).
 */

declare const partBrand: unique symbol;
declare const guardBrand: unique symbol;

/** Rows for one table, added to someone's single statement (opaque outside repositories). */
export interface StatementPart {
  readonly [partBrand]: 'StatementPart';
}

/** A condition over the single statement that a part runs under (opaque outside repositories). */
export interface Guard {
  readonly [guardBrand]: 'Guard';
}

/** The parts a service adds to the statement, chosen by the guards its owner offers. */
export type Companion<Guards> = (guards: Guards) => StatementPart | readonly StatementPart[];

/** A column of a part's table and its SQL type, as jsonb_to_recordset reads it. */
export type Column = readonly [
  name: string,
  type: 'uuid' | 'text' | 'int' | 'bigint' | 'jsonb' | 'timestamptz',
];

/**
 * In a batch, the member whose outcome a guard asks for: the rows go in when member `member`'s
 * movement was allowed (`allowed: true`) or refused (`allowed: false`).
 */
export interface MemberOutcome {
  member: number;
  allowed: boolean;
}

interface GuardData {
  condition: RawBuilder<SqlBool>;
  outcome?: MemberOutcome;
}

interface PartData {
  table: string;
  columns: readonly Column[];
  rows: readonly Record<string, unknown>[];
  when: GuardData;
}

/**
 * For the repository that owns the statement: a condition over its CTEs as a guard; in a batch,
 * with the member outcome it stands for, so the batch can put many members' rows in one insert.
 */
export function guard(condition: RawBuilder<SqlBool>, outcome?: MemberOutcome): Guard {
  const data: GuardData = { condition, ...(outcome ? { outcome } : {}) };
  return data as unknown as Guard;
}

/**
 * For repositories: `rows` of `table`, each with a value (JSON: a Date as its ISO string) for
 * every one of `columns`, inserted when `when` holds.
 */
export function rowsPart(
  table: string,
  columns: readonly Column[],
  rows: readonly Record<string, unknown>[],
  when: Guard,
): StatementPart {
  const data: PartData = { table, columns, rows, when: when as unknown as GuardData };
  return data as unknown as StatementPart;
}

const names = (columns: readonly Column[]) => sql.join(columns.map(([name]) => sql.id(name)));
const definitions = (columns: readonly Column[]) =>
  sql.join(columns.map(([name, type]) => sql`${sql.id(name)} ${sql.raw(type)}`));

/** An `INSERT … SELECT` of `rows` (one jsonb parameter) into `table`, where `condition` holds. */
function insertRows(
  table: string,
  columns: readonly Column[],
  rows: readonly Record<string, unknown>[],
  condition: RawBuilder<SqlBool>,
  tags: RawBuilder<unknown>[] = [],
): RawBuilder<unknown> {
  return sql`
    INSERT INTO ${sql.id(table)} (${names(columns)})
    SELECT ${names(columns)}
      FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
        AS r(${sql.join([...tags, definitions(columns)])})
     WHERE ${condition}`;
}

/** Statements as CTEs to follow the owner's own: `, companion_0 AS (…), companion_1 AS (…)`. */
function asCtes(statements: RawBuilder<unknown>[]): RawBuilder<unknown> {
  const ctes = statements.map(
    (statement, i) => sql`, ${sql.id(`companion_${i}`)} AS (${statement})`,
  );
  return ctes.length > 0 ? sql.join(ctes, sql``) : sql``;
}

const alone = ({ table, columns, rows, when }: PartData) =>
  insertRows(table, columns, rows, when.condition);

/** For the statement's owner: the parts as its CTEs, each under its own guard. */
export function partsSql(parts: readonly StatementPart[]): RawBuilder<unknown> {
  return asCtes((parts as unknown as PartData[]).map(alone));
}

/**
 * For the owner of a batch statement: the parts of all its members as CTEs, one per table and
 * column list, each row tagged with its member's outcome and inserted when
 * `outcomeHolds(member, allowed)` does (an SQL condition over the batch's CTEs). A part whose
 * guard names no member outcome stays a CTE of its own.
 */
export function batchPartsSql(
  parts: readonly StatementPart[],
  outcomeHolds: (member: RawBuilder<number>, allowed: RawBuilder<boolean>) => RawBuilder<SqlBool>,
): RawBuilder<unknown> {
  const groups = new Map<string, PartData[]>();
  const single: PartData[] = [];
  for (const part of parts as unknown as PartData[]) {
    if (!part.when.outcome) {
      single.push(part);
      continue;
    }
    const key = JSON.stringify([part.table, part.columns]);
    const group = groups.get(key);
    if (group) group.push(part);
    else groups.set(key, [part]);
  }
  const merged = [...groups.values()].map((group) => {
    const { table, columns } = group[0]!;
    const rows = group.flatMap((part) =>
      part.rows.map((row) => ({
        ...row,
        member_n: part.when.outcome!.member,
        member_allowed: part.when.outcome!.allowed,
      })),
    );
    return insertRows(
      table,
      columns,
      rows,
      outcomeHolds(sql.ref('r.member_n'), sql.ref('r.member_allowed')),
      [sql`member_n int`, sql`member_allowed boolean`],
    );
  });
  return asCtes([...merged, ...single.map(alone)]);
}
