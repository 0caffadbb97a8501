import type { Actor } from '../../platform/auth/actor.js';
import type { CounterBatch, PendingCounters } from '../../platform/cache/counters.js';
import type { WriteThroughCache } from '../../platform/cache/write-through.js';
import type { Database } from '../../platform/db/database.js';
import { withTransaction, type Tx } from '../../platform/db/transaction.js';
import { NotFoundError } from '../../platform/http/errors.js';
import type { Profile, ProfilesRepository } from './profiles.repository.js';

export type PublicProfile = Omit<Profile, 'version'>;

const toPublic = ({ id, name, createdAt, profileViews }: Profile): PublicProfile => ({
  id,
  name,
  createdAt,
  profileViews,
});

/**
 * Public profiles: read from a write-through cache, and every read counted (write-behind) in
 * pending counters that the flusher adds to the database in batches. `profileViews` is the
 * count as of the last flush: it trails the truth by at most a flush interval.
 */
export class ProfilesService {
  constructor(
    private readonly db: Database,
    private readonly profiles: ProfilesRepository,
    private readonly cache: WriteThroughCache<Profile>,
    private readonly views: PendingCounters,
  ) {}

  /** Anyone may read a profile, guests included. */
  async getProfile(_actor: Actor, id: string): Promise<PublicProfile> {
    const profile = await this.cache.get(id, () => this.profiles.findProfile(id));
    if (!profile) throw new NotFoundError('User');
    await this.countView(id);
    return toPublic(profile);
  }

  /** The flusher's apply step: one transaction per batch, then the new rows into the cache. */
  async applyViews(batch: CounterBatch): Promise<void> {
    const changed = await withTransaction(
      this.db,
      (tx) => this.profiles.addViews(batch.id, batch.counts, tx),
      { retries: 3 },
    );
    for (const profile of changed ?? []) await this.cache.write(profile.id, profile);
  }

  /** For UsersService: the profile as the caller's transaction has it now. */
  async snapshot(id: string, tx: Tx): Promise<Profile | undefined> {
    return this.profiles.findProfile(id, tx);
  }

  /** Write-through after a committed write of the row. */
  async publish(profile: Profile): Promise<void> {
    await this.cache.write(profile.id, profile);
  }

  async removed(id: string): Promise<void> {
    await this.cache.remove(id);
  }

  /** When the write's commit is someone else's to make: drop the entry rather than set it. */
  async forget(id: string): Promise<void> {
    await this.cache.invalidate(id);
  }

  private async countView(id: string) {
    try {
      await this.views.increment(id);
    } catch {
      // A view counted while Redis is unreachable is dropped: a counter is not worth a 5xx.
    }
  }
}
