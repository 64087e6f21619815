-- Order journal, schema 5.
-- The supervisor finds an order by any part of its consumer id, whatever the case ("7005" or
-- "cust-7005" finds CUST-7005): a trigram full-text index of `orders.consumer_id` (FTS5,
-- external content: the ids are not stored twice), kept in step by triggers. A search of 3 or
-- more characters reads the index, never the whole table.

CREATE VIRTUAL TABLE orders_consumer_search USING fts5(
    consumer_id,
    content = 'orders',
    content_rowid = 'id',
    tokenize = 'trigram case_sensitive 0'
);

INSERT INTO orders_consumer_search (orders_consumer_search) VALUES ('rebuild');

CREATE TRIGGER orders_consumer_search_insert AFTER INSERT ON orders BEGIN
    INSERT INTO orders_consumer_search (rowid, consumer_id) VALUES (new.id, new.consumer_id);
END;

CREATE TRIGGER orders_consumer_search_delete AFTER DELETE ON orders BEGIN
    INSERT INTO orders_consumer_search (orders_consumer_search, rowid, consumer_id)
        VALUES ('delete', old.id, old.consumer_id);
END;

CREATE TRIGGER orders_consumer_search_update AFTER UPDATE OF consumer_id ON orders BEGIN
    INSERT INTO orders_consumer_search (orders_consumer_search, rowid, consumer_id)
        VALUES ('delete', old.id, old.consumer_id);
    INSERT INTO orders_consumer_search (rowid, consumer_id) VALUES (new.id, new.consumer_id);
END;
