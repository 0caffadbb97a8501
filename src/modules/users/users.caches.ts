import { CacheAside } from '../../platform/cache/cache-aside.js';
import type { Cache } from '../../platform/cache/cache.js';
import type { Codec } from '../../platform/cache/read-through.js';
import type { User } from './users.repository.js';

/** Dates travel as ISO strings in the cache and come back as Dates. */
type Stored<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] };

const userCodec: Codec<User> = {
  encode: (user) => user,
  decode: (data) => {
    const stored = data as Stored<User>;
    return {
      ...stored,
      // An entry cached before the field existed reads as unverified until it expires.
      emailVerified: stored.emailVerified === true,
      createdAt: new Date(stored.createdAt),
      updatedAt: new Date(stored.updatedAt),
    };
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
