import type { RawBuilder, SqlBool } from 'kysely';

/**
 * The single statement: a whole change (a transfer, a deposit, an order) written as ONE SQL
 * statement, a chain of data-modifying CTEs that PostgreSQL runs as its own implicit
 * transaction, so one round trip and one commit (docs/decisions/0001-one-statement-money-
 * movements.md). PostgreSQL-specific by design. The vocabulary:
 *
 * - **The statement**: the one that runs, owned and executed by one repository
 *   (`AccountsRepository.move`). It decides the outcome on the rows it locked.
 * - **A part** (`StatementPart`): a data-modifying sub-statement (an `INSERT … SELECT … WHERE`)
 *   that another repository writes to ride along in the statement as one more CTE: an order
 *   and its lines (`OrdersRepository.orderParts`), an outbox row (`OutboxRepository.insertPart`),
 *   an idempotency key with its response (`IdempotencyKeysRepository.insertPart`).
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
 * hand them on. Repositories wrap their SQL with `part`/`guard` and unwrap with `partSql`/
 * `guardSql`; the wrapping is a type-level brand only, so the SQL text is exactly the SQL.
 */

declare const partBrand: unique symbol;
declare const guardBrand: unique symbol;

/** A sub-statement of the single statement (opaque outside repositories). */
export interface StatementPart {
  readonly [partBrand]: 'StatementPart';
}

/** A condition over the single statement that a part runs under (opaque outside repositories). */
export interface Guard {
  readonly [guardBrand]: 'Guard';
}

/** The parts a service adds to the statement, chosen by the guards its owner offers. */
export type Companion<Guards> = (guards: Guards) => StatementPart | readonly StatementPart[];

/** For repositories: a data-modifying statement as a part of someone's single statement. */
export function part(statement: RawBuilder<unknown>): StatementPart {
  return statement as unknown as StatementPart;
}

/** For the repository that owns the statement: a condition over its CTEs as a guard. */
export function guard(condition: RawBuilder<SqlBool>): Guard {
  return condition as unknown as Guard;
}

/** For repositories: the SQL of a part, to embed. */
export function partSql(statementPart: StatementPart): RawBuilder<unknown> {
  return statementPart as unknown as RawBuilder<unknown>;
}

/** For repositories: the SQL of a guard, to embed in a part's WHERE. */
export function guardSql(condition: Guard): RawBuilder<SqlBool> {
  return condition as unknown as RawBuilder<SqlBool>;
}
