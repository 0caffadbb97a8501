import { Type, type Static } from 'typebox';
import { PRODUCT_SORTS } from './products.types.js';
import { Currency, minorUnits } from '../../platform/http/money.js';
import { PageQuerySchema } from '../../platform/http/pagination.js';

/** A billion in major units of any currency: more than any real catalogue price. */
export const MAX_PRICE_MINOR = 100_000_000_000;

const Name = Type.String({ minLength: 1, maxLength: 200 });
const Description = Type.String({ maxLength: 5000 });
// `priceMinor`, not `price`: v1's name, kept for its clients (docs/reference/money.md).
const PriceMinor = minorUnits('The price', { minimum: 0, maximum: MAX_PRICE_MINOR });

export const PRODUCT_EXAMPLE = {
  id: '0193a5b0-7c1e-7d3a-9f00-1a2b3c4d5e03',
  name: 'Kettle',
  description: 'Boils 1.7 litres in four minutes.',
  priceMinor: 3500,
  currency: 'USD',
  active: true,
  createdAt: '2026-01-05T12:00:00.000Z',
  updatedAt: '2026-01-05T12:00:00.000Z',
};
/** What a client writes of a product: the example without what the server sets. */
const PRODUCT_FIELDS = {
  name: PRODUCT_EXAMPLE.name,
  description: PRODUCT_EXAMPLE.description,
  priceMinor: PRODUCT_EXAMPLE.priceMinor,
  currency: PRODUCT_EXAMPLE.currency,
  active: PRODUCT_EXAMPLE.active,
};

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
  { $id: 'Product', title: 'Product', examples: [PRODUCT_EXAMPLE] },
);

export const ProductIdParams = Type.Object({
  id: Type.String({ format: 'uuid', examples: [PRODUCT_EXAMPLE.id] }),
});

export const CreateProductBody = Type.Object(
  {
    name: Name,
    description: Type.Optional(Description),
    priceMinor: PriceMinor,
    currency: Currency,
    active: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, examples: [PRODUCT_FIELDS] },
);

export const ReplaceProductBody = Type.Object(
  {
    name: Name,
    description: Description,
    priceMinor: PriceMinor,
    currency: Currency,
    active: Type.Boolean(),
  },
  { additionalProperties: false, examples: [PRODUCT_FIELDS] },
);

export const PatchProductBody = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Description),
    priceMinor: Type.Optional(PriceMinor),
    currency: Type.Optional(Currency),
    active: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1, examples: [{ priceMinor: 3900 }] },
);

export const ListProductsQuery = Type.Object(
  {
    ...PageQuerySchema,
    sort: Type.Optional(
      Type.Union(
        PRODUCT_SORTS.map((s) => Type.Literal(s)),
        { default: '-createdAt', examples: ['price'] },
      ),
    ),
    includeInactive: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'Inactive products too (write:products)',
        examples: [true],
      }),
    ),
  },
  { additionalProperties: false },
);

export type CreateProductInput = Static<typeof CreateProductBody>;
export type ReplaceProductInput = Static<typeof ReplaceProductBody>;
export type PatchProductInput = Static<typeof PatchProductBody>;
