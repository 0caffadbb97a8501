import { CacheAside } from '../../platform/cache/cache-aside.js';
import type { Cache } from '../../platform/cache/cache.js';
import type { Codec } from '../../platform/cache/read-through.js';
import { WriteThroughCache } from '../../platform/cache/write-through.js';
import type { Profile } from './profiles.repository.js';
import type { User } from './users.repository.js';

/** Dates travel as ISO strings in the cache and come back as Dates. */
type Stored<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] };

const userCodec: Codec<User> = {
  encode: (user) => user,
  decode: (data) => {
    const stored = data as Stored<User>;
    return {
      ...stored,
      createdAt: new Date(stored.createdAt),
      updatedAt: new Date(stored.updatedAt),
    };
  },
};

const profileCodec: Codec<Profile> = {
  encode: (profile) => profile,
  decode: (data) => {
    const stored = data as Stored<Profile>;
    return { ...stored, createdAt: new Date(stored.createdAt) };
  },
};

export interface UserCacheSettings {
  ttlMs: number;
  negativeTtlMs: number;
}

/** Users by id (cache-aside, `stratum:v1:user:<id>`). */
export function userByIdCache(cache: Cache, settings: UserCacheSettings): CacheAside<User> {
  return new CacheAside(cache, { kind: 'user', codec: userCodec, ...settings });
}

/** Public profiles (write-through, `stratum:v1:profile:<id>`), ordered by the row version. */
export function profileCache(
  cache: Cache,
  settings: UserCacheSettings,
): WriteThroughCache<Profile> {
  return new WriteThroughCache(cache, {
    kind: 'profile',
    codec: profileCodec,
    versionOf: (profile) => profile.version,
    ...settings,
  });
}
