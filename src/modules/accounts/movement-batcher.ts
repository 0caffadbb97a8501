import { isForeignKeyViolation, isUniqueViolation } from '../../platform/db/errors.js';
import type {
  AccountsRepository,
  BatchMember,
  Movement,
  MovementCompanion,
  MovementRules,
  MoveOutcome,
} from './accounts.repository.js';

/** The group commit's settings (MONEY_BATCH_MAX, MONEY_BATCH_WAIT). */
export interface BatchSettings {
  /** The most movements in one statement; 1: every movement is its own statement. */
  max: number;
  /**
   * Microseconds a batch waits for more movements before it starts (0: it takes only what
   * arrived while the batch before it ran).
   */
  waitUs: number;
}

interface Pending {
  member: BatchMember;
  resolve: (outcome: MoveOutcome) => void;
  reject: (err: unknown) => void;
}

/**
 * The group commit: transfers, deposits and orders' payments that arrive while a batch is in the database wait,
 * and go together, up to `max` of them in arrival order, as the next batch: ONE statement
 * (AccountsRepository.moveBatch) and one commit. A movement that finds nothing in flight goes
 * at once, alone, as `move`'s statement: nothing waits when there is nothing to batch.
 *
 * Every member gets the outcome `move` would have given it alone, in the batch's order. When
 * the statement fails as a whole, nothing of it committed. A failure that one member's own rows
 * cause sends the members one by one through `move`, in the same order, so each gets its own
 * answer: a unique violation (an Idempotency-Key taken, perhaps by another member of the same
 * batch) or a foreign-key violation (an order's user or product deleted since it was priced).
 * Any other failure (serialization, deadlock, lock timeout, a lost connection) is every
 * member's failure, which each caller retries or answers as it would its own statement's.
 *
 * Orders' payments are members too (AccountsService.payWith): their companions (the order, its
 * lines, the email, the key) ride in the batch under the member's own guards.
 */
export class MovementBatcher {
  private readonly queue: Pending[] = [];
  private inFlight = false;

  constructor(
    private readonly accounts: AccountsRepository,
    private readonly settings: BatchSettings,
  ) {}

  /** Movements waiting for the batch in flight to finish. */
  get waiting(): number {
    return this.queue.length;
  }

  move(
    movement: Movement & { createdAt: Date },
    rules: MovementRules,
    companions: MovementCompanion[],
  ): Promise<MoveOutcome> {
    if (this.settings.max <= 1) return this.accounts.move(movement, rules, companions);
    return new Promise<MoveOutcome>((resolve, reject) => {
      this.queue.push({ member: { movement, rules, companions }, resolve, reject });
      if (!this.inFlight) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.inFlight = true;
    try {
      while (this.queue.length > 0) {
        // Without a wait, no await before the statement: a lone movement goes at once.
        if (this.settings.waitUs > 0) await this.gather();
        await this.run(this.queue.splice(0, this.settings.max));
      }
    } finally {
      this.inFlight = false;
    }
  }

  /** Up to MONEY_BATCH_WAIT for more movements, giving way to I/O between looks. */
  private async gather(): Promise<void> {
    const { waitUs, max } = this.settings;
    const until = process.hrtime.bigint() + BigInt(waitUs) * 1000n;
    while (this.queue.length < max && process.hrtime.bigint() < until) {
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private async run(batch: Pending[]): Promise<void> {
    if (batch.length === 1) {
      await this.one(batch[0]!);
      return;
    }
    let outcomes: MoveOutcome[];
    try {
      outcomes = await this.accounts.moveBatch(batch.map((pending) => pending.member));
    } catch (err) {
      if (!isUniqueViolation(err) && !isForeignKeyViolation(err)) {
        for (const pending of batch) pending.reject(err);
        return;
      }
      for (const pending of batch) await this.one(pending);
      return;
    }
    batch.forEach((pending, i) => pending.resolve(outcomes[i]!));
  }

  private async one({ member, resolve, reject }: Pending): Promise<void> {
    try {
      resolve(await this.accounts.move(member.movement, member.rules, [...member.companions]));
    } catch (err) {
      reject(err);
    }
  }
}
