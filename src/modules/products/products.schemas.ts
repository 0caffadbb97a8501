import { Type, type Static } from 'typebox';
import { Currency, minorUnits } from '../../platform/http/money.js';
import { PageQuerySchema } from '../../platform/http/pagination.js';

/** A billion in major units of any currency: more than any real catalogue price. */
export const MAX_PRICE_MINOR = 100_000_000_000;

const Name = Type.String({ minLength: 1, maxLength: 200 });
const Description = Type.String({ maxLength: 5000 });
// `priceMinor`, not `price`: v1's name, kept for its clients (docs/reference/money.md).
const PriceMinor = minorUnits('The price', { minimum: 0, maximum: MAX_PRICE_MINOR });

export const ProductSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    name: Name,
    description: Description,
    priceMinor: PriceMinor,
    currency: Currency,
    active: Type.Boolean(),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Product', title: 'Product' },
);

export const ProductIdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const CreateProductBody = Type.Object(
  {
    name: Name,
    description: Type.Optional(Description),
    priceMinor: PriceMinor,
    currency: Currency,
    active: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const ReplaceProductBody = Type.Object(
  {
    name: Name,
    description: Description,
    priceMinor: PriceMinor,
    currency: Currency,
    active: Type.Boolean(),
  },
  { additionalProperties: false },
);

export const PatchProductBody = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Description),
    priceMinor: Type.Optional(PriceMinor),
    currency: Type.Optional(Currency),
    active: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const PRODUCT_SORTS = [
  'createdAt',
  '-createdAt',
  'price',
  '-price',
  'name',
  '-name',
] as const;

export const ListProductsQuery = Type.Object(
  {
    ...PageQuerySchema,
    sort: Type.Optional(
      Type.Union(
        PRODUCT_SORTS.map((s) => Type.Literal(s)),
        { default: '-createdAt' },
      ),
    ),
    includeInactive: Type.Optional(
      Type.Boolean({ default: false, description: 'Inactive products too (write:products)' }),
    ),
  },
  { additionalProperties: false },
);

export type CreateProductInput = Static<typeof CreateProductBody>;
export type ReplaceProductInput = Static<typeof ReplaceProductBody>;
export type PatchProductInput = Static<typeof PatchProductBody>;
export type ProductSort = (typeof PRODUCT_SORTS)[number];
