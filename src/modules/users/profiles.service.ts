import type { Actor } from '../../platform/auth/actor.js';
import { NotFoundError } from '../../platform/errors.js';
import type { Profile, ProfilesRepository } from './profiles.repository.js';

/**
 * Public profiles: what anyone, guests included, may know of a user. One primary-key read,
 * not cached. (Views used to be counted here; the write-behind counter now counts post reads.)
 */
export class ProfilesService {
  constructor(private readonly profiles: ProfilesRepository) {}

  async getProfile(_actor: Actor, id: string): Promise<Profile> {
    const profile = await this.profiles.findProfile(id);
    if (!profile) throw new NotFoundError('User');
    return profile;
  }

  /** Many profiles at once (the authors next to posts), in one statement; unknown ids absent. */
  async getProfiles(_actor: Actor, ids: readonly string[]): Promise<Map<string, Profile>> {
    const profiles = await this.profiles.findProfiles([...new Set(ids)]);
    return new Map(profiles.map((profile) => [profile.id, profile]));
  }

  /** Whether the user exists: public knowledge, since the profile is. */
  async exists(_actor: Actor, id: string): Promise<boolean> {
    return (await this.profiles.findProfile(id)) !== undefined;
  }
}
