-- Order journal, schema 2: indexes that keep the supervisor's list fast when the journal is not
-- in memory (every page read is then a disk read).

-- The time index also holds the consumer id and the last 4: a prefix search that matches many
-- orders walks it newest first and finds a page without reading order rows (list.rs). `id` is
-- part of the key so a walk comes out in (created_at, id) order, the list's order.
DROP INDEX orders_created;
CREATE INDEX orders_created ON orders (created_at, id, consumer_id, pan_last4);

-- Station and operator together: a combination of filters with both (the narrowest a
-- supervisor usually asks for) is a range of this index in time order instead of a scan of
-- one operator's whole history. Only columns that never change after the intent, so order
-- updates do not touch it.
CREATE INDEX orders_station_operator ON orders (station_id, operator, created_at, id,
                                                product_id, issuance_type);

-- The state index carries the labels as well: "failed at this station this month" is checked
-- inside the index instead of reading every failed order's row.
DROP INDEX orders_state;
CREATE INDEX orders_state ON orders (state, created_at, id,
                                     station_id, operator, product_id, issuance_type);
