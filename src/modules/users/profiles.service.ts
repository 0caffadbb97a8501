import type { Actor } from '../../platform/auth/actor.js';
import type { CounterBatch, PendingCounters } from '../../platform/cache/counters.js';
import type { Database } from '../../platform/db/database.js';
import { withTransaction } from '../../platform/db/transaction.js';
import { NotFoundError } from '../../platform/http/errors.js';
import type { Profile, ProfilesRepository } from './profiles.repository.js';

/**
 * Public profiles: read from the database (one primary-key lookup), and every read counted
 * (write-behind) in pending counters that the flusher adds to the database in batches.
 * `profileViews` is the count as of the last flush: it trails the truth by at most a flush
 * interval. Not cached: the count changes with every flush, and the write-through cache
 * lives on products, where writes are rare.
 */
export class ProfilesService {
  constructor(
    private readonly db: Database,
    private readonly profiles: ProfilesRepository,
    private readonly views: PendingCounters,
  ) {}

  /** Anyone may read a profile, guests included. */
  async getProfile(_actor: Actor, id: string): Promise<Profile> {
    const profile = await this.profiles.findProfile(id);
    if (!profile) throw new NotFoundError('User');
    await this.countView(id);
    return profile;
  }

  /**
   * Many public profiles at once (the authors shown next to posts), in one statement. Not
   * counted as views: a name next to a post is not a visit to the profile. Unknown ids are
   * absent from the map.
   */
  async getProfiles(_actor: Actor, ids: readonly string[]): Promise<Map<string, Profile>> {
    const unique = [...new Set(ids)];
    const profiles = await this.profiles.findProfiles(unique);
    return new Map(profiles.map((profile) => [profile.id, profile]));
  }

  /** The flusher's apply step: one transaction per batch. */
  async applyViews(batch: CounterBatch): Promise<void> {
    await withTransaction(this.db, (tx) => this.profiles.addViews(batch.id, batch.counts, tx), {
      retries: 3,
    });
  }

  private async countView(id: string) {
    try {
      await this.views.increment(id);
    } catch {
      // A view counted while Redis is unreachable is dropped: a counter is not worth a 5xx.
    }
  }
}
