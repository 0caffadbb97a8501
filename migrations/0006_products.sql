-- The catalogue. Prices are integer minor units with their currency, never floats; rows are
-- deactivated, not deleted, because orders keep pointing at what they bought.
CREATE TABLE products (
  id          uuid PRIMARY KEY,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  description text NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
  price_minor bigint NOT NULL CHECK (price_minor >= 0 AND price_minor <= 100000000000),
  currency    text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  active      boolean NOT NULL DEFAULT true,
  -- Incremented by every update: the write-through cache keeps the highest version, so cache
  -- writes that arrive out of order can't replace a newer row with an older one.
  version     bigint NOT NULL DEFAULT 0,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The public list (active products only) in each of its orders; a b-tree reads backwards too,
-- so one index serves a sort and its reverse. The id breaks ties, as the queries do.
CREATE INDEX products_active_created_idx ON products (created_at DESC, id DESC) WHERE active;
CREATE INDEX products_active_price_idx ON products (price_minor, id) WHERE active;
CREATE INDEX products_active_name_idx ON products (name, id) WHERE active;

-- The catalogue managers' list, inactive products included, in its default order.
CREATE INDEX products_created_idx ON products (created_at DESC, id DESC);
