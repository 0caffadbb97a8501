import { UnprocessableError, ValidationError } from '../../platform/errors.js';
import { MAX_AMOUNT_MINOR } from '../accounts/accounts.schemas.js';
import type { PricedProduct } from '../products/products.service.js';
import type { PlaceOrderInput } from './orders.schemas.js';

export type { PricedProduct };

export interface OrderLine {
  productId: string;
  name: string;
  unitPrice: number;
  quantity: number;
  lineTotal: number;
}

/**
 * The lines and total of an order from catalogue prices (whatever a client might claim).
 * Every product must be known, active and in the wallet's currency; the total must fit in one
 * ledger movement. Pure, so the arithmetic is tested without a database.
 */
export function priceOrder(
  items: PlaceOrderInput['items'],
  catalogue: Map<string, PricedProduct>,
  currency: string,
): { lines: OrderLine[]; total: number } {
  const seen = new Set<string>();
  for (const [index, item] of items.entries()) {
    if (seen.has(item.productId)) {
      throw new ValidationError('Each product may appear once per order', [
        { field: `body.items.${index}.productId`, message: 'is already in the order' },
      ]);
    }
    seen.add(item.productId);
  }
  const unavailable = items.filter((item) => !catalogue.get(item.productId)?.active);
  if (unavailable.length > 0) {
    throw new UnprocessableError('Some products are not available', 'PRODUCT_UNAVAILABLE', {
      productIds: unavailable.map((item) => item.productId),
    });
  }
  const lines = items.map((item) => {
    const product = catalogue.get(item.productId)!;
    if (product.currency !== currency) {
      throw new UnprocessableError(`Products must be priced in ${currency}`, 'CURRENCY_MISMATCH', {
        productId: product.id,
        currency: product.currency,
      });
    }
    return {
      productId: product.id,
      name: product.name,
      unitPrice: product.priceMinor,
      quantity: item.quantity,
      lineTotal: product.priceMinor * item.quantity,
    };
  });
  const total = lines.reduce((sum, line) => sum + line.lineTotal, 0);
  if (total > MAX_AMOUNT_MINOR) {
    throw new UnprocessableError('The order total is above the largest payment', 'ORDER_TOO_LARGE');
  }
  return { lines, total };
}
