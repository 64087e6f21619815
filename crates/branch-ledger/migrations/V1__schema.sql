-- Branch ledger, schema 1: branches, desks, each desk's sync position, the orders (a projection
-- of the history) and the append-only order history, partitioned by month.
--
-- Never card data: the only card-derived value is pan_last4 (exactly 4 digits). Identifier and
-- label columns refuse PAN-shaped values (13–19 consecutive digits passing the Luhn check) and
-- free-text columns refuse runs of 12 or more digits: the desk scrubs them before sending, these
-- domains are the server's own line of defence.
--
-- Every primary and foreign key starts with branch_id, so the two big tables (orders,
-- order_events) and desk_sync can be distributed by branch (Citus) and stay co-located;
-- branches and desks are small reference tables. See the crate README.
--
-- Ownership: every object belongs to the NOLOGIN role ledger_owner (the DBA's role is made a
-- member of it); the SECURITY DEFINER functions of V2 run as ledger_owner.

DO $$
BEGIN
    CREATE ROLE ledger_owner NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL; -- another ledger database of this cluster created it
END
$$;
GRANT ledger_owner TO CURRENT_USER;

CREATE SCHEMA ledger AUTHORIZATION ledger_owner;
SET ROLE ledger_owner;

-- ---------------------------------------------------------------------------------------------
-- Value rules, as domains: said once, checked on every value written, and prepared once per
-- session (a CHECK constraint calling a SQL function is re-planned by every statement).
-- ---------------------------------------------------------------------------------------------

-- Luhn check of a string of digits.
CREATE FUNCTION ledger.luhn_valid(digits text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    total int := 0;
    d int;
BEGIN
    FOR i IN 1 .. length(digits) LOOP
        d := substr(digits, length(digits) - i + 1, 1)::int;
        IF i % 2 = 0 THEN
            d := d * 2;
            IF d > 9 THEN
                d := d - 9;
            END IF;
        END IF;
        total := total + d;
    END LOOP;
    RETURN total % 10 = 0;
END
$$;

-- A run of 13–19 consecutive digits that passes the Luhn check: shaped like a card number.
-- (The journal refuses the same; the domains below call this only when 13 digits follow each
-- other, which no valid value has.)
CREATE FUNCTION ledger.pan_shaped(value text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    RETURN EXISTS (SELECT 1
                   FROM regexp_matches(value, '[0-9]+', 'g') AS m(run)
                   WHERE length(m.run[1]) BETWEEN 13 AND 19
                     AND ledger.luhn_valid(m.run[1]));
END
$$;

-- Ledger identifiers (branch, region, desk): 1–40 characters among A-Z a-z 0-9 _ -.
CREATE DOMAIN ledger.ledger_id AS text COLLATE "C"
    CONSTRAINT ledger_id_pattern CHECK (VALUE ~ '^[A-Za-z0-9_-]{1,40}$');

-- D1 identifiers (card id, consumer id, issuer request id, correlation id, operation id):
-- ^[A-Za-z0-9_-]{1,64}$ and nothing PAN-shaped.
CREATE DOMAIN ledger.d1_id AS text COLLATE "C"
    CONSTRAINT d1_id_pattern CHECK (VALUE ~ '^[A-Za-z0-9_-]{1,64}$')
    CONSTRAINT d1_id_not_a_card_number
        CHECK (VALUE !~ '[0-9]{13}' OR NOT ledger.pan_shaped(VALUE));

-- Labels (operator: up to 256 characters; product, station, issuance type: up to 128, checked
-- by the tables): not blank, no control characters, nothing PAN-shaped.
CREATE DOMAIN ledger.label AS text
    CONSTRAINT label_length CHECK (length(VALUE) BETWEEN 1 AND 256 AND btrim(VALUE) <> '')
    CONSTRAINT label_no_control CHECK (VALUE !~ '[[:cntrl:]]')
    CONSTRAINT label_not_a_card_number
        CHECK (VALUE !~ '[0-9]{13}' OR NOT ledger.pan_shaped(VALUE));

-- Free text (D1 status and error code: up to 100 characters; error message and detail: up to
-- 1000): no control characters, no run of 12 or more digits (the desk scrubs them).
CREATE DOMAIN ledger.code_text AS text
    CONSTRAINT code_text_rules
        CHECK (length(VALUE) BETWEEN 1 AND 100 AND VALUE !~ '[[:cntrl:]]' AND VALUE !~ '[0-9]{12}');
CREATE DOMAIN ledger.message_text AS text
    CONSTRAINT message_text_rules
        CHECK (length(VALUE) BETWEEN 1 AND 1000 AND VALUE !~ '[[:cntrl:]]' AND VALUE !~ '[0-9]{12}');

-- The last 4 digits of a PAN: the only card data the ledger holds.
CREATE DOMAIN ledger.pan_last4 AS text COLLATE "C"
    CONSTRAINT pan_last4_is_4_digits CHECK (VALUE ~ '^[0-9]{4}$');

-- The journal's order states (order-journal OrderState).
CREATE DOMAIN ledger.order_state AS text
    CONSTRAINT order_state_known CHECK (VALUE IN ('intent', 'sending', 'accepted',
        'outcome_unknown', 'in_production', 'done', 'failed', 'rejected', 'abandoned'));

-- Which states are final.
CREATE FUNCTION ledger.is_final_state(value text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT value IN ('done', 'failed', 'rejected', 'abandoned')
$$;

-- ---------------------------------------------------------------------------------------------
-- Reference tables: branches and desks
-- ---------------------------------------------------------------------------------------------

CREATE TABLE ledger.branches (
    branch_id  ledger.ledger_id NOT NULL,
    region_id  ledger.ledger_id,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (branch_id)
);
CREATE INDEX branches_region ON ledger.branches (region_id, branch_id);

-- A desk: one PC at a counter (teller) or a regional supervisor's desk (sees every branch of its
-- branch's region). Its login role (role_name, the CN of its client certificate) is unique in the
-- cluster, hence desk_id is unique across the bank.
CREATE TABLE ledger.desks (
    branch_id  ledger.ledger_id NOT NULL REFERENCES ledger.branches (branch_id),
    desk_id    ledger.ledger_id NOT NULL,
    role_name  text COLLATE "C" NOT NULL,
    kind       text NOT NULL CONSTRAINT desk_kind CHECK (kind IN ('teller', 'regional')),
    created_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz,
    PRIMARY KEY (branch_id, desk_id)
);
CREATE UNIQUE INDEX desks_desk_id ON ledger.desks (desk_id);
CREATE UNIQUE INDEX desks_role_name ON ledger.desks (role_name);

-- ---------------------------------------------------------------------------------------------
-- Distributed tables (by branch_id)
-- ---------------------------------------------------------------------------------------------

-- Where each desk's event stream stands: the highest sequence number the ledger holds and when
-- the desk last synced (an empty append is a heartbeat).
CREATE TABLE ledger.desk_sync (
    branch_id     ledger.ledger_id NOT NULL,
    desk_id       ledger.ledger_id NOT NULL,
    last_seq      bigint NOT NULL DEFAULT 0 CONSTRAINT last_seq_not_negative CHECK (last_seq >= 0),
    last_event_at timestamptz,
    last_sync_at  timestamptz,
    PRIMARY KEY (branch_id, desk_id),
    FOREIGN KEY (branch_id, desk_id) REFERENCES ledger.desks (branch_id, desk_id)
);

-- One row per order (card id): the journal's masked fields plus branch and desk. Maintained by
-- ledger.append_events only; never written by a desk directly.
CREATE TABLE ledger.orders (
    branch_id         ledger.ledger_id NOT NULL,
    card_id           ledger.d1_id NOT NULL,
    desk_id           ledger.ledger_id NOT NULL,
    created_at        timestamptz NOT NULL,
    operator          ledger.label NOT NULL,
    consumer_id       ledger.d1_id NOT NULL,
    product_id        ledger.label NOT NULL CONSTRAINT product_id_length CHECK (length(product_id) <= 128),
    station_id        ledger.label NOT NULL CONSTRAINT station_id_length CHECK (length(station_id) <= 128),
    issuance_type     ledger.label NOT NULL
        CONSTRAINT issuance_type_length CHECK (length(issuance_type) <= 128),
    pan_last4         ledger.pan_last4 NOT NULL,
    issuer_request_id ledger.d1_id NOT NULL,
    correlation_id    ledger.d1_id NOT NULL,
    operation_id      ledger.d1_id,
    state             ledger.order_state NOT NULL,
    d1_status         ledger.code_text,
    error_code        ledger.code_text,
    error_message     ledger.message_text,
    updated_at        timestamptz NOT NULL,
    PRIMARY KEY (branch_id, card_id),
    FOREIGN KEY (branch_id, desk_id) REFERENCES ledger.desks (branch_id, desk_id)
) WITH (fillfactor = 80);

-- The supervisor's list: newest first per branch, keyset (created_at, card_id). Filters on the
-- labels and the state walk this index and stop after one page (a branch holds about 20,000
-- orders a year); the searches (a consumer, an operation, last 4) have their own. No index
-- contains the state or the D1 status, so most changes of an order are HOT updates (room left
-- by the fill factor), which keeps appends cheap.
CREATE INDEX orders_newest    ON ledger.orders (branch_id, created_at, card_id);
CREATE INDEX orders_consumer  ON ledger.orders (branch_id, consumer_id);
CREATE INDEX orders_operation ON ledger.orders (branch_id, operation_id)
    WHERE operation_id IS NOT NULL;
CREATE INDEX orders_last4     ON ledger.orders (branch_id, pan_last4, created_at);

-- A desk, an operator and a station belong to one branch: without these statistics the planner
-- multiplies "this branch" by "this desk" as if independent, expects one row, and sorts the
-- whole branch instead of walking orders_newest.
CREATE STATISTICS ledger.orders_branch_dependencies (dependencies)
    ON branch_id, desk_id, operator, station_id FROM ledger.orders;

-- The history: every event every desk appended, never changed. Key: the desk's own sequence
-- number (branch_id, desk_id, seq); received_at (the server's time of the append) is in the key
-- only because it is the partition key. Uniqueness of (branch_id, desk_id, seq) across months is
-- guaranteed by ledger.append_events, which serializes a desk's appends on its desk_sync row and
-- accepts only seq = last_seq + 1.
--
-- kind: 'intent' (the order's labels are set) or 'transition' (a change of state or D1 status).
-- Schema versions for approvals, spoiled cards and exception handling add kinds (README).
CREATE TABLE ledger.order_events (
    branch_id         ledger.ledger_id NOT NULL,
    desk_id           ledger.ledger_id NOT NULL,
    seq               bigint NOT NULL CONSTRAINT seq_positive CHECK (seq > 0),
    received_at       timestamptz NOT NULL DEFAULT now(),
    card_id           ledger.d1_id NOT NULL,
    kind              text NOT NULL CONSTRAINT event_kind CHECK (kind IN ('intent', 'transition')),
    at                timestamptz NOT NULL,
    state             ledger.order_state NOT NULL,
    operator          ledger.label NOT NULL,
    d1_status         ledger.code_text,
    operation_id      ledger.d1_id,
    error_code        ledger.code_text,
    error_message     ledger.message_text,
    detail            ledger.message_text,
    -- intent only
    consumer_id       ledger.d1_id,
    product_id        ledger.label CONSTRAINT product_id_length CHECK (length(product_id) <= 128),
    station_id        ledger.label CONSTRAINT station_id_length CHECK (length(station_id) <= 128),
    issuance_type     ledger.label
        CONSTRAINT issuance_type_length CHECK (length(issuance_type) <= 128),
    pan_last4         ledger.pan_last4,
    issuer_request_id ledger.d1_id,
    correlation_id    ledger.d1_id,
    CONSTRAINT intent_has_the_order CHECK (
        kind <> 'intent' OR (state = 'intent' AND consumer_id IS NOT NULL
            AND product_id IS NOT NULL AND station_id IS NOT NULL AND issuance_type IS NOT NULL
            AND pan_last4 IS NOT NULL AND issuer_request_id IS NOT NULL
            AND correlation_id IS NOT NULL)),
    CONSTRAINT transition_is_not_an_intent CHECK (kind <> 'transition' OR state <> 'intent'),
    PRIMARY KEY (branch_id, desk_id, seq, received_at),
    FOREIGN KEY (branch_id, desk_id) REFERENCES ledger.desks (branch_id, desk_id)
) PARTITION BY RANGE (received_at);

-- An order's timeline.
CREATE INDEX order_events_order ON ledger.order_events (branch_id, card_id, at);

-- The history is append-only for everyone, its owner included: retention detaches and drops
-- whole monthly partitions (DEPLOYMENT.md), which fires no row trigger.
CREATE FUNCTION ledger.refuse_history_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'LD007',
        MESSAGE = 'the order history is append-only: its rows cannot be changed, deleted or truncated',
        HINT = 'retention drops whole monthly partitions (see the DBA section of DEPLOYMENT.md)';
END
$$;
CREATE TRIGGER history_is_append_only
    BEFORE UPDATE OR DELETE ON ledger.order_events
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_history_change();
CREATE TRIGGER history_is_never_truncated
    BEFORE TRUNCATE ON ledger.order_events
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_history_change();

-- The monthly partition (UTC months) holding instant p_at, created when missing. Named
-- order_events_YYYY_MM. Safe to call concurrently.
CREATE FUNCTION ledger.ensure_history_partition(p_at timestamptz) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_month timestamp := date_trunc('month', p_at AT TIME ZONE 'UTC');
    v_name  text := 'order_events_' || to_char(v_month, 'YYYY_MM');
BEGIN
    IF to_regclass('ledger.' || v_name) IS NOT NULL THEN
        RETURN v_name;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('ledger.order_events partitions'));
    IF to_regclass('ledger.' || v_name) IS NOT NULL THEN
        RETURN v_name;
    END IF;
    EXECUTE format(
        'CREATE TABLE ledger.%I PARTITION OF ledger.order_events FOR VALUES FROM (%L) TO (%L)',
        v_name, v_month AT TIME ZONE 'UTC', (v_month + interval '1 month') AT TIME ZONE 'UTC');
    RETURN v_name;
END
$$;

SELECT ledger.ensure_history_partition(now());
SELECT ledger.ensure_history_partition(now() + interval '1 month');

RESET ROLE;
