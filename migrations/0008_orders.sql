-- Orders, paid through the ledger. An order and its payment commit together: a paid order has
-- its payment's journal row, a cancelled one also its refund's, and neither can exist alone.
CREATE TABLE orders (
  id               uuid PRIMARY KEY,
  -- Kept when the user is deleted (an order is a financial record); it only loses its owner.
  user_id          uuid REFERENCES users (id) ON DELETE SET NULL,
  status           text NOT NULL CHECK (status IN ('pending', 'paid', 'payment_failed', 'cancelled')),
  total_minor      bigint NOT NULL CHECK (total_minor >= 0),
  currency         text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  payment_entry_id uuid UNIQUE REFERENCES journal_entries (id),
  -- UNIQUE: one refund per order, whatever races to cancel it.
  refund_entry_id  uuid UNIQUE REFERENCES journal_entries (id),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  -- A free order (total 0) is paid without a journal row: the ledger only records movements.
  CONSTRAINT orders_paid_has_payment CHECK (
    status NOT IN ('paid', 'cancelled') OR payment_entry_id IS NOT NULL OR total_minor = 0
  ),
  CONSTRAINT orders_refund_only_when_cancelled CHECK (
    refund_entry_id IS NULL OR status = 'cancelled'
  )
);

-- A user's orders, newest first.
CREATE INDEX orders_user_created_idx ON orders (user_id, created_at DESC, id DESC);

-- The lines of an order, with the name and price of the product as it was when ordered: later
-- catalogue changes don't rewrite what someone bought.
CREATE TABLE order_items (
  order_id         uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  position         integer NOT NULL CHECK (position >= 0),
  product_id       uuid NOT NULL REFERENCES products (id),
  name             text NOT NULL,
  unit_price_minor bigint NOT NULL CHECK (unit_price_minor >= 0),
  quantity         integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
  line_total_minor bigint NOT NULL CHECK (line_total_minor = unit_price_minor * quantity),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (order_id, position)
);
