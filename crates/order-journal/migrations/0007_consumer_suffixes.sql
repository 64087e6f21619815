-- Order journal, schema 7: the consumer-id search reads an index of the id's suffixes instead
-- of the FTS5 trigram index of schema 5.
-- FTS5 answers "contains" by reading the list of orders of every trigram of the text, and the
-- trigrams every id shares ("CUS", "000") list nearly every order: 50–300 ms from a cold disk
-- on 1,000,000 orders. A text is in an id exactly when it starts one of the id's suffixes, so
-- with every suffix indexed (lower case, the first 16 characters of each, 3 characters or
-- more: a search needs at least 3) a search is one range of this index, which also holds each
-- order's place in the list: the newest matches come out without reading an order row.
-- Cost: one index entry per character of the id (~25 bytes each).

DROP TRIGGER orders_consumer_search_insert;
DROP TRIGGER orders_consumer_search_delete;
DROP TRIGGER orders_consumer_search_update;
DROP TABLE orders_consumer_search;

-- 1..64: a consumer id has at most 64 characters (desk_domain::ConsumerId).
CREATE TABLE consumer_id_positions (n INTEGER PRIMARY KEY) STRICT;
WITH RECURSIVE p(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM p WHERE n < 64)
INSERT INTO consumer_id_positions (n) SELECT n FROM p;

CREATE TABLE orders_consumer_suffix (
    suffix     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    id         INTEGER NOT NULL,
    PRIMARY KEY (suffix, created_at, id)
) STRICT, WITHOUT ROWID;

-- What the index must hold for the orders as they are: filling it here and in the benchmark's
-- generator, and checking it (Journal::integrity_check). Two suffixes of one id can be the
-- same (16 characters of "AAAA…"): inserts ignore the second.
CREATE VIEW orders_consumer_suffix_expected AS
    SELECT substr(lower(o.consumer_id), p.n, 16) AS suffix, o.created_at, o.id
    FROM orders o JOIN consumer_id_positions p ON p.n <= length(o.consumer_id) - 2;

INSERT OR IGNORE INTO orders_consumer_suffix (suffix, created_at, id)
    SELECT suffix, created_at, id FROM orders_consumer_suffix_expected ORDER BY 1, 2, 3;

-- Triggers cannot read the view with new.* and old.*: the same expression, per order.
CREATE TRIGGER orders_consumer_suffix_insert AFTER INSERT ON orders BEGIN
    INSERT OR IGNORE INTO orders_consumer_suffix (suffix, created_at, id)
        SELECT substr(lower(new.consumer_id), n, 16), new.created_at, new.id
        FROM consumer_id_positions WHERE n <= length(new.consumer_id) - 2;
END;

CREATE TRIGGER orders_consumer_suffix_delete AFTER DELETE ON orders BEGIN
    DELETE FROM orders_consumer_suffix
    WHERE suffix IN (SELECT substr(lower(old.consumer_id), n, 16)
                     FROM consumer_id_positions WHERE n <= length(old.consumer_id) - 2)
      AND created_at = old.created_at AND id = old.id;
END;

CREATE TRIGGER orders_consumer_suffix_update AFTER UPDATE OF consumer_id, created_at ON orders
BEGIN
    DELETE FROM orders_consumer_suffix
    WHERE suffix IN (SELECT substr(lower(old.consumer_id), n, 16)
                     FROM consumer_id_positions WHERE n <= length(old.consumer_id) - 2)
      AND created_at = old.created_at AND id = old.id;
    INSERT OR IGNORE INTO orders_consumer_suffix (suffix, created_at, id)
        SELECT substr(lower(new.consumer_id), n, 16), new.created_at, new.id
        FROM consumer_id_positions WHERE n <= length(new.consumer_id) - 2;
END;
