-- Branch ledger, schema 1: branches, desks, each desk's sync position, the orders (a projection
-- of the history) and the append-only order history, partitioned by month.
--
-- Never card data: the only card-derived value is pan_last4 (exactly 4 digits). Identifier and
-- label columns refuse PAN-shaped values (13–19 consecutive digits passing the Luhn check) and
-- free-text columns refuse runs of 12 or more digits: the desk scrubs them before sending, these
-- checks are the server's own line of defence.
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
-- Value rules (IMMUTABLE: used by CHECK constraints)
-- ---------------------------------------------------------------------------------------------

-- Luhn check of a string of digits.
CREATE FUNCTION ledger.luhn_valid(digits text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(sum(
               CASE WHEN (length(digits) - i) % 2 = 1
                    THEN (CASE WHEN 2 * d > 9 THEN 2 * d - 9 ELSE 2 * d END)
                    ELSE d END) % 10 = 0, false)
    FROM (SELECT i, substr(digits, i, 1)::int AS d
          FROM pg_catalog.generate_series(1, length(digits)) AS i) AS s
$$;

-- A run of 13–19 consecutive digits that passes the Luhn check: shaped like a card number.
CREATE FUNCTION ledger.pan_shaped(value text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT value ~ '[0-9]{13}'
       AND EXISTS (SELECT 1
                   FROM pg_catalog.regexp_matches(value, '[0-9]+', 'g') AS m(run)
                   WHERE length(m.run[1]) BETWEEN 13 AND 19
                     AND ledger.luhn_valid(m.run[1]))
$$;

-- Ledger identifiers (branch, region, desk): 1–40 characters among A-Z a-z 0-9 _ -.
CREATE FUNCTION ledger.is_ledger_id(value text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT value ~ '^[A-Za-z0-9_-]{1,40}$'
$$;

-- D1 identifiers (card id, consumer id, issuer request id, correlation id, operation id):
-- ^[A-Za-z0-9_-]{1,64}$ and nothing PAN-shaped.
CREATE FUNCTION ledger.is_d1_id(value text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT value ~ '^[A-Za-z0-9_-]{1,64}$' AND NOT ledger.pan_shaped(value)
$$;

-- Labels (operator, product, station, issuance type): 1..max characters, not blank, no control
-- characters, nothing PAN-shaped.
CREATE FUNCTION ledger.is_label(value text, max_chars int) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT length(value) BETWEEN 1 AND max_chars
       AND btrim(value) <> ''
       AND value !~ '[[:cntrl:]]'
       AND NOT ledger.pan_shaped(value)
$$;

-- Free text (D1 status, error code and message, detail): at most max characters, no control
-- characters, no run of 12 or more digits.
CREATE FUNCTION ledger.is_free_text(value text, max_chars int) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT length(value) BETWEEN 1 AND max_chars
       AND value !~ '[[:cntrl:]]'
       AND value !~ '[0-9]{12}'
$$;

-- The journal's order states (order-journal OrderState), and which of them are final.
CREATE FUNCTION ledger.is_order_state(value text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT value IN ('intent', 'sending', 'accepted', 'outcome_unknown', 'in_production',
                     'done', 'failed', 'rejected', 'abandoned')
$$;

CREATE FUNCTION ledger.is_final_state(value text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT value IN ('done', 'failed', 'rejected', 'abandoned')
$$;

-- ---------------------------------------------------------------------------------------------
-- Reference tables: branches and desks
-- ---------------------------------------------------------------------------------------------

CREATE TABLE ledger.branches (
    branch_id  text COLLATE "C" NOT NULL
        CONSTRAINT branch_id_is_ledger_id CHECK (ledger.is_ledger_id(branch_id)),
    region_id  text COLLATE "C"
        CONSTRAINT region_id_is_ledger_id CHECK (ledger.is_ledger_id(region_id)),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (branch_id)
);
CREATE INDEX branches_region ON ledger.branches (region_id, branch_id);

-- A desk: one PC at a counter (teller) or a regional supervisor's desk (sees every branch of its
-- branch's region). Its login role (role_name, the CN of its client certificate) is unique in the
-- cluster, hence desk_id is unique across the bank.
CREATE TABLE ledger.desks (
    branch_id  text COLLATE "C" NOT NULL REFERENCES ledger.branches (branch_id),
    desk_id    text COLLATE "C" NOT NULL
        CONSTRAINT desk_id_is_ledger_id CHECK (ledger.is_ledger_id(desk_id)),
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
    branch_id     text COLLATE "C" NOT NULL,
    desk_id       text COLLATE "C" NOT NULL,
    last_seq      bigint NOT NULL DEFAULT 0 CONSTRAINT last_seq_not_negative CHECK (last_seq >= 0),
    last_event_at timestamptz,
    last_sync_at  timestamptz,
    PRIMARY KEY (branch_id, desk_id),
    FOREIGN KEY (branch_id, desk_id) REFERENCES ledger.desks (branch_id, desk_id)
);

-- One row per order (card id): the journal's masked fields plus branch and desk. Maintained by
-- ledger.append_events only; never written by a desk directly.
CREATE TABLE ledger.orders (
    branch_id         text COLLATE "C" NOT NULL,
    card_id           text COLLATE "C" NOT NULL
        CONSTRAINT card_id_is_d1_id CHECK (ledger.is_d1_id(card_id)),
    desk_id           text COLLATE "C" NOT NULL,
    created_at        timestamptz NOT NULL,
    operator          text NOT NULL CONSTRAINT operator_is_label CHECK (ledger.is_label(operator, 256)),
    consumer_id       text COLLATE "C" NOT NULL
        CONSTRAINT consumer_id_is_d1_id CHECK (ledger.is_d1_id(consumer_id)),
    product_id        text NOT NULL CONSTRAINT product_id_is_label CHECK (ledger.is_label(product_id, 128)),
    station_id        text NOT NULL CONSTRAINT station_id_is_label CHECK (ledger.is_label(station_id, 128)),
    issuance_type     text NOT NULL
        CONSTRAINT issuance_type_is_label CHECK (ledger.is_label(issuance_type, 128)),
    pan_last4         text COLLATE "C" NOT NULL
        CONSTRAINT pan_last4_is_4_digits CHECK (pan_last4 ~ '^[0-9]{4}$'),
    issuer_request_id text COLLATE "C" NOT NULL
        CONSTRAINT issuer_request_id_is_d1_id CHECK (ledger.is_d1_id(issuer_request_id)),
    correlation_id    text COLLATE "C" NOT NULL
        CONSTRAINT correlation_id_is_d1_id CHECK (ledger.is_d1_id(correlation_id)),
    operation_id      text COLLATE "C"
        CONSTRAINT operation_id_is_d1_id CHECK (ledger.is_d1_id(operation_id)),
    state             text NOT NULL CONSTRAINT state_is_order_state CHECK (ledger.is_order_state(state)),
    d1_status         text CONSTRAINT d1_status_is_free_text CHECK (ledger.is_free_text(d1_status, 100)),
    error_code        text CONSTRAINT error_code_is_free_text CHECK (ledger.is_free_text(error_code, 100)),
    error_message     text
        CONSTRAINT error_message_is_free_text CHECK (ledger.is_free_text(error_message, 1000)),
    updated_at        timestamptz NOT NULL,
    PRIMARY KEY (branch_id, card_id),
    FOREIGN KEY (branch_id, desk_id) REFERENCES ledger.desks (branch_id, desk_id)
);

-- The supervisor's list: newest first per branch, keyset (created_at, card_id). Filters on the
-- low-cardinality labels (product, issuance type, station, operator, desk) walk this index and
-- stop after one page; the rare ones (a state, a consumer, an operation, last 4) have their own.
CREATE INDEX orders_newest    ON ledger.orders (branch_id, created_at, card_id);
CREATE INDEX orders_state     ON ledger.orders (branch_id, state, created_at, card_id);
CREATE INDEX orders_consumer  ON ledger.orders (branch_id, consumer_id);
CREATE INDEX orders_operation ON ledger.orders (branch_id, operation_id)
    WHERE operation_id IS NOT NULL;
CREATE INDEX orders_last4     ON ledger.orders (branch_id, pan_last4, created_at);

-- The history: every event every desk appended, never changed. Key: the desk's own sequence
-- number (branch_id, desk_id, seq); received_at (the server's time of the append) is in the key
-- only because it is the partition key. Uniqueness of (branch_id, desk_id, seq) across months is
-- guaranteed by ledger.append_events, which serializes a desk's appends on its desk_sync row and
-- accepts only seq = last_seq + 1.
--
-- kind: 'intent' (the order's labels are set) or 'transition' (a change of state or D1 status).
-- Schema versions for approvals, spoiled cards and exception handling add kinds (README).
CREATE TABLE ledger.order_events (
    branch_id         text COLLATE "C" NOT NULL,
    desk_id           text COLLATE "C" NOT NULL,
    seq               bigint NOT NULL CONSTRAINT seq_positive CHECK (seq > 0),
    received_at       timestamptz NOT NULL DEFAULT now(),
    card_id           text COLLATE "C" NOT NULL
        CONSTRAINT card_id_is_d1_id CHECK (ledger.is_d1_id(card_id)),
    kind              text NOT NULL CONSTRAINT event_kind CHECK (kind IN ('intent', 'transition')),
    at                timestamptz NOT NULL,
    state             text NOT NULL CONSTRAINT state_is_order_state CHECK (ledger.is_order_state(state)),
    operator          text NOT NULL CONSTRAINT operator_is_label CHECK (ledger.is_label(operator, 256)),
    d1_status         text CONSTRAINT d1_status_is_free_text CHECK (ledger.is_free_text(d1_status, 100)),
    operation_id      text COLLATE "C"
        CONSTRAINT operation_id_is_d1_id CHECK (ledger.is_d1_id(operation_id)),
    error_code        text CONSTRAINT error_code_is_free_text CHECK (ledger.is_free_text(error_code, 100)),
    error_message     text
        CONSTRAINT error_message_is_free_text CHECK (ledger.is_free_text(error_message, 1000)),
    detail            text CONSTRAINT detail_is_free_text CHECK (ledger.is_free_text(detail, 1000)),
    -- intent only
    consumer_id       text COLLATE "C"
        CONSTRAINT consumer_id_is_d1_id CHECK (ledger.is_d1_id(consumer_id)),
    product_id        text CONSTRAINT product_id_is_label CHECK (ledger.is_label(product_id, 128)),
    station_id        text CONSTRAINT station_id_is_label CHECK (ledger.is_label(station_id, 128)),
    issuance_type     text
        CONSTRAINT issuance_type_is_label CHECK (ledger.is_label(issuance_type, 128)),
    pan_last4         text COLLATE "C"
        CONSTRAINT pan_last4_is_4_digits CHECK (pan_last4 ~ '^[0-9]{4}$'),
    issuer_request_id text COLLATE "C"
        CONSTRAINT issuer_request_id_is_d1_id CHECK (ledger.is_d1_id(issuer_request_id)),
    correlation_id    text COLLATE "C"
        CONSTRAINT correlation_id_is_d1_id CHECK (ledger.is_d1_id(correlation_id)),
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
