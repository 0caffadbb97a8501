-- Every order credits the merchant, so its one row per currency serialised all orders: each
-- held the row's lock until its commit was flushed. The merchant is now several rows (shards)
-- per currency; an order credits one of them at random, a refund debits the one its payment
-- credited, and the merchant's balance is their sum. Only the merchant is sharded.
ALTER TABLE accounts ADD COLUMN shard smallint NOT NULL DEFAULT 0 CHECK (shard >= 0);
ALTER TABLE accounts ADD CONSTRAINT accounts_only_merchant_sharded
  CHECK (kind = 'merchant' OR shard = 0);

DROP INDEX accounts_system_key;
CREATE UNIQUE INDEX accounts_system_key ON accounts (kind, currency, shard) WHERE kind <> 'wallet';
