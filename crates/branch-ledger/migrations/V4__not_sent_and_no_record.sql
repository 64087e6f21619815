-- Ledger schema 4: the journal's order truth rules (order-journal schema 2).
-- 1. The state `no_record`: D1 still had no record of an order that may have been sent, after the
--    desk's grace period. Not final: a person must look, and a late answer still wins.
-- 2. A transition back to `intent`: the desk's attempt certainly did not leave it (no connection,
--    TLS refused), so nothing of the order is at D1 — the journal's `record_not_sent`. An intent
--    as the *first* event of an order keeps the kind 'intent' with its labels.

ALTER DOMAIN ledger.order_state DROP CONSTRAINT order_state_known;
ALTER DOMAIN ledger.order_state ADD CONSTRAINT order_state_known CHECK (VALUE IN ('intent',
    'sending', 'accepted', 'outcome_unknown', 'in_production', 'done', 'failed', 'rejected',
    'abandoned', 'no_record'));

ALTER TABLE ledger.order_events DROP CONSTRAINT transition_is_not_an_intent;
