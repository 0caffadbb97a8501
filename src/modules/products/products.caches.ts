import type { Cache } from '../../platform/cache/cache.js';
import type { Codec } from '../../platform/cache/read-through.js';
import { WriteThroughCache } from '../../platform/cache/write-through.js';
import type { Product } from './products.repository.js';

type StoredProduct = Omit<Product, 'createdAt' | 'updatedAt'> & {
  createdAt: string;
  updatedAt: string;
};

/** Dates travel as ISO strings in the cache and come back as Dates. */
const productCodec: Codec<Product> = {
  encode: (product) => product,
  decode: (data) => {
    const stored = data as StoredProduct;
    return {
      ...stored,
      createdAt: new Date(stored.createdAt),
      updatedAt: new Date(stored.updatedAt),
    };
  },
};

export interface ProductCacheSettings {
  ttlMs: number;
  negativeTtlMs: number;
}

/** Products by id (write-through, `stratum:v1:product:<id>`), ordered by the row version. */
export function productCache(
  cache: Cache,
  settings: ProductCacheSettings,
): WriteThroughCache<Product> {
  return new WriteThroughCache(cache, {
    kind: 'product',
    codec: productCodec,
    versionOf: (product) => product.version,
    ...settings,
  });
}
