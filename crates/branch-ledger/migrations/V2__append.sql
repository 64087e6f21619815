-- Branch ledger, schema 2: who a session is, what it may see, and the one way to write.
--
-- A desk's identity is its login role: session_user (the certificate's CN, checked by the
-- server's `cert` authentication), never an argument. SET ROLE cannot change session_user, and
-- desk roles are not members of each other.
--
-- Custom SQLSTATEs (mapped to LedgerError variants by the Rust crate):
--   LD001 this session is not an active desk of the ledger
--   LD002 an event is malformed
--   LD003 a replayed sequence number carries different content (conflict)
--   LD004 an event skips ahead of the next expected sequence number (gap)
--   LD005 an intent for a card id the branch already has
--   LD006 a transition for an order the branch does not have
--   LD007 history rows cannot be changed (V1 trigger)

SET ROLE ledger_owner;

-- The desk of this session (no row when the session is not a desk).
CREATE FUNCTION ledger.whoami()
RETURNS TABLE (branch_id text, desk_id text, region_id text, kind text, role_name text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT d.branch_id, d.desk_id, b.region_id, d.kind, d.role_name
    FROM ledger.desks AS d JOIN ledger.branches AS b USING (branch_id)
    WHERE d.role_name = session_user AND d.retired_at IS NULL
$$;

-- The branches this session may read: its desk's branch; for a regional desk every branch of
-- that branch's region. Empty for anyone else (row-level security then shows nothing).
CREATE FUNCTION ledger.my_branches() RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(array_agg(DISTINCT b.branch_id), '{}')
    FROM ledger.desks AS d
    JOIN ledger.branches AS home ON home.branch_id = d.branch_id
    JOIN ledger.branches AS b
      ON b.branch_id = d.branch_id
      OR (d.kind = 'regional' AND home.region_id IS NOT NULL AND b.region_id = home.region_id)
    WHERE d.role_name = session_user AND d.retired_at IS NULL
$$;

-- One event as a desk sends it (a JSON object; unknown members are ignored).
CREATE TYPE ledger.event_input AS (
    seq               bigint,
    at                timestamptz,
    card_id           text,
    kind              text,
    state             text,
    operator          text,
    d1_status         text,
    operation_id      text,
    error_code        text,
    error_message     text,
    detail            text,
    consumer_id       text,
    product_id        text,
    station_id        text,
    issuance_type     text,
    pan_last4         text,
    issuer_request_id text,
    correlation_id    text
);

-- Appends this desk's events, in order, and maintains the orders projection; returns the highest
-- sequence number the ledger now holds for the desk (acked_seq) and the first event this call
-- added (first_new; NULL when nothing was new). Idempotent: an event whose seq the ledger
-- already holds is compared with the stored one (equal: skipped; different: LD003). The next new
-- event must be last_seq + 1 (else LD004): nothing is lost silently. An empty array records a
-- sync (heartbeat). One transaction: either the whole batch is appended or nothing. Listeners
-- are told by ledger.announce, which the desk calls next.
--
-- The projection follows the latest event by the desk's time, except that a final state is never
-- replaced by an in-flight one (events of one order may come from several desks of the branch:
-- the teller's, and a supervisor's refresh).
CREATE FUNCTION ledger.append_events(p_events jsonb, OUT acked_seq bigint, OUT first_new bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_branch    text;
    v_desk      text;
    v_last      bigint;
    v_last_at   timestamptz;
    v_now       timestamptz := now();
    v_count     int;
    e           ledger.event_input;
    s           ledger.order_events%ROWTYPE;
    o           record;
    v_apply     boolean;
    v_final     boolean;
BEGIN
    SELECT d.branch_id, d.desk_id INTO v_branch, v_desk
    FROM ledger.desks AS d
    WHERE d.role_name = session_user AND d.retired_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LD001',
            MESSAGE = format('the role %s is not an active desk of this ledger', session_user),
            HINT = 'register the desk with: issuance-desk-admin ledger add-desk';
    END IF;
    IF p_events IS NULL OR jsonb_typeof(p_events) <> 'array' THEN
        RAISE EXCEPTION USING ERRCODE = 'LD002', MESSAGE = 'the events must be a JSON array';
    END IF;
    v_count := jsonb_array_length(p_events);
    IF v_count > 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'LD002',
            MESSAGE = 'at most 1000 events can be appended at once';
    END IF;

    -- Serializes this desk's appends (two connections of one desk cannot interleave).
    SELECT ds.last_seq INTO v_last
    FROM ledger.desk_sync AS ds
    WHERE ds.branch_id = v_branch AND ds.desk_id = v_desk
    FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO ledger.desk_sync (branch_id, desk_id) VALUES (v_branch, v_desk);
        v_last := 0;
    END IF;

    IF v_count > 0 THEN
        PERFORM ledger.ensure_history_partition(v_now);
    END IF;

    FOR i IN 0 .. v_count - 1 LOOP
        IF jsonb_typeof(p_events -> i) <> 'object' THEN
            RAISE EXCEPTION USING ERRCODE = 'LD002',
                MESSAGE = format('element %s of the array is not an event object', i);
        END IF;
        e := jsonb_populate_record(NULL::ledger.event_input, p_events -> i);
        IF e.seq IS NULL OR e.seq < 1 THEN
            RAISE EXCEPTION USING ERRCODE = 'LD002',
                MESSAGE = format('element %s: seq must be a whole number from 1', i);
        END IF;
        IF e.kind IS NULL OR e.kind NOT IN ('intent', 'transition') THEN
            RAISE EXCEPTION USING ERRCODE = 'LD002',
                MESSAGE = format('event %s: kind must be intent or transition', e.seq);
        END IF;
        IF e.at IS NULL OR e.card_id IS NULL OR e.state IS NULL OR e.operator IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'LD002',
                MESSAGE = format('event %s: at, card_id, state and operator are required', e.seq);
        END IF;
        IF e.kind = 'transition' AND (e.consumer_id IS NOT NULL OR e.product_id IS NOT NULL
                OR e.station_id IS NOT NULL OR e.issuance_type IS NOT NULL
                OR e.pan_last4 IS NOT NULL OR e.issuer_request_id IS NOT NULL
                OR e.correlation_id IS NOT NULL) THEN
            RAISE EXCEPTION USING ERRCODE = 'LD002',
                MESSAGE = format('event %s: only an intent carries the order''s labels', e.seq);
        END IF;

        IF e.seq <= v_last THEN
            -- A replay: it must be exactly what the ledger holds.
            SELECT * INTO s FROM ledger.order_events AS h
            WHERE h.branch_id = v_branch AND h.desk_id = v_desk AND h.seq = e.seq;
            IF FOUND AND (s.card_id, s.kind, s.at, s.state, s.operator, s.d1_status,
                          s.operation_id, s.error_code, s.error_message, s.detail,
                          s.consumer_id, s.product_id, s.station_id, s.issuance_type,
                          s.pan_last4, s.issuer_request_id, s.correlation_id)
                IS DISTINCT FROM
                         (e.card_id, e.kind, e.at, e.state, e.operator, e.d1_status,
                          e.operation_id, e.error_code, e.error_message, e.detail,
                          e.consumer_id, e.product_id, e.station_id, e.issuance_type,
                          e.pan_last4, e.issuer_request_id, e.correlation_id) THEN
                RAISE EXCEPTION USING ERRCODE = 'LD003',
                    MESSAGE = format('event %s of desk %s is already in the ledger with different '
                                     'content; a replay must resend exactly the same event',
                                     e.seq, v_desk);
            END IF;
            CONTINUE;
        END IF;
        IF e.seq <> v_last + 1 THEN
            RAISE EXCEPTION USING ERRCODE = 'LD004',
                MESSAGE = format('event %s arrived but the ledger expects event %s of desk %s next: '
                                 'send the events in order, without gaps', e.seq, v_last + 1, v_desk);
        END IF;

        IF e.kind = 'intent' THEN
            INSERT INTO ledger.orders AS ord (branch_id, card_id, desk_id, created_at, operator,
                consumer_id, product_id, station_id, issuance_type, pan_last4, issuer_request_id,
                correlation_id, state, updated_at)
            VALUES (v_branch, e.card_id, v_desk, e.at, e.operator, e.consumer_id, e.product_id,
                e.station_id, e.issuance_type, e.pan_last4, e.issuer_request_id, e.correlation_id,
                'intent', e.at)
            ON CONFLICT (branch_id, card_id) DO NOTHING;
            IF NOT FOUND THEN
                RAISE EXCEPTION USING ERRCODE = 'LD005',
                    MESSAGE = format('event %s: the branch already has an order with this card id; '
                                     'every order needs a new card id', e.seq);
            END IF;
        ELSE
            SELECT ord.state, ord.updated_at INTO o
            FROM ledger.orders AS ord
            WHERE ord.branch_id = v_branch AND ord.card_id = e.card_id
            FOR UPDATE;
            IF NOT FOUND THEN
                RAISE EXCEPTION USING ERRCODE = 'LD006',
                    MESSAGE = format('event %s: the branch has no order with this card id; '
                                     'append its intent first', e.seq);
            END IF;
            v_final := ledger.is_final_state(e.state);
            v_apply := (v_final AND NOT ledger.is_final_state(o.state))
                    OR (v_final = ledger.is_final_state(o.state) AND e.at >= o.updated_at);
            IF v_apply THEN
                UPDATE ledger.orders AS ord SET
                    state = e.state,
                    d1_status = coalesce(e.d1_status, ord.d1_status),
                    operation_id = coalesce(ord.operation_id, e.operation_id),
                    error_code = CASE WHEN e.state IN ('failed', 'rejected', 'abandoned')
                                      THEN e.error_code ELSE ord.error_code END,
                    error_message = CASE WHEN e.state IN ('failed', 'rejected', 'abandoned')
                                         THEN e.error_message ELSE ord.error_message END,
                    updated_at = greatest(ord.updated_at, e.at)
                WHERE ord.branch_id = v_branch AND ord.card_id = e.card_id;
            ELSIF e.operation_id IS NOT NULL THEN
                -- An older event still teaches the operation id.
                UPDATE ledger.orders AS ord SET operation_id = e.operation_id
                WHERE ord.branch_id = v_branch AND ord.card_id = e.card_id
                  AND ord.operation_id IS NULL;
            END IF;
        END IF;

        INSERT INTO ledger.order_events (branch_id, desk_id, seq, received_at, card_id, kind, at,
            state, operator, d1_status, operation_id, error_code, error_message, detail,
            consumer_id, product_id, station_id, issuance_type, pan_last4, issuer_request_id,
            correlation_id)
        VALUES (v_branch, v_desk, e.seq, v_now, e.card_id, e.kind, e.at, e.state, e.operator,
            e.d1_status, e.operation_id, e.error_code, e.error_message, e.detail, e.consumer_id,
            e.product_id, e.station_id, e.issuance_type, e.pan_last4, e.issuer_request_id,
            e.correlation_id);
        first_new := coalesce(first_new, e.seq);
        v_last := e.seq;
        v_last_at := greatest(v_last_at, e.at);
    END LOOP;

    UPDATE ledger.desk_sync AS ds SET
        last_seq = v_last,
        last_event_at = greatest(ds.last_event_at, v_last_at),
        last_sync_at = v_now
    WHERE ds.branch_id = v_branch AND ds.desk_id = v_desk;

    acked_seq := v_last;
END
$$;

-- Tells listeners (channel ledger_orders) that this desk's events p_from..p_to are in the
-- ledger: called by the desk right after a successful append, in a transaction of its own.
-- (NOTIFY inside the append would serialize every append's commit, fsync included: PostgreSQL
-- holds a database-wide lock from a notifying transaction's pre-commit until after its commit.
-- Here the transaction writes nothing, so it commits without waiting for the disk.)
-- The payload says which events are new (branch, desk, seq range), never their content; a desk
-- can only announce events of its own stream that the ledger holds.
CREATE FUNCTION ledger.announce(p_from bigint, p_to bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_branch text;
    v_desk   text;
    v_last   bigint;
BEGIN
    SELECT d.branch_id, d.desk_id, s.last_seq INTO v_branch, v_desk, v_last
    FROM ledger.desks AS d
    JOIN ledger.desk_sync AS s USING (branch_id, desk_id)
    WHERE d.role_name = session_user AND d.retired_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LD001',
            MESSAGE = format('the role %s is not an active desk of this ledger', session_user);
    END IF;
    IF p_from IS NULL OR p_to IS NULL OR p_from < 1 OR p_to < p_from OR p_to > v_last THEN
        RAISE EXCEPTION USING ERRCODE = 'LD002',
            MESSAGE = 'announce a range of events the ledger holds for this desk';
    END IF;
    PERFORM pg_notify('ledger_orders', json_build_object(
        'branch', v_branch, 'desk', v_desk, 'from', p_from, 'to', p_to)::text);
END
$$;

-- The schema version recorded by the migration runner (for the desk's and IT's status checks).
CREATE FUNCTION ledger.schema_version() RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT max(version)::integer FROM public.ledger_schema_history
$$;

RESET ROLE;
-- ledger.schema_version() runs as ledger_owner: it must read the runner's table.
GRANT SELECT ON public.ledger_schema_history TO ledger_owner;
