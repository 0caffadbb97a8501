import { sql, type Selectable } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import {
  rowsPart,
  type Column,
  type Guard,
  type StatementPart,
} from '../../platform/db/single-statement.js';
import type { OrdersTable, OrderStatus } from '../../platform/db/schema.js';
import type { Tx } from '../../platform/db/transaction.js';
import type { OrderLine } from './pricing.js';

export interface Order {
  id: string;
  userId: string | null;
  status: OrderStatus;
  items: OrderLine[];
  total: number;
  currency: string;
  paymentId: string | null;
  refundId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const orderColumns = [
  'id',
  'user_id',
  'status',
  'total_minor',
  'currency',
  'payment_entry_id',
  'refund_entry_id',
  'created_at',
  'updated_at',
] as const;

type OrderRow = Pick<Selectable<OrdersTable>, (typeof orderColumns)[number]>;

function toOrder(row: OrderRow, items: OrderLine[]): Order {
  return {
    id: row.id,
    userId: row.user_id,
    status: row.status,
    items,
    total: Number(row.total_minor),
    currency: row.currency,
    paymentId: row.payment_entry_id,
    refundId: row.refund_entry_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * PostgreSQL-specific, not storage-neutral: domain objects in and out, but `orderParts` hands
 * out SQL (opaque `StatementPart`s, jsonb_to_recordset) for the ledger's single statement.
 */
const ORDER_COLUMNS: Column[] = [
  ['id', 'uuid'],
  ['user_id', 'uuid'],
  ['status', 'text'],
  ['payment_entry_id', 'uuid'],
  ['total_minor', 'bigint'],
  ['currency', 'text'],
  ['created_at', 'timestamptz'],
  ['updated_at', 'timestamptz'],
];
const LINE_COLUMNS: Column[] = [
  ['order_id', 'uuid'],
  ['position', 'int'],
  ['product_id', 'uuid'],
  ['name', 'text'],
  ['unit_price_minor', 'bigint'],
  ['quantity', 'int'],
  ['line_total_minor', 'bigint'],
];

export class OrdersRepository {
  constructor(private readonly db: Database) {}

  /**
   * The order's and its lines' rows, as parts of the single statement that also pays for it
   * (platform/db/single-statement.ts): under the guard `paid` the order is `paid`, with its
   * payment's journal row; under `refused` it is `payment_failed`. The times are the caller's,
   * so it knows the order it answers with before the statement runs.
   */
  orderParts(
    order: {
      id: string;
      userId: string;
      paymentId: string | null;
      total: number;
      currency: string;
      lines: OrderLine[];
      createdAt: Date;
    },
    when: { paid: Guard; refused: Guard },
  ): StatementPart[] {
    const row = (status: OrderStatus, paymentId: string | null) => ({
      id: order.id,
      user_id: order.userId,
      status,
      payment_entry_id: paymentId,
      total_minor: order.total,
      currency: order.currency,
      created_at: order.createdAt,
      updated_at: order.createdAt,
    });
    const lines = order.lines.map((line, position) => ({
      order_id: order.id,
      position,
      product_id: line.productId,
      name: line.name,
      unit_price_minor: line.unitPrice,
      quantity: line.quantity,
      line_total_minor: line.lineTotal,
    }));
    return [
      rowsPart('orders', ORDER_COLUMNS, [row('paid', order.paymentId)], when.paid),
      rowsPart('orders', ORDER_COLUMNS, [row('payment_failed', null)], when.refused),
      rowsPart('order_items', LINE_COLUMNS, lines, when.paid),
      rowsPart('order_items', LINE_COLUMNS, lines, when.refused),
    ];
  }

  async setStatus(
    tx: Tx,
    order: Order,
    status: OrderStatus,
    entries: { paymentId?: string; refundId?: string } = {},
  ): Promise<Order> {
    const row = await tx
      .updateTable('orders')
      .set({
        status,
        ...(entries.paymentId ? { payment_entry_id: entries.paymentId } : {}),
        ...(entries.refundId ? { refund_entry_id: entries.refundId } : {}),
        updated_at: sql`now()`,
      })
      .where('id', '=', order.id)
      .returning(orderColumns)
      .executeTakeFirstOrThrow();
    return toOrder(row, order.items);
  }

  /** With `lock`, the row stays locked until the transaction ends (a cancellation). */
  async findById(id: string, tx: Tx | Database = this.db, lock = false) {
    let query = tx.selectFrom('orders').select(orderColumns).where('id', '=', id);
    if (lock) query = query.forUpdate();
    const row = await query.executeTakeFirst();
    if (!row) return undefined;
    const items = await this.itemsOf([row.id], tx);
    return toOrder(row, items.get(row.id) ?? []);
  }

  /** A user's orders, newest first, from orders_user_created_idx; their lines in one query. */
  async listByUser(userId: string, offset: number, limit: number) {
    const rows = await this.db
      .selectFrom('orders')
      .select([...orderColumns, sql<number>`(count(*) over ())::int`.as('total_count')])
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .offset(offset)
      .limit(limit)
      .execute();
    let totalCount = rows[0]?.total_count;
    totalCount ??= offset > 0 ? await this.countByUser(userId) : 0;
    const items = await this.itemsOf(
      rows.map((row) => row.id),
      this.db,
    );
    return { items: rows.map((row) => toOrder(row, items.get(row.id) ?? [])), totalCount };
  }

  private async countByUser(userId: string): Promise<number> {
    const row = await this.db
      .selectFrom('orders')
      .select(sql<number>`count(*)::int`.as('n'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return row.n;
  }

  private async itemsOf(orderIds: string[], tx: Tx | Database) {
    const byOrder = new Map<string, OrderLine[]>();
    if (orderIds.length === 0) return byOrder;
    const rows = await tx
      .selectFrom('order_items')
      .select([
        'order_id',
        'product_id',
        'name',
        'unit_price_minor',
        'quantity',
        'line_total_minor',
      ])
      .where('order_id', 'in', orderIds)
      .orderBy('order_id')
      .orderBy('position')
      .execute();
    for (const row of rows) {
      const lines = byOrder.get(row.order_id) ?? [];
      lines.push({
        productId: row.product_id,
        name: row.name,
        unitPrice: Number(row.unit_price_minor),
        quantity: row.quantity,
        lineTotal: Number(row.line_total_minor),
      });
      byOrder.set(row.order_id, lines);
    }
    return byOrder;
  }
}
