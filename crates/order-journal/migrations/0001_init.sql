-- Order journal, schema 1.
-- One row per order and its status history. Never card data: only the last 4 digits of the PAN.
-- Times are UTC milliseconds since the Unix epoch.

CREATE TABLE orders (
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
                         'done', 'failed', 'rejected', 'abandoned')),
    d1_status         TEXT,
    error_code        TEXT,
    error_message     TEXT,
    updated_at        INTEGER NOT NULL
) STRICT;

CREATE TABLE order_events (
    id        INTEGER PRIMARY KEY,
    order_id  INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    at        INTEGER NOT NULL,
    state     TEXT    NOT NULL,
    d1_status TEXT,
    detail    TEXT
) STRICT;

-- Supervisor queries: newest first, keyset paging on (created_at, id). Every filter index starts
-- with (filter column, created_at, id), so "filter = x ORDER BY created_at DESC, id DESC" is an
-- ordered index walk that stops after one page. The four label indexes also carry the other
-- labels and the state: a combination of filters that matches few orders is checked inside the
-- index of its most selective column, without reading the table row by row.
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
-- Charts of failures (by time, reason, station) read only this small covering index.
CREATE INDEX orders_failures     ON orders (created_at, station_id, error_code, d1_status)
    WHERE state IN ('failed', 'rejected');
CREATE INDEX order_events_order  ON order_events (order_id, at);
