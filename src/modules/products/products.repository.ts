import { sql, type Selectable } from 'kysely';
import { PREPARED, type Database } from '../../platform/db/database.js';
import type { ProductsTable } from '../../platform/db/schema.js';
import type { Tx } from '../../platform/db/transaction.js';
import type { ProductSort } from './products.types.js';

export interface Product {
  id: string;
  name: string;
  description: string;
  /** Integer minor units of `currency`. */
  priceMinor: number;
  currency: string;
  active: boolean;
  /** Incremented by every update; orders the write-through cache's writes and is the ETag. */
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** What a new row needs; the database sets the version and the timestamps. */
export type NewProduct = Omit<Product, 'version' | 'createdAt' | 'updatedAt'>;

export type ProductChanges = Partial<Omit<NewProduct, 'id'>>;

export interface ListProductsOptions {
  offset: number;
  limit: number;
  sort: ProductSort;
  /** false: active products only (the public catalogue). */
  includeInactive: boolean;
}

/**
 * Storage-neutral interface: plain domain objects in and out; a `Tx` only joins the caller's
 * transaction. PostgresProductsRepository is its PostgreSQL implementation.
 */
export interface ProductsRepository {
  findById(id: string): Promise<Product | undefined>;
  /** The rows with these ids as the given transaction sees them; unknown ids are left out. */
  /** Read with `tx`, or outside any transaction when it is null. */
  findByIds(ids: readonly string[], tx: Tx | null): Promise<Product[]>;
  list(options: ListProductsOptions): Promise<{ items: Product[]; totalCount: number }>;
  create(product: NewProduct): Promise<Product>;
  /** The updated row (version + 1), or undefined for an unknown id. */
  update(id: string, changes: ProductChanges): Promise<Product | undefined>;
}

const columns = [
  'id',
  'name',
  'description',
  'price_minor',
  'currency',
  'active',
  'version',
  'created_at',
  'updated_at',
] as const;

function toProduct(row: Pick<Selectable<ProductsTable>, (typeof columns)[number]>): Product {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    // Safe as a number: the CHECK bounds it far below 2^53.
    priceMinor: Number(row.price_minor),
    currency: row.currency,
    active: row.active,
    version: Number(row.version),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const sortColumns = { createdAt: 'created_at', price: 'price_minor', name: 'name' } as const;

export class PostgresProductsRepository implements ProductsRepository {
  constructor(private readonly db: Database) {}

  async findById(id: string) {
    const row = await this.db
      .selectFrom('products')
      .select(columns)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toProduct(row);
  }

  /** Every order reads its prices here: one text whatever the number of ids, so prepared. */
  async findByIds(ids: readonly string[], tx: Tx | null) {
    if (ids.length === 0) return [];
    const { rows } = await sql<
      Pick<Selectable<ProductsTable>, (typeof columns)[number]>
    >`${sql.raw(PREPARED)}
      SELECT ${sql.join(columns.map((column) => sql.ref(column)))}
        FROM products WHERE id = ANY(${[...ids]}::uuid[]) ORDER BY id`.execute(tx ?? this.db);
    return rows.map(toProduct);
  }

  async list({ offset, limit, sort, includeInactive }: ListProductsOptions) {
    const direction = sort.startsWith('-') ? 'desc' : 'asc';
    const column = sortColumns[sort.replace('-', '') as keyof typeof sortColumns];
    // The page and the total in one statement: count(*) over () is computed before LIMIT.
    let query = this.db
      .selectFrom('products')
      .select([...columns, sql<number>`(count(*) over ())::int`.as('total_count')])
      .orderBy(column, direction)
      .orderBy('id', direction)
      .offset(offset)
      .limit(limit);
    if (!includeInactive) query = query.where('active', '=', true);
    const rows = await query.execute();
    let totalCount = rows[0]?.total_count ?? 0;
    // A page past the end has no rows to carry the total: count on its own.
    if (rows.length === 0 && offset > 0) {
      let countQuery = this.db.selectFrom('products').select(sql<number>`count(*)::int`.as('n'));
      if (!includeInactive) countQuery = countQuery.where('active', '=', true);
      totalCount = (await countQuery.executeTakeFirstOrThrow()).n;
    }
    return { items: rows.map(toProduct), totalCount };
  }

  async create(product: NewProduct) {
    const row = await this.db
      .insertInto('products')
      .values({
        id: product.id,
        name: product.name,
        description: product.description,
        price_minor: product.priceMinor,
        currency: product.currency,
        active: product.active,
      })
      .returning(columns)
      .executeTakeFirstOrThrow();
    return toProduct(row);
  }

  async update(id: string, changes: ProductChanges) {
    const { priceMinor, ...fields } = changes;
    const row = await this.db
      .updateTable('products')
      .set({
        ...fields,
        ...(priceMinor === undefined ? {} : { price_minor: priceMinor }),
        version: sql`version + 1`,
        updated_at: sql`now()`,
      })
      .where('id', '=', id)
      .returning(columns)
      .executeTakeFirst();
    return row && toProduct(row);
  }
}
