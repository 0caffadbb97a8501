-- An order is written before its payment (or its cancellation before its refund): the journal
-- row is the transaction's last write, so that the merchant's row, which every order credits,
-- is locked only from that write to the commit. The references are checked at commit instead.
ALTER TABLE orders
  ALTER CONSTRAINT orders_payment_entry_id_fkey DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE orders
  ALTER CONSTRAINT orders_refund_entry_id_fkey DEFERRABLE INITIALLY DEFERRED;
