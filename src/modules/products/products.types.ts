/** The products module's domain types: what its service and repository share, free of HTTP. */

/** The orders a product list may take, `-` for descending. */
export const PRODUCT_SORTS = [
  'createdAt',
  '-createdAt',
  'price',
  '-price',
  'name',
  '-name',
] as const;

export type ProductSort = (typeof PRODUCT_SORTS)[number];
