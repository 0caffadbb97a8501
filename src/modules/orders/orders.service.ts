import { v7 as uuidv7 } from 'uuid';
import type { Actor } from '../../platform/auth/actor.js';
import { can, requireUser } from '../../platform/auth/permissions.js';
import type { Database } from '../../platform/db/database.js';
import { withTransaction, type Tx } from '../../platform/db/transaction.js';
import { ConflictError, NotFoundError, UnprocessableError } from '../../platform/errors.js';
import { offsetOf, type Page, type PageRequest } from '../../platform/paging.js';
import { whileKeyTaken, type IdempotencyClaim } from '../../platform/idempotency/idempotency.js';
import type { AfterCommit, JobScheduler } from '../../platform/jobs/job.js';
import type {
  AccountsService,
  CompanionStatement,
  MoveConditions,
} from '../accounts/accounts.service.js';
import type { UsersService } from '../users/users.service.js';
import type { OrdersJobPayloads } from './orders.jobs.js';
import type { Order, OrdersRepository } from './orders.repository.js';
import type { PlaceOrderInput } from './orders.schemas.js';
import { priceOrder, type PricedProduct } from './pricing.js';

/** Serialization failures and deadlocks are retried this often before the client gets 503. */
const RETRIES = 3;

/** What orders need of the catalogue: prices as committed when read, just before the order. */
export interface ProductPricing {
  priceItems(tx: Tx | null, productIds: readonly string[]): Promise<Map<string, PricedProduct>>;
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
   * idempotency key are one statement (AccountsService.payWith), so one commit. The order is
   * never seen `pending`: its status is decided by that statement, which locks the wallet and
   * the merchant in id order and holds them only until it commits.
   */
  async placeOrder(
    actor: Actor,
    userId: string,
    input: PlaceOrderInput,
    once?: IdempotencyClaim<Order>,
  ): Promise<Order> {
    this.assertMay(actor, userId, 'write:orders');
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
    const id = uuidv7();
    const paymentId = total > 0 ? uuidv7() : null;
    const createdAt = new Date();
    const placed = (status: 'paid' | 'payment_failed'): Order => ({
      id,
      userId,
      status,
      items: lines,
      total,
      currency,
      paymentId: status === 'paid' ? paymentId : null,
      refundId: null,
      createdAt,
      updatedAt: createdAt,
    });
    const [paid, failed] = [placed('paid'), placed('payment_failed')];
    const email = { orderId: id, email: user.email, name: user.name, lines, total, currency };
    let wakeRelay: AfterCommit | undefined;
    const companions: CompanionStatement[] = [
      ({ allowed }) =>
        this.orders.insertWhenPaid(
          { id, userId, paymentId, total, currency, lines, createdAt },
          allowed,
        ),
      ({ allowed }) => {
        const job = this.jobs.scheduleWhen(allowed, 'email.order-confirmation', email, {
          requestId: actor.requestId,
        });
        wakeRelay = job.afterCommit;
        return job.statement;
      },
      ...(once
        ? [
            ({ allowed }: MoveConditions) => once.storeWith(paid, allowed),
            ({ refused }: MoveConditions) => once.storeWith(failed, refused),
          ]
        : []),
    ];
    const payment = {
      id: paymentId ?? uuidv7(),
      kind: 'payment' as const,
      fromAccountId: walletId,
      toAccountId: merchantId,
      amount: total,
      currency,
      reference: `order ${id}`,
      createdAt,
    };
    const wasPaid = await whileKeyTaken(once, () =>
      this.accounts.payWith(userId, payment, companions),
    );
    if (wasPaid) wakeRelay?.();
    return wasPaid ? paid : failed;
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
    await this.accounts.settleWithin(tx, {
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
