-- Order journal, schema 2.
-- 1. The state `no_record`: D1 still has no record of an order that may have been sent, long
--    after it could have been processing it. Not final; a person must look. SQLite cannot change
--    a CHECK constraint in place, so `orders` is rebuilt (with foreign keys off, see db.rs).
-- 2. The journal's identity: the one D1 (environment + issuer) whose orders it holds.

CREATE TABLE orders_v2 (
    id                INTEGER PRIMARY KEY,
    created_at        INTEGER NOT NULL,
    operator          TEXT    NOT NULL,
    consumer_id       TEXT    NOT NULL,
    product_id        TEXT    NOT NULL,
    station_id        TEXT    NOT NULL,
    issuance_type     TEXT    NOT NULL,
    pan_last4         TEXT    NOT NULL
        CHECK (length(pan_last4) = 4 AND pan_last4 GLOB '[0-9][0-9][0-9][0-9]'),
    card_id           TEXT    NOT NULL UNIQUE,
    issuer_request_id TEXT    NOT NULL,
    correlation_id    TEXT    NOT NULL,
    operation_id      TEXT,
    state             TEXT    NOT NULL
        CHECK (state IN ('intent', 'sending', 'accepted', 'outcome_unknown', 'in_production',
                         'done', 'failed', 'rejected', 'abandoned', 'no_record')),
    d1_status         TEXT,
    error_code        TEXT,
    error_message     TEXT,
    updated_at        INTEGER NOT NULL
) STRICT;

INSERT INTO orders_v2 SELECT * FROM orders;
DROP TABLE orders;
ALTER TABLE orders_v2 RENAME TO orders;

CREATE INDEX orders_created      ON orders (created_at);
CREATE INDEX orders_state        ON orders (state, created_at);
CREATE INDEX orders_station      ON orders (station_id, created_at, id,
                                            operator, product_id, issuance_type, state);
CREATE INDEX orders_operator     ON orders (operator, created_at, id,
                                            station_id, product_id, issuance_type, state);
CREATE INDEX orders_product      ON orders (product_id, created_at, id,
                                            station_id, operator, issuance_type, state);
CREATE INDEX orders_issuance     ON orders (issuance_type, created_at, id,
                                            station_id, operator, product_id, state);
CREATE INDEX orders_consumer     ON orders (consumer_id, created_at);
CREATE INDEX orders_last4        ON orders (pan_last4, created_at);
CREATE INDEX orders_operation    ON orders (operation_id) WHERE operation_id IS NOT NULL;
CREATE INDEX orders_failures     ON orders (created_at, station_id, error_code, d1_status)
    WHERE state IN ('failed', 'rejected');

CREATE TABLE journal_identity (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    environment TEXT    NOT NULL,
    issuer_id   TEXT    NOT NULL,
    stamped_at  INTEGER NOT NULL
) STRICT;
