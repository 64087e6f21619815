-- Order journal, schema 6: spoiled cards and reissues (counter workflows).
-- orders: when the card was reported spoiled and why (a reason code), and the spoiled order a
-- reissue replaces. The outbox carries both to the ledger: a 'spoiled' event (reason code, last 4)
-- and an intent's reissue_of. The outbox is rebuilt to accept the new kind; its numbering (the
-- ledger's sequence numbers) continues where it was, even when the queue is empty.

ALTER TABLE orders ADD COLUMN reissue_of TEXT;
ALTER TABLE orders ADD COLUMN spoiled_at INTEGER;
ALTER TABLE orders ADD COLUMN spoiled_reason TEXT;
CREATE INDEX orders_reissue ON orders (reissue_of) WHERE reissue_of IS NOT NULL;
CREATE INDEX orders_spoiled ON orders (spoiled_at) WHERE spoiled_at IS NOT NULL;

CREATE TEMP TABLE outbox_numbering AS
    SELECT seq FROM sqlite_sequence WHERE name = 'ledger_outbox';

CREATE TABLE ledger_outbox_5 (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    at                INTEGER NOT NULL,
    card_id           TEXT    NOT NULL,
    operator          TEXT    NOT NULL,
    kind              TEXT    NOT NULL CHECK (kind IN ('intent', 'transition', 'spoiled')),
    state             TEXT    NOT NULL
        CHECK (state IN ('intent', 'sending', 'accepted', 'outcome_unknown', 'in_production',
                         'done', 'failed', 'rejected', 'abandoned', 'no_record')),
    d1_status         TEXT,
    operation_id      TEXT,
    error_code        TEXT,
    error_message     TEXT,
    detail            TEXT,
    -- intent only (pan_last4: intent and spoiled)
    consumer_id       TEXT,
    product_id        TEXT,
    station_id        TEXT,
    issuance_type     TEXT,
    pan_last4         TEXT
        CHECK (pan_last4 IS NULL OR (length(pan_last4) = 4
                                     AND pan_last4 GLOB '[0-9][0-9][0-9][0-9]')),
    issuer_request_id TEXT,
    correlation_id    TEXT,
    reissue_of        TEXT,
    -- spoiled only
    reason_code       TEXT,
    CHECK (kind <> 'intent' OR (state = 'intent' AND consumer_id IS NOT NULL
        AND product_id IS NOT NULL AND station_id IS NOT NULL AND issuance_type IS NOT NULL
        AND pan_last4 IS NOT NULL AND issuer_request_id IS NOT NULL
        AND correlation_id IS NOT NULL)),
    CHECK (kind <> 'spoiled' OR (reason_code IS NOT NULL AND pan_last4 IS NOT NULL)),
    CHECK (reason_code IS NULL OR kind = 'spoiled'),
    CHECK (reissue_of IS NULL OR kind = 'intent')
) STRICT;

INSERT INTO ledger_outbox_5 (seq, at, card_id, operator, kind, state, d1_status, operation_id,
    error_code, error_message, detail, consumer_id, product_id, station_id, issuance_type,
    pan_last4, issuer_request_id, correlation_id)
SELECT seq, at, card_id, operator, kind, state, d1_status, operation_id, error_code,
    error_message, detail, consumer_id, product_id, station_id, issuance_type, pan_last4,
    issuer_request_id, correlation_id
FROM ledger_outbox;
DROP TABLE ledger_outbox;
ALTER TABLE ledger_outbox_5 RENAME TO ledger_outbox;
DELETE FROM sqlite_sequence WHERE name IN ('ledger_outbox', 'ledger_outbox_5');
INSERT INTO sqlite_sequence (name, seq) SELECT 'ledger_outbox', seq FROM temp.outbox_numbering;
DROP TABLE temp.outbox_numbering;
