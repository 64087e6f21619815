-- Order journal, schema 3: the outbox of the branch ledger.
-- Every change of an order is queued here in the same transaction as the change itself, numbered
-- 1, 2, 3 … without gaps (AUTOINCREMENT never reuses a number, even once the queue was emptied),
-- and removed once the ledger has acknowledged it. Rows are self-contained, so a status answer
-- about another desk's order (a supervisor's refresh) can be queued too. Never card data: the
-- only card-derived value is the last 4 digits of an intent.

CREATE TABLE ledger_outbox (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    at                INTEGER NOT NULL,
    card_id           TEXT    NOT NULL,
    operator          TEXT    NOT NULL,
    kind              TEXT    NOT NULL CHECK (kind IN ('intent', 'transition')),
    state             TEXT    NOT NULL
        CHECK (state IN ('intent', 'sending', 'accepted', 'outcome_unknown', 'in_production',
                         'done', 'failed', 'rejected', 'abandoned', 'no_record')),
    d1_status         TEXT,
    operation_id      TEXT,
    error_code        TEXT,
    error_message     TEXT,
    detail            TEXT,
    -- intent only
    consumer_id       TEXT,
    product_id        TEXT,
    station_id        TEXT,
    issuance_type     TEXT,
    pan_last4         TEXT
        CHECK (pan_last4 IS NULL OR (length(pan_last4) = 4
                                     AND pan_last4 GLOB '[0-9][0-9][0-9][0-9]')),
    issuer_request_id TEXT,
    correlation_id    TEXT,
    CHECK (kind <> 'intent' OR (state = 'intent' AND consumer_id IS NOT NULL
        AND product_id IS NOT NULL AND station_id IS NOT NULL AND issuance_type IS NOT NULL
        AND pan_last4 IS NOT NULL AND issuer_request_id IS NOT NULL
        AND correlation_id IS NOT NULL))
) STRICT;

-- The history written before there was an outbox goes to the ledger too, in order: the first
-- event of each order is its intent, with its labels.
INSERT INTO ledger_outbox (at, card_id, operator, kind, state, d1_status, operation_id,
                           error_code, error_message, detail, consumer_id, product_id,
                           station_id, issuance_type, pan_last4, issuer_request_id,
                           correlation_id)
SELECT e.at, o.card_id, o.operator,
       CASE WHEN e.id = (SELECT min(f.id) FROM order_events f WHERE f.order_id = e.order_id)
            THEN 'intent' ELSE 'transition' END,
       e.state, e.d1_status,
       CASE WHEN e.state IN ('accepted', 'in_production', 'done', 'failed') THEN o.operation_id END,
       CASE WHEN e.state = o.state AND e.state IN ('failed', 'rejected', 'abandoned', 'no_record')
            THEN o.error_code END,
       CASE WHEN e.state = o.state AND e.state IN ('failed', 'rejected', 'abandoned', 'no_record')
            THEN o.error_message END,
       e.detail,
       o.consumer_id, o.product_id, o.station_id, o.issuance_type, o.pan_last4,
       o.issuer_request_id, o.correlation_id
FROM order_events e JOIN orders o ON o.id = e.order_id
ORDER BY e.id;
-- Labels belong to intents only.
UPDATE ledger_outbox SET consumer_id = NULL, product_id = NULL, station_id = NULL,
    issuance_type = NULL, pan_last4 = NULL, issuer_request_id = NULL, correlation_id = NULL
WHERE kind = 'transition';
