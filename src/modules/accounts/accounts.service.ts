import { LRUCache } from 'lru-cache';
import { v7 as uuidv7 } from 'uuid';
import type { Actor } from '../../platform/auth/actor.js';
import { authorize, can, requireUser } from '../../platform/auth/permissions.js';
import { requireVerifiedEmail } from '../../platform/auth/verified-email.js';
import type { Database } from '../../platform/db/database.js';
import type { JournalKind } from '../../platform/db/schema.js';
import { withRetries, type Tx } from '../../platform/db/transaction.js';
import { NotFoundError, UnprocessableError } from '../../platform/errors.js';
import { offsetOf, type Page, type PageRequest } from '../../platform/paging.js';
import { runWithClaim, type IdempotencyClaim } from '../../platform/idempotency/idempotency.js';
import type {
  Account,
  AccountEntry,
  AccountsRepository,
  MovementCompanion,
  MovementGuards,
  MovementRules,
  Transfer,
} from './accounts.repository.js';
import type { DepositInput, TransferInput } from './accounts.schemas.js';
import { checkDistinct, checkMovement, type MovementRequest } from './ledger.js';
import { MovementBatcher, type BatchSettings } from './movement-batcher.js';

export type { MovementCompanion, MovementGuards };

/** Serialization failures and deadlocks are retried this often before the client gets 503. */
const RETRIES = 3;

/**
 * The merchant's rows per currency. Every order credits the merchant and holds the row it
 * credits until its commit is flushed, so with one row orders queue behind each other; with
 * 16, the 20 connections of a default pool rarely meet on one (migration 0013).
 */
export const MERCHANT_SHARDS = 16;

export interface Posting extends MovementRequest {
  kind: JournalKind;
  reference?: string | null;
}

/**
 * The ledger: wallets, system accounts and the movements between them. Owners read their own
 * accounts and move money out of their own wallets into other wallets; `read:accounts` reads
 * anyone's and `write:accounts` moves anyone's money and deposits. An account the caller may
 * not read is 404, never 403, so ids can't be probed.
 */
export class AccountsService {
  /**
   * Ids that never change once they exist, remembered so an order doesn't read them each time:
   * a user's default-currency wallet (wallets are never deleted or moved) and the merchant's
   * rows. Only ids: balances, ownership and funds are always checked on the locked rows.
   */
  private readonly walletIds = new LRUCache<string, string>({ max: 10_000 });
  private merchantIds: string[] = [];
  /** Transfers, deposits and orders' payments go through the group commit (movement-batcher.ts). */
  private readonly batcher: MovementBatcher;

  constructor(
    private readonly db: Database,
    private readonly accounts: AccountsRepository,
    /** The currency of new wallets and of the system accounts (DEFAULT_CURRENCY). */
    readonly currency: string,
    /** REQUIRE_VERIFIED_EMAIL: deposits, transfers and orders need a verified email. */
    private readonly verifiedEmailRequired = false,
    /** MONEY_BATCH_MAX and MONEY_BATCH_WAIT: the group commit of money movements. */
    batch: BatchSettings = { max: 1, waitUs: 0 },
  ) {
    this.batcher = new MovementBatcher(accounts, batch);
  }

  /** Movements queued behind the group commit's batch in flight. */
  get waitingMovements(): number {
    return this.batcher.waiting;
  }

  /** 403 EMAIL_NOT_VERIFIED for a token whose account's email is unverified (when required). */
  assertMayMoveMoney(actor: Actor): void {
    requireVerifiedEmail(actor, this.verifiedEmailRequired);
  }

  async getAccount(actor: Actor, id: string): Promise<Account> {
    return this.requireVisible(actor, id);
  }

  async listUserAccounts(actor: Actor, userId: string): Promise<Account[]> {
    requireUser(actor);
    if (actor.userId !== userId && !can(actor, 'read:accounts')) throw new NotFoundError('User');
    return this.accounts.listByUser(userId);
  }

  async listEntries(actor: Actor, id: string, page: PageRequest): Promise<Page<AccountEntry>> {
    await this.requireVisible(actor, id);
    const { offset, limit } = offsetOf(page);
    return this.accounts.listEntries(id, offset, limit);
  }

  /** A movement, for the owners of either side or `read:accounts`. */
  async getTransfer(actor: Actor, id: string): Promise<Transfer> {
    requireUser(actor);
    const transfer = await this.accounts.findTransfer(id);
    if (!transfer) throw new NotFoundError('Transfer');
    if (can(actor, 'read:accounts')) return transfer;
    const [from, to] = await Promise.all([
      this.accounts.findById(transfer.fromAccountId),
      this.accounts.findById(transfer.toAccountId),
    ]);
    if (from?.userId !== actor.userId && to?.userId !== actor.userId) {
      throw new NotFoundError('Transfer');
    }
    return transfer;
  }

  /** From one of the caller's wallets to another wallet (anyone's, with `write:accounts`). */
  async transfer(
    actor: Actor,
    input: TransferInput,
    claim?: IdempotencyClaim<Transfer>,
  ): Promise<Transfer> {
    requireUser(actor);
    this.assertMayMoveMoney(actor);
    const admin = can(actor, 'write:accounts');
    return this.moveInOneStatement(
      { ...input, kind: 'transfer', reference: input.reference, createdBy: actor.userId },
      claim,
      { payerUserId: admin ? null : actor.userId, walletsOnly: !admin },
      (from, to) => this.checkTransferAccess(actor, from, to),
    );
  }

  /**
   * What a transfer (or a hold) refused for the caller's rights says, before the ledger's rules:
   * run on the rows its statement locked.
   */
  checkTransferAccess(actor: Actor, from: Account | undefined, to: Account | undefined): void {
    if (can(actor, 'write:accounts')) return;
    // Someone else's wallet is as unknown as a missing one, before its currency or balance
    // can say anything.
    if (from && from.userId !== actor.userId) {
      throw new NotFoundError('Source account', 'ACCOUNT_NOT_FOUND');
    }
    // Money enters through deposits and leaves through orders, not through transfers.
    if (to && to.kind !== 'wallet') {
      throw new UnprocessableError('Transfers go to wallets only', 'INVALID_DESTINATION');
    }
  }

  /** Money from the issuer into an account (`write:accounts`). */
  async deposit(
    actor: Actor,
    accountId: string,
    input: DepositInput,
    claim?: IdempotencyClaim<Transfer>,
  ): Promise<Transfer> {
    authorize(actor, 'write:accounts');
    this.assertMayMoveMoney(actor);
    const issuer = await this.accounts.findSystem('issuer', input.currency);
    if (!issuer) {
      throw new UnprocessableError(`No issuer holds ${input.currency}`, 'UNSUPPORTED_CURRENCY');
    }
    return this.moveInOneStatement(
      {
        kind: 'deposit',
        fromAccountId: issuer.id,
        toAccountId: accountId,
        amount: input.amount,
        currency: input.currency,
        reference: input.reference,
        createdBy: actor.userId,
      },
      claim,
      { payerUserId: null, walletsOnly: false },
    );
  }

  /**
   * For orders: the user's wallet and, to pay into, one of the merchant's rows in the default
   * currency, taken at random so that concurrent orders lock different rows. Read once, then
   * remembered (see walletIds).
   */
  async paymentAccounts(userId: string): Promise<{ walletId?: string; merchantId?: string }> {
    let walletId = this.walletIds.get(userId);
    if (walletId === undefined || this.merchantIds.length === 0) {
      const { wallet, system } = await this.accounts.findWalletAndSystem(
        userId,
        'merchant',
        this.currency,
      );
      walletId = wallet?.id;
      if (walletId) this.walletIds.set(userId, walletId);
      if (system.length > 0) this.merchantIds = system.map((account) => account.id);
    }
    const merchantId = this.merchantIds[Math.floor(Math.random() * this.merchantIds.length)];
    return { walletId, merchantId };
  }

  /** The merchant's rows in a currency, and their sum: what the merchant holds. */
  async merchantHoldings(currency: string): Promise<{ accounts: Account[]; balance: number }> {
    const accounts = await this.accounts.listSystem('merchant', currency);
    return { accounts, balance: accounts.reduce((sum, account) => sum + account.balance, 0) };
  }

  /** For refunds: the account a movement paid into (the merchant's row an order credited). */
  async payeeOf(tx: Tx, transferId: string): Promise<string | undefined> {
    return (await this.accounts.findTransfer(transferId, tx))?.toAccountId;
  }

  /**
   * For other services: a payment out of `payerUserId`'s wallet as the single statement
   * together with the parts the caller's companions add (each part under the guard `allowed`
   * or `refused`). Nothing moves when the wallet lacks the amount; what that means is the
   * caller's. True when it moved (or was 0). It goes through the group commit with transfers
   * and deposits: the companions ride in a batch under this member's own guards.
   */
  async payWith(
    payerUserId: string,
    payment: Posting & { id: string; createdAt: Date },
    companions: MovementCompanion[],
  ): Promise<boolean> {
    const movement = {
      ...this.movement(payment, null),
      id: payment.id,
      createdAt: payment.createdAt,
    };
    const rules = { payerUserId, walletsOnly: false };
    const outcome = await withRetries(
      () => this.batcher.move(movement, rules, companions),
      RETRIES,
    );
    return outcome.moved;
  }

  /**
   * For other services (a refund): locks the user's wallet in the default currency for the rest
   * of the caller's transaction. Lock the wallet first, move last: see moveWithin.
   */
  async lockWallet(tx: Tx, userId: string): Promise<Account | undefined> {
    return this.accounts.findWallet(userId, this.currency, tx, true);
  }

  /**
   * For other services: the movement itself, as the last write of the caller's transaction,
   * after the caller locked the wallet (lockWallet) and made its access checks.
   * The payee's row is locked by this update, so a hot payee (the merchant, credited by every
   * order) is held from here to the commit only, as pgbench's TPC-B updates its branch last.
   * The balance CHECK still refuses an overdraft.
   */
  async moveWithin(tx: Tx, posting: Posting & { id: string }): Promise<Transfer> {
    return this.accounts.applyMovement(tx, { ...this.movement(posting, null), id: posting.id });
  }

  /** The user's wallet in the default currency (for orders), or undefined. */
  async walletOf(userId: string, tx?: Tx): Promise<Account | undefined> {
    return this.accounts.findWallet(userId, this.currency, tx);
  }

  /** Every new user's wallet, in the transaction that creates the user. */
  async openWallet(tx: Tx, userId: string): Promise<void> {
    await this.accounts.openWallet(tx, uuidv7(), userId, this.currency);
  }

  /**
   * At start-up: the issuer and merchant of the default currency, and wallets for users that
   * predate the ledger (or were inserted around the service, by the bulk seeder).
   */
  async ensureLedger(): Promise<void> {
    await this.accounts.openSystemAccount(uuidv7(), 'issuer', this.currency);
    for (let shard = 0; shard < MERCHANT_SHARDS; shard++) {
      await this.accounts.openSystemAccount(uuidv7(), 'merchant', this.currency, shard);
    }
    await this.accounts.openMissingWallets(this.currency);
  }

  /**
   * One movement as the single statement (AccountsRepository.move), with the claim's key part
   * in the same statement, or as a member of a batch of them in one statement (the group
   * commit, movement-batcher.ts), which answers for each member what its own statement would
   * have. `rules` let the statement refuse on the locked rows what ledger.ts
   * refuses; when it did, ledger.ts, run on the rows it locked, says why. A refusal or a taken
   * key may mean a duplicate of this request took effect meanwhile: the claim answers then.
   */
  private async moveInOneStatement(
    posting: Posting & { createdBy: string | null },
    claim: IdempotencyClaim<Transfer> | undefined,
    rules: MovementRules,
    checkAccess?: (from: Account | undefined, to: Account | undefined) => void,
  ): Promise<Transfer> {
    checkDistinct(posting);
    const movement = { ...this.movement(posting, posting.createdBy), createdAt: new Date() };
    const transfer: Transfer = {
      id: movement.id,
      kind: movement.kind,
      fromAccountId: movement.fromAccountId,
      toAccountId: movement.toAccountId,
      amount: movement.amount,
      currency: movement.currency,
      reference: movement.reference,
      createdAt: movement.createdAt,
    };
    const keyPart: MovementCompanion[] = claim
      ? [({ allowed }) => claim.keyPart(transfer, allowed)]
      : [];
    return runWithClaim(claim, async () => {
      const outcome = await withRetries(() => this.batcher.move(movement, rules, keyPart), RETRIES);
      if (outcome.moved) return transfer;
      // A duplicate of this request may have moved the money first: its response is the answer.
      await claim?.replayOrRelease();
      checkAccess?.(outcome.from, outcome.to);
      checkMovement(posting, outcome.from, outcome.to);
      throw new Error('The ledger refused a movement that its rules allow');
    });
  }

  private movement(posting: Posting, createdBy: string | null) {
    return {
      id: uuidv7(),
      kind: posting.kind,
      fromAccountId: posting.fromAccountId,
      toAccountId: posting.toAccountId,
      amount: posting.amount,
      currency: posting.currency,
      reference: posting.reference ?? null,
      createdBy,
    };
  }

  private async requireVisible(actor: Actor, id: string): Promise<Account> {
    requireUser(actor);
    const account = await this.accounts.findById(id);
    if (!account || (account.userId !== actor.userId && !can(actor, 'read:accounts'))) {
      throw new NotFoundError('Account');
    }
    return account;
  }
}
