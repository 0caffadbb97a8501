import { v7 as uuidv7 } from 'uuid';
import type { Actor } from '../../platform/auth/actor.js';
import { can, requireUser } from '../../platform/auth/permissions.js';
import type { Database } from '../../platform/db/database.js';
import { withTransaction, type Tx } from '../../platform/db/transaction.js';
import { ConflictError, NotFoundError, UnprocessableError } from '../../platform/errors.js';
import { offsetOf, type Page, type PageRequest } from '../../platform/paging.js';
import { runWithClaim, type IdempotencyClaim } from '../../platform/idempotency/idempotency.js';
import type { AfterCommit, JobScheduler } from '../../platform/jobs/job.js';
import type {
  AccountsService,
  MovementCompanion,
  MovementGuards,
} from '../accounts/accounts.service.js';
import type { UsersService } from '../users/users.service.js';
import type { OrdersJobPayloads } from './orders.jobs.js';
import type { Order, OrdersRepository } from './orders.repository.js';
import type { PlaceOrderInput } from './orders.schemas.js';
import { priceOrder, type OrderLine, type PricedProduct } from './pricing.js';

/** Serialization failures and deadlocks are retried this often before the client gets 503. */
const RETRIES = 3;

/** What orders need of the catalogue: prices as committed when read, just before the order. */
export interface ProductPricing {
  priceItems(tx: Tx | null, productIds: readonly string[]): Promise<Map<string, PricedProduct>>;
}

/** An order priced, before it is paid: its lines and total, who pays whom, its ids. */
interface Priced {
  id: string;
  user: { id: string; email: string; name: string };
  walletId: string;
  merchantId: string;
  lines: OrderLine[];
  total: number;
  currency: string;
  /** Null for a free order: nothing moves, no journal row. */
  paymentId: string | null;
  createdAt: Date;
}

/** The order's share of the payment's single statement, and the answer for either outcome. */
interface OrderStatement {
  companions: MovementCompanion[];
  paid: Order;
  failed: Order;
  /** Wakes the relay for the confirmation email; call after a committed, paid order. */
  afterPaid: () => void;
}

/** The order as the statement records it, with the status its outcome gives it. */
function placed(priced: Priced, status: 'paid' | 'payment_failed'): Order {
  return {
    id: priced.id,
    userId: priced.user.id,
    status,
    items: priced.lines,
    total: priced.total,
    currency: priced.currency,
    paymentId: status === 'paid' ? priced.paymentId : null,
    refundId: null,
    createdAt: priced.createdAt,
    updatedAt: priced.createdAt,
  };
}

/**
 * The catalogue's OrderService. A user orders for themselves; `write:orders` orders and cancels
 * for anyone, `read:orders` reads anyone's. Others' orders are 404, never 403.
 */
export class OrdersService {
  constructor(
    private readonly db: Database,
    private readonly orders: OrdersRepository,
    private readonly accounts: AccountsService,
    private readonly products: ProductPricing,
    private readonly users: UsersService,
    private readonly jobs: JobScheduler<OrdersJobPayloads>,
  ) {}

  /**
   * Prices the items from the catalogue, charges the user's wallet to the merchant and records
   * the order `paid` with its confirmation email in the outbox, or, without the funds, records
   * it `payment_failed` and moves nothing: the charge, the order, its lines, the email and the
   * idempotency key are the single statement (AccountsService.payWith), so one commit. The
   * order is never seen `pending`: its status is decided by that statement, which locks the
   * wallet and the merchant in id order and holds them only until it commits.
   */
  async placeOrder(
    actor: Actor,
    userId: string,
    input: PlaceOrderInput,
    claim?: IdempotencyClaim<Order>,
  ): Promise<Order> {
    this.assertMay(actor, userId, 'write:orders');
    this.accounts.assertMayMoveMoney(actor);
    const priced = await this.price(actor, userId, input);
    const statement = this.orderStatement(actor, priced, claim);
    return this.pay(priced, statement, claim);
  }

  /** Pricing: the lines and total at catalogue prices, who pays whom, and the order's ids. */
  private async price(actor: Actor, userId: string, input: PlaceOrderInput): Promise<Priced> {
    const currency = this.accounts.currency;
    const [user, catalogue, { walletId, merchantId }] = await Promise.all([
      this.users.getUser(actor, userId),
      this.products.priceItems(
        null,
        input.items.map((item) => item.productId),
      ),
      this.accounts.paymentAccounts(userId),
    ]);
    const { lines, total } = priceOrder(input.items, catalogue, currency);
    if (!walletId) throw new UnprocessableError('The user has no wallet', 'NO_WALLET');
    if (!merchantId) {
      throw new UnprocessableError(`No merchant takes ${currency}`, 'UNSUPPORTED_CURRENCY');
    }
    return {
      id: uuidv7(),
      user: { id: userId, email: user.email, name: user.name },
      walletId,
      merchantId,
      lines,
      total,
      currency,
      paymentId: total > 0 ? uuidv7() : null,
      createdAt: new Date(),
    };
  }

  /**
   * Statement building: what the order adds to the payment's single statement (the order and
   * its lines, the confirmation email, the claim's key with either answer), and both answers.
   */
  private orderStatement(
    actor: Actor,
    priced: Priced,
    claim: IdempotencyClaim<Order> | undefined,
  ): OrderStatement {
    const { id, user, lines, total, currency, paymentId, createdAt } = priced;
    const [paid, failed] = [placed(priced, 'paid'), placed(priced, 'payment_failed')];
    const email = { orderId: id, email: user.email, name: user.name, lines, total, currency };
    let wakeRelay: AfterCommit | undefined;
    const order = { id, userId: user.id, paymentId, total, currency, lines, createdAt };
    const companions: MovementCompanion[] = [
      ({ allowed, refused }) => this.orders.orderParts(order, { paid: allowed, refused }),
      ({ allowed }) => {
        const job = this.jobs.schedulePart(allowed, 'email.order-confirmation', email, {
          requestId: actor.requestId,
        });
        wakeRelay = job.afterCommit;
        return job.part;
      },
      ...(claim
        ? [
            ({ allowed }: MovementGuards) => claim.keyPart(paid, allowed),
            ({ refused }: MovementGuards) => claim.keyPart(failed, refused),
          ]
        : []),
    ];
    return { companions, paid, failed, afterPaid: () => wakeRelay?.() };
  }

  /** Payment: the single statement; its outcome picks the answer. */
  private async pay(
    priced: Priced,
    statement: OrderStatement,
    claim: IdempotencyClaim<Order> | undefined,
  ): Promise<Order> {
    const payment = {
      id: priced.paymentId ?? uuidv7(),
      kind: 'payment' as const,
      fromAccountId: priced.walletId,
      toAccountId: priced.merchantId,
      amount: priced.total,
      currency: priced.currency,
      reference: `order ${priced.id}`,
      createdAt: priced.createdAt,
    };
    const wasPaid = await runWithClaim(claim, () =>
      this.accounts.payWith(priced.user.id, payment, statement.companions),
    );
    if (wasPaid) statement.afterPaid();
    return wasPaid ? statement.paid : statement.failed;
  }

  async getOrder(actor: Actor, id: string): Promise<Order> {
    requireUser(actor);
    const order = await this.orders.findById(id);
    if (!order || (order.userId !== actor.userId && !can(actor, 'read:orders'))) {
      throw new NotFoundError('Order');
    }
    return order;
  }

  async listUserOrders(actor: Actor, userId: string, page: PageRequest): Promise<Page<Order>> {
    this.assertMay(actor, userId, 'read:orders');
    const { offset, limit } = offsetOf(page);
    return this.orders.listByUser(userId, offset, limit);
  }

  /**
   * Refunds a paid order with a reverse movement and marks it cancelled, once: the order row is
   * locked first, so of two cancellations racing, the second sees `cancelled` and gets 409.
   */
  async cancelOrder(actor: Actor, id: string): Promise<Order> {
    requireUser(actor);
    return withTransaction(
      this.db,
      async (tx) => {
        const order = await this.orders.findById(id, tx, true);
        if (!order || (order.userId !== actor.userId && !can(actor, 'write:orders'))) {
          throw new NotFoundError('Order');
        }
        if (order.status === 'cancelled') {
          throw new ConflictError('The order is already cancelled', 'ORDER_ALREADY_CANCELLED');
        }
        if (order.status !== 'paid' || !order.userId) {
          throw new ConflictError(
            `A ${order.status} order cannot be cancelled`,
            'ORDER_NOT_CANCELLABLE',
          );
        }
        // The same lock order as placing an order: the wallet first, the merchant last.
        const wallet = await this.accounts.lockWallet(tx, order.userId);
        if (!wallet) {
          throw new ConflictError('The order has no wallet to refund', 'ORDER_NOT_CANCELLABLE');
        }
        const cancelled = await this.orders.setStatus(tx, order, 'cancelled', {
          refundId: order.total > 0 ? uuidv7() : undefined,
        });
        if (cancelled.refundId) await this.refund(tx, cancelled, wallet.id);
        return cancelled;
      },
      { retries: RETRIES },
    );
  }

  /**
   * The reverse movement, last in the transaction. The merchant received this very payment, so
   * it holds the amount; the balance CHECK refuses the refund (and the cancellation) otherwise.
   */
  private async refund(tx: Tx, order: Order, walletId: string) {
    // The merchant's row this very payment credited (it has several, see MERCHANT_SHARDS).
    const merchantId = order.paymentId && (await this.accounts.payeeOf(tx, order.paymentId));
    if (!merchantId) throw new ConflictError('No merchant can refund this order', 'REFUND_FAILED');
    await this.accounts.moveWithin(tx, {
      id: order.refundId!,
      kind: 'refund',
      fromAccountId: merchantId,
      toAccountId: walletId,
      amount: order.total,
      currency: order.currency,
      reference: `refund of order ${order.id}`,
    });
  }

  /** Acting for oneself, or for anyone with the permission; others' ids are 404. */
  private assertMay(actor: Actor, userId: string, permission: 'read:orders' | 'write:orders') {
    requireUser(actor);
    if (actor.userId !== userId && !can(actor, permission)) throw new NotFoundError('User');
  }
}
