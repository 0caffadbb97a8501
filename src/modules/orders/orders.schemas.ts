import { Type, type Static } from 'typebox';
import { PageQuerySchema } from '../../platform/http/pagination.js';
import { Currency, minorUnits } from '../../platform/http/money.js';

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
  { $id: 'Order', title: 'Order' },
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
  { additionalProperties: false },
);
export type PlaceOrderInput = Static<typeof PlaceOrderBody>;

export const OrderIdParams = Type.Object({ id: Id });
export const OrdersQuery = Type.Object(PageQuerySchema, { additionalProperties: false });
