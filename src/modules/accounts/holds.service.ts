import { v7 as uuidv7 } from 'uuid';
import type { Actor } from '../../platform/auth/actor.js';
import { can, requireUser } from '../../platform/auth/permissions.js';
import { withRetries } from '../../platform/db/transaction.js';
import { ForbiddenError, NotFoundError } from '../../platform/errors.js';
import { runWithClaim, type IdempotencyClaim } from '../../platform/idempotency/idempotency.js';
import { offsetOf, type Page, type PageRequest } from '../../platform/paging.js';
import type { Account, AccountsRepository, MovementCompanion } from './accounts.repository.js';
import type { TransferInput } from './accounts.schemas.js';
import type { CaptureInput } from './holds.schemas.js';
import type { AccountsService } from './accounts.service.js';
import type { Hold, HoldsRepository, SettleOutcome } from './holds.repository.js';
import { checkCapture, checkSettle } from './holds.js';
import { checkDistinct, checkMovement } from './ledger.js';

/** Serialization failures and deadlocks are retried this often before the client gets 503. */
const RETRIES = 3;

/** A hold's lifetime when the request names none: one day. */
export const DEFAULT_HOLD_SECONDS = 86_400;

/**
 * Holds: two-phase transfers (docs/decisions/0011-holds.md). Placing one reserves the amount in
 * the payer's wallet under the rules of a transfer; the payee (or `write:accounts`) captures
 * all or part of it once, which moves that part and releases the rest; the payer, the payee or
 * `write:accounts` voids it; past its expiry nobody can capture it and the sweep releases it.
 * A hold the caller is not a party to is 404, like a stranger's transfer.
 */
export class HoldsService {
  constructor(
    private readonly holds: HoldsRepository,
    private readonly accounts: AccountsRepository,
    private readonly ledger: AccountsService,
  ) {}

  /**
   * `POST /transfers` with `hold`: the transfer's rules and checks, but the money stays in the
   * payer's account, reserved, until the hold is captured, voided or expires.
   */
  async place(actor: Actor, input: TransferInput, claim?: IdempotencyClaim<Hold>): Promise<Hold> {
    requireUser(actor);
    this.ledger.assertMayMoveMoney(actor);
    checkDistinct(input);
    const admin = can(actor, 'write:accounts');
    const createdAt = new Date();
    const hold: Hold = {
      id: uuidv7(),
      fromAccountId: input.fromAccountId,
      toAccountId: input.toAccountId,
      amount: input.amount,
      currency: input.currency,
      status: 'pending',
      capturedAmount: null,
      transferId: null,
      reference: input.reference ?? null,
      createdBy: actor.userId,
      expiresAt: new Date(
        createdAt.getTime() + (input.hold?.expiresIn ?? DEFAULT_HOLD_SECONDS) * 1000,
      ),
      createdAt,
      updatedAt: createdAt,
    };
    const keyPart: MovementCompanion[] = claim
      ? [({ allowed }) => claim.keyPart(hold, allowed)]
      : [];
    const rules = { payerUserId: admin ? null : actor.userId, walletsOnly: !admin };
    return runWithClaim(claim, async () => {
      const outcome = await withRetries(() => this.holds.place(hold, rules, keyPart), RETRIES);
      if (outcome.moved) return hold;
      await claim?.replayOrRelease();
      this.ledger.checkTransferAccess(actor, outcome.from, outcome.to);
      checkMovement(hold, outcome.from, outcome.to);
      throw new Error('The ledger refused a hold that its rules allow');
    });
  }

  async getHold(actor: Actor, id: string): Promise<Hold> {
    const { hold } = await this.requireParty(actor, id);
    return hold;
  }

  /** An account's holds, as payer or payee, newest first (the account's readers). */
  async listForAccount(actor: Actor, accountId: string, page: PageRequest): Promise<Page<Hold>> {
    await this.ledger.getAccount(actor, accountId);
    const { offset, limit } = offsetOf(page);
    return this.holds.listByAccount(accountId, offset, limit);
  }

  /**
   * Moves `input.amount` (all of it when absent) of a pending hold to its payee and releases
   * the rest: once. The payee captures (it is the one being paid, as a merchant captures a
   * card authorisation), or `write:accounts`; the payer can't, its consent was the hold.
   */
  async capture(
    actor: Actor,
    id: string,
    input: CaptureInput,
    claim?: IdempotencyClaim<Hold>,
  ): Promise<Hold> {
    const { hold, admin, payee } = await this.requireParty(actor, id);
    if (!admin && !payee) {
      throw new ForbiddenError('Only the payee captures a hold');
    }
    this.ledger.assertMayMoveMoney(actor);
    const amount = input.amount ?? hold.amount;
    // Settled already: perhaps by this very request, whose key then holds the answer.
    if (hold.status !== 'pending') await claim?.replayOrRelease();
    checkCapture(hold, amount, input.currency);
    const at = new Date();
    const entryId = uuidv7();
    const captured: Hold = {
      ...hold,
      status: 'captured',
      capturedAmount: amount,
      transferId: entryId,
      updatedAt: at,
    };
    return this.settle(captured, claim, (companions) =>
      this.holds.capture({ holdId: id, amount, entryId, at }, companions),
    );
  }

  /** Releases a pending hold: its payer, its payee or `write:accounts`. */
  async void(actor: Actor, id: string, claim?: IdempotencyClaim<Hold>): Promise<Hold> {
    const { hold } = await this.requireParty(actor, id);
    const at = new Date();
    const voided: Hold = { ...hold, status: 'voided', updatedAt: at };
    return this.settle(voided, claim, (companions) =>
      this.holds.void({ holdId: id, at }, companions),
    );
  }

  /**
   * A capture or a void as its single statement, with the claim's key part riding in it; when
   * the statement refused, the hold as it found it says why (it was settled meanwhile, or it
   * expired), unless a duplicate of this request settled it first: then its response.
   */
  private async settle(
    result: Hold,
    claim: IdempotencyClaim<Hold> | undefined,
    run: (companions: MovementCompanion[]) => Promise<SettleOutcome>,
  ): Promise<Hold> {
    const keyPart: MovementCompanion[] = claim
      ? [({ allowed }) => claim.keyPart(result, allowed)]
      : [];
    return runWithClaim(claim, async () => {
      const outcome = await withRetries(() => run(keyPart), RETRIES);
      if (outcome.done) return result;
      await claim?.replayOrRelease();
      if (!outcome.hold) throw new NotFoundError('Hold');
      checkSettle(outcome.hold);
      throw new Error('A hold change was refused that its rules allow');
    });
  }

  /** The hold, for its payer's or payee's owner or `read:accounts`; anyone else gets 404. */
  private async requireParty(actor: Actor, id: string) {
    requireUser(actor);
    const hold = await this.holds.findById(id);
    if (!hold) throw new NotFoundError('Hold');
    const admin = can(actor, 'write:accounts');
    if (admin || can(actor, 'read:accounts')) return { hold, admin, payee: false };
    const [from, to] = await Promise.all([
      this.accounts.findById(hold.fromAccountId),
      this.accounts.findById(hold.toAccountId),
    ]);
    const isOwner = (account: Account | undefined) => account?.userId === actor.userId;
    if (!isOwner(from) && !isOwner(to)) throw new NotFoundError('Hold');
    return { hold, admin: false, payee: isOwner(to) };
  }
}
