import { v7 as uuidv7 } from 'uuid';
import type { Actor } from '../../platform/auth/actor.js';
import { authorize, can } from '../../platform/auth/permissions.js';
import type { WriteThroughCache } from '../../platform/cache/write-through.js';
import { primaryOnly, type ReplicaSafe } from '../../platform/db/replicas.js';
import type { Tx } from '../../platform/db/transaction.js';
import { NotFoundError } from '../../platform/errors.js';
import { offsetOf, type Page, type PageRequest } from '../../platform/paging.js';
import type { Product, ProductChanges, ProductsRepository } from './products.repository.js';
import type {
  CreateProductInput,
  PatchProductInput,
  ReplaceProductInput,
} from './products.schemas.js';
import type { ProductSort } from './products.types.js';

export interface ListProductsInput extends PageRequest {
  sort: ProductSort;
  includeInactive: boolean;
}

/** What an order needs of a catalogue entry to price a line. */
export interface PricedProduct {
  id: string;
  name: string;
  priceMinor: number;
  currency: string;
  active: boolean;
}

/**
 * The catalogue. Anyone reads active products (`read:products` is granted to guests);
 * `write:products` creates, edits and deactivates, and alone sees inactive ones: to everyone
 * else an inactive product does not exist (404). Products are never deleted, because orders
 * keep referring to them.
 *
 * Reads by id go through a write-through cache: every write below stores the committed row
 * in it (version-ordered) before answering, so the read after a write hits with the new row.
 * Each write is one autocommitted UPDATE ... RETURNING, so the row it returns is committed.
 */
export class ProductsService {
  constructor(
    private readonly products: ProductsRepository,
    private readonly cache: WriteThroughCache<Product>,
    /** Pages may go to a replica; reads by id stay on the write-through cache and the primary. */
    private readonly readable: ReplicaSafe<ProductsRepository> = primaryOnly(products),
  ) {}

  async listProducts(actor: Actor, input: ListProductsInput): Promise<Page<Product>> {
    authorize(actor, 'read:products');
    if (input.includeInactive) authorize(actor, 'write:products');
    return (await this.readable(actor)).list({
      ...offsetOf(input),
      sort: input.sort,
      includeInactive: input.includeInactive,
    });
  }

  async getProduct(actor: Actor, id: string): Promise<Product> {
    authorize(actor, 'read:products');
    const product = await this.cache.get(id, () => this.products.findById(id));
    if (!product || (!product.active && !can(actor, 'write:products'))) {
      throw new NotFoundError('Product');
    }
    return product;
  }

  async createProduct(actor: Actor, input: CreateProductInput): Promise<Product> {
    authorize(actor, 'write:products');
    const product = await this.products.create({
      id: uuidv7(),
      name: input.name,
      description: input.description ?? '',
      priceMinor: input.priceMinor,
      currency: input.currency,
      active: input.active ?? true,
    });
    // Replaces a "no such id" a read may have remembered (any real version beats it).
    await this.cache.write(product.id, product);
    return product;
  }

  async replaceProduct(actor: Actor, id: string, input: ReplaceProductInput): Promise<Product> {
    return this.updateProduct(actor, id, input);
  }

  async updateProduct(actor: Actor, id: string, input: PatchProductInput): Promise<Product> {
    authorize(actor, 'write:products');
    return this.write(id, input);
  }

  /** Deactivation instead of deletion; deactivating an inactive product is not an error. */
  async deactivateProduct(actor: Actor, id: string): Promise<Product> {
    authorize(actor, 'write:products');
    return this.write(id, { active: false });
  }

  /**
   * For the orders service: the catalogue entries of these ids, by id, read with `tx` (no
   * lock), or on their own when it is null. Prices are the ones committed when this statement runs;
   * a price change committed later doesn't affect the order, which stores the prices it used.
   * Unknown ids are missing from the map and inactive products are included with
   * `active: false`: deciding what either means for an order is the caller's business. Reads
   * the database, never the cache, so the prices are those committed when it reads.
   */
  async priceItems(
    tx: Tx | null,
    productIds: readonly string[],
  ): Promise<Map<string, PricedProduct>> {
    const rows = await this.products.findByIds([...new Set(productIds)], tx);
    return new Map(
      rows.map(({ id, name, priceMinor, currency, active }) => [
        id,
        { id, name, priceMinor, currency, active },
      ]),
    );
  }

  /** Write-through: the database first, then the committed row into the cache, then answer. */
  private async write(id: string, changes: ProductChanges): Promise<Product> {
    const product = await this.products.update(id, changes);
    if (!product) throw new NotFoundError('Product');
    await this.cache.write(id, product);
    return product;
  }
}
