import { Type, type Static } from 'typebox';
import { PageQuerySchema } from '../../platform/http/pagination.js';
import { Currency, minorUnits } from '../../platform/http/money.js';
import { PRODUCT_EXAMPLE } from '../products/products.schemas.js';
import { USER_EXAMPLE } from '../users/users.schemas.js';

export const MAX_ORDER_LINES = 50;
export const MAX_QUANTITY = 1000;

const Id = Type.String({ format: 'uuid' });
const Timestamp = Type.String({ format: 'date-time' });
/**
 * The states an order is ever seen in: placed `paid` or `payment_failed` by one statement
 * (OrdersService.placeOrder), then `cancelled`. The orders CHECK constraint (migration 0008)
 * still admits `pending`, which no code writes: it is no state a client can meet.
 */
const OrderStatus = Type.Union([
  Type.Literal('paid'),
  Type.Literal('payment_failed'),
  Type.Literal('cancelled'),
]);

export const ORDER_EXAMPLE = {
  id: '0193a5b0-7c1e-7d3a-9f00-1a2b3c4d5e07',
  userId: USER_EXAMPLE.id,
  status: 'paid' as const,
  items: [
    {
      productId: PRODUCT_EXAMPLE.id,
      name: PRODUCT_EXAMPLE.name,
      unitPrice: PRODUCT_EXAMPLE.priceMinor,
      quantity: 2,
      lineTotal: 2 * PRODUCT_EXAMPLE.priceMinor,
    },
  ],
  total: 2 * PRODUCT_EXAMPLE.priceMinor,
  currency: PRODUCT_EXAMPLE.currency,
  paymentId: '0193a5b0-7c1e-7d3a-9f00-1a2b3c4d5e08',
  refundId: null,
  createdAt: '2026-01-15T09:30:00.000Z',
  updatedAt: '2026-01-15T09:30:00.000Z',
};

export const OrderSchema = Type.Object(
  {
    id: Id,
    userId: Type.Union([Id, Type.Null()]),
    status: OrderStatus,
    items: Type.Array(
      Type.Object({
        productId: Id,
        name: Type.String({ maxLength: 200 }),
        unitPrice: minorUnits("The product's price when ordered"),
        quantity: Type.Integer(),
        lineTotal: minorUnits('unitPrice × quantity'),
      }),
      { maxItems: MAX_ORDER_LINES },
    ),
    total: minorUnits('The sum of the lines, charged to the wallet'),
    currency: Currency,
    paymentId: Type.Union([Id, Type.Null()]),
    refundId: Type.Union([Id, Type.Null()]),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'Order', title: 'Order', examples: [ORDER_EXAMPLE] },
);

export const PlaceOrderBody = Type.Object(
  {
    items: Type.Array(
      Type.Object(
        {
          productId: Id,
          quantity: Type.Integer({ minimum: 1, maximum: MAX_QUANTITY }),
        },
        { additionalProperties: false },
      ),
      {
        minItems: 1,
        maxItems: MAX_ORDER_LINES,
        description: 'Each product once; prices come from the catalogue, never from the client',
      },
    ),
  },
  {
    additionalProperties: false,
    examples: [{ items: [{ productId: PRODUCT_EXAMPLE.id, quantity: 2 }] }],
  },
);
export type PlaceOrderInput = Static<typeof PlaceOrderBody>;

export const OrderIdParams = Type.Object({
  id: Type.String({ format: 'uuid', examples: [ORDER_EXAMPLE.id] }),
});
export const OrdersQuery = Type.Object(PageQuerySchema, { additionalProperties: false });
