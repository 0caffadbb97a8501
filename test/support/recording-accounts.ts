import {
  AccountsRepository,
  type BatchMember,
  type Movement,
  type MovementCompanion,
  type MovementRules,
  type MoveOutcome,
} from '../../src/modules/accounts/accounts.repository.js';

/**
 * The ledger's repository, logging every money statement that committed with what it saw: in
 * commit order when one batcher runs them (one statement at a time), and able to fail the next
 * batch statements or hold the next single one, for the group commit's tests.
 */
export class RecordingRepository extends AccountsRepository {
  readonly log: { movement: Movement; outcome: MoveOutcome }[] = [];
  batches = 0;
  /** Fail the next batch statements with these errors, before they run. */
  readonly failNext: Error[] = [];
  /** Holds the next single statement until it resolves. */
  hold: Promise<void> | undefined;
  /** A single statement is waiting on `hold`. */
  holding = false;
  /** Runs before each batch statement, with its members (e.g. to change the rows they need). */
  onBatch: ((members: readonly BatchMember[]) => Promise<void>) | undefined;

  override async move(
    m: Movement & { createdAt: Date },
    rules: MovementRules,
    companions: MovementCompanion[] = [],
  ): Promise<MoveOutcome> {
    const hold = this.hold;
    this.hold = undefined;
    if (hold) {
      this.holding = true;
      await hold;
      this.holding = false;
    }
    const outcome = await super.move(m, rules, companions);
    this.log.push({ movement: m, outcome });
    return outcome;
  }

  override async moveBatch(members: readonly BatchMember[]): Promise<MoveOutcome[]> {
    const failure = this.failNext.shift();
    if (failure) throw failure;
    await this.onBatch?.(members);
    const outcomes = await super.moveBatch(members);
    this.batches++;
    members.forEach((member, i) =>
      this.log.push({ movement: member.movement, outcome: outcomes[i]! }),
    );
    return outcomes;
  }
}
