-- Ledger schema 5: counter workflows (issue 13).
--
-- 1. Dual control: ledger.approval_requests and ledger.approval_decisions (one decision per
--    request, enforced by the key), written only by request_approval / decide_approval /
--    cancel_approval. The approver is never the requester, no decision after expiry, one
--    decision only: refused here, whatever the desk's window does.
-- 2. Spoiled cards: a history event of kind 'spoiled' (who, when, reason code, last 4) appended
--    through append_events like every other event of a desk; a new order's intent may carry
--    reissue_of, the spoiled order it replaces.
-- 3. Exceptions owned until resolved: ledger.exception_events (taken / commented / resolved),
--    written only by take_exception / comment_exception / resolve_exception.
-- 4. Counter time: orders.sent_at (first 'sending', desk clock) and orders.done_at (first
--    'done'), kept by append_events; backfilled from the history.
--
-- Every new record is append-only (row triggers refuse UPDATE and DELETE, a statement trigger
-- TRUNCATE), keyed by branch_id first, and read through the same row-level security as V3.
--
-- New SQLSTATEs (mapped to LedgerError::Refused by the Rust crate, one rule each):
--   LD008 the approver is the requester
--   LD009 the approval request has expired
--   LD010 the approval request has already been decided (or canceled)
--   LD011 no such approval request in this desk's branch (or not this desk's to cancel)
--   LD012 only a finished order (done or failed) can be reported spoiled
--   LD013 the order has already been reported spoiled
--   LD014 a reissue must replace a spoiled order of the same branch
--   LD015 a done order is not an exception
--   LD016 the exception has been resolved
--   LD017 only the person who took the exception can resolve it
--   LD018 an order whose approval request was not approved (for this desk) cannot be recorded

SET ROLE ledger_owner;

-- A reason from the desk's configured list (spoiled cards): a short lower-case code.
CREATE DOMAIN ledger.reason_code AS text COLLATE "C"
    CONSTRAINT reason_code_pattern CHECK (VALUE ~ '^[a-z][a-z0-9_]{0,39}$');

-- The same operator, as people write user names: case and surrounding spaces do not make
-- another person (Windows user names are case-insensitive).
CREATE FUNCTION ledger.same_person(a text, b text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT lower(btrim(a)) = lower(btrim(b))
$$;

-- The desk of this session, or LD001.
CREATE FUNCTION ledger.current_desk(OUT branch_id text, OUT desk_id text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    SELECT d.branch_id, d.desk_id INTO branch_id, desk_id
    FROM ledger.desks AS d
    WHERE d.role_name = session_user AND d.retired_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LD001',
            MESSAGE = format('the role %s is not an active desk of this ledger', session_user),
            HINT = 'register the desk with: issuance-desk-admin ledger add-desk';
    END IF;
END
$$;

-- Counter records are append-only for everyone, their owner included.
CREATE FUNCTION ledger.refuse_record_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'LD007',
        MESSAGE = format('%s is append-only: its rows cannot be changed, deleted or truncated',
                         TG_TABLE_NAME);
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Dual control
-- ---------------------------------------------------------------------------------------------

-- A teller's request for a second person's approval, with the masked summary of the order it
-- holds (the card data stays in the teller's process). Keyed by the card id the order will use.
CREATE TABLE ledger.approval_requests (
    branch_id     ledger.ledger_id NOT NULL,
    card_id       ledger.d1_id NOT NULL,
    desk_id       ledger.ledger_id NOT NULL,
    requested_by  ledger.label NOT NULL,
    consumer_id   ledger.d1_id NOT NULL,
    product_id    ledger.label NOT NULL CONSTRAINT product_id_length CHECK (length(product_id) <= 128),
    station_id    ledger.label NOT NULL CONSTRAINT station_id_length CHECK (length(station_id) <= 128),
    issuance_type ledger.label NOT NULL
        CONSTRAINT issuance_type_length CHECK (length(issuance_type) <= 128),
    pan_last4     ledger.pan_last4 NOT NULL,
    reason        ledger.message_text NOT NULL,
    requested_at  timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    CONSTRAINT expires_within_a_day
        CHECK (expires_at > requested_at AND expires_at <= requested_at + interval '1 day'),
    PRIMARY KEY (branch_id, card_id),
    FOREIGN KEY (branch_id, desk_id) REFERENCES ledger.desks (branch_id, desk_id)
);
CREATE INDEX approval_requests_recent ON ledger.approval_requests (branch_id, requested_at);

-- The one decision on a request: approved or declined by another person, or canceled by the
-- requesting desk. The primary key makes a second decision impossible.
CREATE TABLE ledger.approval_decisions (
    branch_id  ledger.ledger_id NOT NULL,
    card_id    ledger.d1_id NOT NULL,
    decision   text NOT NULL CONSTRAINT decision_known
        CHECK (decision IN ('approved', 'declined', 'canceled')),
    decided_by ledger.label NOT NULL,
    desk_id    ledger.ledger_id NOT NULL,
    comment    ledger.message_text,
    decided_at timestamptz NOT NULL,
    PRIMARY KEY (branch_id, card_id),
    FOREIGN KEY (branch_id, card_id) REFERENCES ledger.approval_requests (branch_id, card_id),
    FOREIGN KEY (branch_id, desk_id) REFERENCES ledger.desks (branch_id, desk_id)
);

CREATE TRIGGER approval_requests_are_append_only
    BEFORE UPDATE OR DELETE ON ledger.approval_requests
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_record_change();
CREATE TRIGGER approval_requests_are_never_truncated
    BEFORE TRUNCATE ON ledger.approval_requests
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_record_change();
CREATE TRIGGER approval_decisions_are_append_only
    BEFORE UPDATE OR DELETE ON ledger.approval_decisions
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_record_change();
CREATE TRIGGER approval_decisions_are_never_truncated
    BEFORE TRUNCATE ON ledger.approval_decisions
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_record_change();

-- A request with its decision and status, as supervisors and the requesting desk read it
-- (security_invoker: the reader's row-level security applies).
CREATE VIEW ledger.approvals WITH (security_invoker = true) AS
    SELECT r.branch_id, r.card_id, r.desk_id, r.requested_by, r.consumer_id, r.product_id,
           r.station_id, r.issuance_type, r.pan_last4, r.reason, r.requested_at, r.expires_at,
           CASE WHEN d.decision IS NOT NULL THEN d.decision
                WHEN now() >= r.expires_at THEN 'expired'
                ELSE 'pending' END AS status,
           d.decided_by, d.desk_id AS decided_desk, d.comment, d.decided_at
    FROM ledger.approval_requests AS r
    LEFT JOIN ledger.approval_decisions AS d USING (branch_id, card_id);

-- Tells listeners (channel ledger_counter) that the approvals or exceptions of a branch changed:
-- which branch and what kind, never the content (any role may LISTEN to any channel).
-- Approvals and exceptions are rare, so notifying inside their transaction costs nothing that
-- matters (the order appends notify through ledger.announce instead).
CREATE FUNCTION ledger.counter_changed(p_branch text, p_kind text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_notify('ledger_counter', json_build_object('branch', p_branch, 'kind', p_kind)::text)
$$;

-- A teller asks for approval of the order it holds (masked summary and a reason). Idempotent:
-- the same request again returns the stored one; another request for the same card id is a
-- conflict (LD003). Refused when the branch already has an order with this card id (LD005).
-- The timeout is the desk's configuration, bounded here (1 s .. 1 day) so no request stays
-- open for ever. Times are the server's.
CREATE FUNCTION ledger.request_approval(
    p_card_id text, p_operator text, p_consumer_id text, p_product_id text, p_station_id text,
    p_issuance_type text, p_pan_last4 text, p_reason text, p_timeout_seconds integer,
    OUT requested_at timestamptz, OUT expires_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me ledger.approval_requests%ROWTYPE;
    r  ledger.approval_requests%ROWTYPE;
BEGIN
    SELECT * INTO me.branch_id, me.desk_id FROM ledger.current_desk();
    IF p_timeout_seconds IS NULL OR p_timeout_seconds < 1 OR p_timeout_seconds > 86400 THEN
        RAISE EXCEPTION USING ERRCODE = 'LD002',
            MESSAGE = 'the approval timeout must be between 1 second and 1 day';
    END IF;
    IF p_card_id IS NULL OR p_operator IS NULL OR p_reason IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LD002',
            MESSAGE = 'an approval request needs a card id, an operator and a reason';
    END IF;
    IF EXISTS (SELECT 1 FROM ledger.orders AS o
               WHERE o.branch_id = me.branch_id AND o.card_id = p_card_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'LD005',
            MESSAGE = 'the branch already has an order with this card id: approval comes before the order';
    END IF;
    me.card_id := p_card_id;
    me.requested_by := p_operator;
    me.consumer_id := p_consumer_id;
    me.product_id := p_product_id;
    me.station_id := p_station_id;
    me.issuance_type := p_issuance_type;
    me.pan_last4 := p_pan_last4;
    me.reason := p_reason;
    me.requested_at := now();
    me.expires_at := now() + make_interval(secs => p_timeout_seconds);
    INSERT INTO ledger.approval_requests VALUES (me.*) ON CONFLICT (branch_id, card_id) DO NOTHING;
    IF NOT FOUND THEN
        SELECT * INTO r FROM ledger.approval_requests AS a
        WHERE a.branch_id = me.branch_id AND a.card_id = p_card_id;
        IF (r.desk_id, r.requested_by, r.consumer_id, r.product_id, r.station_id,
            r.issuance_type, r.pan_last4, r.reason)
           IS DISTINCT FROM
           (me.desk_id, me.requested_by, me.consumer_id, me.product_id, me.station_id,
            me.issuance_type, me.pan_last4, me.reason) THEN
            RAISE EXCEPTION USING ERRCODE = 'LD003',
                MESSAGE = 'another approval request already uses this card id';
        END IF;
        requested_at := r.requested_at;
        expires_at := r.expires_at;
        RETURN;
    END IF;
    PERFORM ledger.counter_changed(me.branch_id, 'approval');
    requested_at := me.requested_at;
    expires_at := me.expires_at;
END
$$;

-- A person at any desk of the branch approves or declines a request. Refused: no such request
-- in this branch (LD011), the approver is the requester (LD008), already decided (LD010),
-- expired (LD009). The same decision again by the same person returns the stored one (a retry
-- after a lost answer).
CREATE FUNCTION ledger.decide_approval(
    p_card_id text, p_operator text, p_decision text, p_comment text)
RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_branch text;
    v_desk   text;
    r        ledger.approval_requests%ROWTYPE;
    d        ledger.approval_decisions%ROWTYPE;
BEGIN
    SELECT * INTO v_branch, v_desk FROM ledger.current_desk();
    IF p_decision IS NULL OR p_decision NOT IN ('approved', 'declined') THEN
        RAISE EXCEPTION USING ERRCODE = 'LD002',
            MESSAGE = 'a decision is approved or declined';
    END IF;
    IF p_operator IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LD002', MESSAGE = 'a decision needs the operator';
    END IF;
    -- Serializes decisions on this request (the row is never updated: the lock only orders).
    SELECT * INTO r FROM ledger.approval_requests AS a
    WHERE a.branch_id = v_branch AND a.card_id = p_card_id
    FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LD011',
            MESSAGE = 'the branch has no approval request for this order';
    END IF;
    IF ledger.same_person(r.requested_by, p_operator) THEN
        RAISE EXCEPTION USING ERRCODE = 'LD008',
            MESSAGE = 'the person who asked for the approval cannot give it: another person must decide';
    END IF;
    SELECT * INTO d FROM ledger.approval_decisions AS x
    WHERE x.branch_id = v_branch AND x.card_id = p_card_id;
    IF FOUND THEN
        IF d.decision = p_decision AND ledger.same_person(d.decided_by, p_operator)
           AND d.comment IS NOT DISTINCT FROM p_comment THEN
            RETURN d.decided_at;
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'LD010',
            MESSAGE = format('the request was already %s', d.decision);
    END IF;
    IF now() >= r.expires_at THEN
        RAISE EXCEPTION USING ERRCODE = 'LD009',
            MESSAGE = 'the approval request has expired: the teller must ask again';
    END IF;
    INSERT INTO ledger.approval_decisions (branch_id, card_id, decision, decided_by, desk_id,
        comment, decided_at)
    VALUES (v_branch, p_card_id, p_decision, p_operator, v_desk, p_comment, now());
    PERFORM ledger.counter_changed(v_branch, 'approval');
    RETURN now();
END
$$;

-- The requesting desk withdraws its request (the teller canceled, or its window ended the
-- wait). Refused for a request of another desk (LD011) or one already decided otherwise
-- (LD010); nothing is recorded for an expired request (it ended already).
CREATE FUNCTION ledger.cancel_approval(p_card_id text, p_operator text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_branch text;
    v_desk   text;
    r        ledger.approval_requests%ROWTYPE;
    d        ledger.approval_decisions%ROWTYPE;
BEGIN
    SELECT * INTO v_branch, v_desk FROM ledger.current_desk();
    SELECT * INTO r FROM ledger.approval_requests AS a
    WHERE a.branch_id = v_branch AND a.card_id = p_card_id AND a.desk_id = v_desk
    FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LD011',
            MESSAGE = 'this desk has no approval request for this order';
    END IF;
    SELECT * INTO d FROM ledger.approval_decisions AS x
    WHERE x.branch_id = v_branch AND x.card_id = p_card_id;
    IF FOUND THEN
        IF d.decision = 'canceled' THEN
            RETURN;
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'LD010',
            MESSAGE = format('the request was already %s', d.decision);
    END IF;
    IF now() >= r.expires_at THEN
        RETURN;
    END IF;
    INSERT INTO ledger.approval_decisions (branch_id, card_id, decision, decided_by, desk_id,
        decided_at)
    VALUES (v_branch, p_card_id, 'canceled', coalesce(p_operator, r.requested_by), v_desk, now());
    PERFORM ledger.counter_changed(v_branch, 'approval');
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Spoiled cards and reissues (history kind 'spoiled'; intents may carry reissue_of)
-- ---------------------------------------------------------------------------------------------

ALTER TABLE ledger.order_events
    ADD COLUMN reason_code ledger.reason_code,
    ADD COLUMN reissue_of ledger.d1_id;
ALTER TABLE ledger.order_events DROP CONSTRAINT event_kind;
ALTER TABLE ledger.order_events ADD CONSTRAINT event_kind
    CHECK (kind IN ('intent', 'transition', 'spoiled'));
ALTER TABLE ledger.order_events ADD CONSTRAINT spoiled_has_reason_and_last4
    CHECK (kind <> 'spoiled' OR (reason_code IS NOT NULL AND pan_last4 IS NOT NULL));
ALTER TABLE ledger.order_events ADD CONSTRAINT reason_only_on_spoiled
    CHECK (reason_code IS NULL OR kind = 'spoiled');
ALTER TABLE ledger.order_events ADD CONSTRAINT reissue_only_on_intent
    CHECK (reissue_of IS NULL OR kind = 'intent');

ALTER TABLE ledger.orders
    ADD COLUMN reissue_of ledger.d1_id,
    ADD COLUMN spoiled_at timestamptz,
    ADD COLUMN spoiled_reason ledger.reason_code,
    ADD COLUMN sent_at timestamptz,
    ADD COLUMN done_at timestamptz;
CREATE INDEX orders_reissue ON ledger.orders (branch_id, reissue_of) WHERE reissue_of IS NOT NULL;

-- Counter time of the orders already in the ledger.
UPDATE ledger.orders AS o SET sent_at = t.sent_at, done_at = t.done_at
FROM (SELECT e.branch_id, e.card_id,
             min(e.at) FILTER (WHERE e.state = 'sending') AS sent_at,
             min(e.at) FILTER (WHERE e.state = 'done') AS done_at
      FROM ledger.order_events AS e
      WHERE e.state IN ('sending', 'done')
      GROUP BY e.branch_id, e.card_id) AS t
WHERE o.branch_id = t.branch_id AND o.card_id = t.card_id;

ALTER TYPE ledger.event_input ADD ATTRIBUTE reason_code text, ADD ATTRIBUTE reissue_of text;

-- append_events as in V2, plus: kind 'spoiled' (the order must be finished and not spoiled
-- yet; its last 4 must match), reissue_of on an intent (must name a spoiled order of the
-- branch), an intent whose card id has an approval request needs it approved for this desk,
-- and sent_at / done_at kept for the counter time.
CREATE OR REPLACE FUNCTION ledger.append_events(p_events jsonb, OUT acked_seq bigint, OUT first_new bigint)
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
        IF e.kind IS NULL OR e.kind NOT IN ('intent', 'transition', 'spoiled') THEN
            RAISE EXCEPTION USING ERRCODE = 'LD002',
                MESSAGE = format('event %s: kind must be intent, transition or spoiled', e.seq);
        END IF;
        IF e.at IS NULL OR e.card_id IS NULL OR e.state IS NULL OR e.operator IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'LD002',
                MESSAGE = format('event %s: at, card_id, state and operator are required', e.seq);
        END IF;
        IF e.kind <> 'intent' AND (e.consumer_id IS NOT NULL OR e.product_id IS NOT NULL
                OR e.station_id IS NOT NULL OR e.issuance_type IS NOT NULL
                OR e.issuer_request_id IS NOT NULL OR e.correlation_id IS NOT NULL
                OR e.reissue_of IS NOT NULL
                OR (e.kind = 'transition' AND e.pan_last4 IS NOT NULL)) THEN
            RAISE EXCEPTION USING ERRCODE = 'LD002',
                MESSAGE = format('event %s: only an intent carries the order''s labels', e.seq);
        END IF;
        IF e.kind = 'spoiled' AND (e.reason_code IS NULL OR e.pan_last4 IS NULL) THEN
            RAISE EXCEPTION USING ERRCODE = 'LD002',
                MESSAGE = format('event %s: a spoiled card needs a reason and its last 4 digits', e.seq);
        END IF;
        IF e.kind <> 'spoiled' AND e.reason_code IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'LD002',
                MESSAGE = format('event %s: only a spoiled card carries a reason code', e.seq);
        END IF;

        IF e.seq <= v_last THEN
            -- A replay: it must be exactly what the ledger holds.
            SELECT * INTO s FROM ledger.order_events AS h
            WHERE h.branch_id = v_branch AND h.desk_id = v_desk AND h.seq = e.seq;
            IF FOUND AND (s.card_id, s.kind, s.at, s.state, s.operator, s.d1_status,
                          s.operation_id, s.error_code, s.error_message, s.detail,
                          s.consumer_id, s.product_id, s.station_id, s.issuance_type,
                          s.pan_last4, s.issuer_request_id, s.correlation_id,
                          s.reason_code, s.reissue_of)
                IS DISTINCT FROM
                         (e.card_id, e.kind, e.at, e.state, e.operator, e.d1_status,
                          e.operation_id, e.error_code, e.error_message, e.detail,
                          e.consumer_id, e.product_id, e.station_id, e.issuance_type,
                          e.pan_last4, e.issuer_request_id, e.correlation_id,
                          e.reason_code, e.reissue_of) THEN
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
            IF EXISTS (SELECT 1 FROM ledger.approval_requests AS a
                       WHERE a.branch_id = v_branch AND a.card_id = e.card_id)
               AND NOT EXISTS (
                       SELECT 1 FROM ledger.approval_requests AS a
                       JOIN ledger.approval_decisions AS d USING (branch_id, card_id)
                       WHERE a.branch_id = v_branch AND a.card_id = e.card_id
                         AND a.desk_id = v_desk AND d.decision = 'approved') THEN
                RAISE EXCEPTION USING ERRCODE = 'LD018',
                    MESSAGE = format('event %s: this order''s approval request was not approved '
                                     'for this desk', e.seq);
            END IF;
            IF e.reissue_of IS NOT NULL AND (e.reissue_of = e.card_id OR NOT EXISTS (
                    SELECT 1 FROM ledger.orders AS sp
                    WHERE sp.branch_id = v_branch AND sp.card_id = e.reissue_of
                      AND sp.spoiled_at IS NOT NULL)) THEN
                RAISE EXCEPTION USING ERRCODE = 'LD014',
                    MESSAGE = format('event %s: a reissue must replace a spoiled order of the '
                                     'same branch', e.seq);
            END IF;
            INSERT INTO ledger.orders AS ord (branch_id, card_id, desk_id, created_at, operator,
                consumer_id, product_id, station_id, issuance_type, pan_last4, issuer_request_id,
                correlation_id, state, updated_at, reissue_of)
            VALUES (v_branch, e.card_id, v_desk, e.at, e.operator, e.consumer_id, e.product_id,
                e.station_id, e.issuance_type, e.pan_last4, e.issuer_request_id, e.correlation_id,
                'intent', e.at, e.reissue_of)
            ON CONFLICT (branch_id, card_id) DO NOTHING;
            IF NOT FOUND THEN
                RAISE EXCEPTION USING ERRCODE = 'LD005',
                    MESSAGE = format('event %s: the branch already has an order with this card id; '
                                     'every order needs a new card id', e.seq);
            END IF;
        ELSIF e.kind = 'spoiled' THEN
            SELECT ord.state, ord.pan_last4, ord.spoiled_at INTO o
            FROM ledger.orders AS ord
            WHERE ord.branch_id = v_branch AND ord.card_id = e.card_id
            FOR UPDATE;
            IF NOT FOUND THEN
                RAISE EXCEPTION USING ERRCODE = 'LD006',
                    MESSAGE = format('event %s: the branch has no order with this card id', e.seq);
            END IF;
            IF o.state NOT IN ('done', 'failed') THEN
                RAISE EXCEPTION USING ERRCODE = 'LD012',
                    MESSAGE = format('event %s: only a finished order (done or failed) can be '
                                     'reported spoiled', e.seq);
            END IF;
            IF o.spoiled_at IS NOT NULL THEN
                RAISE EXCEPTION USING ERRCODE = 'LD013',
                    MESSAGE = format('event %s: this card was already reported spoiled', e.seq);
            END IF;
            IF o.pan_last4 <> e.pan_last4 THEN
                RAISE EXCEPTION USING ERRCODE = 'LD002',
                    MESSAGE = format('event %s: the last 4 digits are not this order''s', e.seq);
            END IF;
            UPDATE ledger.orders AS ord SET spoiled_at = e.at, spoiled_reason = e.reason_code
            WHERE ord.branch_id = v_branch AND ord.card_id = e.card_id;
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
                    updated_at = greatest(ord.updated_at, e.at),
                    sent_at = CASE WHEN e.state = 'sending' THEN least(ord.sent_at, e.at)
                                   ELSE ord.sent_at END,
                    done_at = CASE WHEN e.state = 'done' THEN least(ord.done_at, e.at)
                                   ELSE ord.done_at END
                WHERE ord.branch_id = v_branch AND ord.card_id = e.card_id;
            ELSIF e.operation_id IS NOT NULL OR e.state IN ('sending', 'done') THEN
                -- An older event still teaches the operation id and the counter time.
                UPDATE ledger.orders AS ord SET
                    operation_id = coalesce(ord.operation_id, e.operation_id),
                    sent_at = CASE WHEN e.state = 'sending' THEN least(ord.sent_at, e.at)
                                   ELSE ord.sent_at END,
                    done_at = CASE WHEN e.state = 'done' THEN least(ord.done_at, e.at)
                                   ELSE ord.done_at END
                WHERE ord.branch_id = v_branch AND ord.card_id = e.card_id;
            END IF;
        END IF;

        INSERT INTO ledger.order_events (branch_id, desk_id, seq, received_at, card_id, kind, at,
            state, operator, d1_status, operation_id, error_code, error_message, detail,
            consumer_id, product_id, station_id, issuance_type, pan_last4, issuer_request_id,
            correlation_id, reason_code, reissue_of)
        VALUES (v_branch, v_desk, e.seq, v_now, e.card_id, e.kind, e.at, e.state, e.operator,
            e.d1_status, e.operation_id, e.error_code, e.error_message, e.detail, e.consumer_id,
            e.product_id, e.station_id, e.issuance_type, e.pan_last4, e.issuer_request_id,
            e.correlation_id, e.reason_code, e.reissue_of);
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

-- ---------------------------------------------------------------------------------------------
-- Exceptions owned until resolved
-- ---------------------------------------------------------------------------------------------

-- Who took an exception, what was said, who resolved it. The owner is the latest 'taken'; a
-- case is resolved once (partial unique index) and stays in the history.
CREATE TABLE ledger.exception_events (
    branch_id ledger.ledger_id NOT NULL,
    card_id   ledger.d1_id NOT NULL,
    event_id  bigint GENERATED ALWAYS AS IDENTITY,
    kind      text NOT NULL CONSTRAINT exception_event_kind
        CHECK (kind IN ('taken', 'commented', 'resolved')),
    operator  ledger.label NOT NULL,
    desk_id   ledger.ledger_id NOT NULL,
    comment   ledger.message_text,
    at        timestamptz NOT NULL,
    CONSTRAINT comment_and_resolution_have_text CHECK (kind = 'taken' OR comment IS NOT NULL),
    PRIMARY KEY (branch_id, card_id, event_id),
    FOREIGN KEY (branch_id, card_id) REFERENCES ledger.orders (branch_id, card_id),
    FOREIGN KEY (branch_id, desk_id) REFERENCES ledger.desks (branch_id, desk_id)
);
CREATE UNIQUE INDEX exception_resolved_once ON ledger.exception_events (branch_id, card_id)
    WHERE kind = 'resolved';

CREATE TRIGGER exception_events_are_append_only
    BEFORE UPDATE OR DELETE ON ledger.exception_events
    FOR EACH ROW EXECUTE FUNCTION ledger.refuse_record_change();
CREATE TRIGGER exception_events_are_never_truncated
    BEFORE TRUNCATE ON ledger.exception_events
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_record_change();

-- The case of an order of this desk's branch, locked for this transaction: its state, whether
-- it is resolved (and by whom), and its owner. LD006 when the branch has no such order.
CREATE FUNCTION ledger.exception_case(p_branch text, p_card_id text,
    OUT state text, OUT resolved_by text, OUT resolved_at timestamptz, OUT owner text,
    OUT taken_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('ledger exception ' || p_branch || ' ' || p_card_id));
    SELECT o.state INTO state FROM ledger.orders AS o
    WHERE o.branch_id = p_branch AND o.card_id = p_card_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'LD006',
            MESSAGE = 'the branch has no order with this card id';
    END IF;
    SELECT x.operator, x.at INTO resolved_by, resolved_at FROM ledger.exception_events AS x
    WHERE x.branch_id = p_branch AND x.card_id = p_card_id AND x.kind = 'resolved';
    SELECT x.operator, x.at INTO owner, taken_at FROM ledger.exception_events AS x
    WHERE x.branch_id = p_branch AND x.card_id = p_card_id AND x.kind = 'taken'
    ORDER BY x.event_id DESC LIMIT 1;
END
$$;

-- Takes an exception (or takes it over from its owner: the history keeps both). Refused for a
-- done order (LD015) or a resolved case (LD016); taking one's own case again changes nothing.
CREATE FUNCTION ledger.take_exception(p_card_id text, p_operator text)
RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_branch text;
    v_desk   text;
    c        record;
BEGIN
    SELECT * INTO v_branch, v_desk FROM ledger.current_desk();
    SELECT * INTO c FROM ledger.exception_case(v_branch, p_card_id);
    IF c.resolved_at IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LD016',
            MESSAGE = format('this exception was resolved by %s', c.resolved_by);
    END IF;
    IF c.state = 'done' THEN
        RAISE EXCEPTION USING ERRCODE = 'LD015',
            MESSAGE = 'this order is done: it is not an exception';
    END IF;
    IF c.owner IS NOT NULL AND ledger.same_person(c.owner, p_operator) THEN
        RETURN c.taken_at;
    END IF;
    INSERT INTO ledger.exception_events (branch_id, card_id, kind, operator, desk_id, at)
    VALUES (v_branch, p_card_id, 'taken', p_operator, v_desk, now());
    PERFORM ledger.counter_changed(v_branch, 'exception');
    RETURN now();
END
$$;

-- Adds a comment to an open exception (anyone of the branch). Refused once resolved (LD016).
CREATE FUNCTION ledger.comment_exception(p_card_id text, p_operator text, p_comment text)
RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_branch text;
    v_desk   text;
    c        record;
BEGIN
    SELECT * INTO v_branch, v_desk FROM ledger.current_desk();
    SELECT * INTO c FROM ledger.exception_case(v_branch, p_card_id);
    IF c.resolved_at IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'LD016',
            MESSAGE = format('this exception was resolved by %s', c.resolved_by);
    END IF;
    IF p_comment IS NULL OR btrim(p_comment) = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'LD002', MESSAGE = 'a comment needs some text';
    END IF;
    INSERT INTO ledger.exception_events (branch_id, card_id, kind, operator, desk_id, comment, at)
    VALUES (v_branch, p_card_id, 'commented', p_operator, v_desk, p_comment, now());
    PERFORM ledger.counter_changed(v_branch, 'exception');
    RETURN now();
END
$$;

-- Resolves an exception with what was done. Only its owner may (LD017: take it first);
-- a resolved case stays resolved (LD016), except that the same resolution again by the same
-- person returns the stored time (a retry after a lost answer).
CREATE FUNCTION ledger.resolve_exception(p_card_id text, p_operator text, p_comment text)
RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_branch text;
    v_desk   text;
    c        record;
BEGIN
    SELECT * INTO v_branch, v_desk FROM ledger.current_desk();
    SELECT * INTO c FROM ledger.exception_case(v_branch, p_card_id);
    IF c.resolved_at IS NOT NULL THEN
        IF ledger.same_person(c.resolved_by, p_operator) AND EXISTS (
                SELECT 1 FROM ledger.exception_events AS x
                WHERE x.branch_id = v_branch AND x.card_id = p_card_id AND x.kind = 'resolved'
                  AND x.comment = p_comment) THEN
            RETURN c.resolved_at;
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'LD016',
            MESSAGE = format('this exception was resolved by %s', c.resolved_by);
    END IF;
    IF c.owner IS NULL OR NOT ledger.same_person(c.owner, p_operator) THEN
        RAISE EXCEPTION USING ERRCODE = 'LD017',
            MESSAGE = CASE WHEN c.owner IS NULL
                           THEN 'take this exception before resolving it'
                           ELSE format('only %s, who took this exception, can resolve it', c.owner)
                      END;
    END IF;
    IF p_comment IS NULL OR btrim(p_comment) = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'LD002',
            MESSAGE = 'say what was done to resolve the exception';
    END IF;
    INSERT INTO ledger.exception_events (branch_id, card_id, kind, operator, desk_id, comment, at)
    VALUES (v_branch, p_card_id, 'resolved', p_operator, v_desk, p_comment, now());
    PERFORM ledger.counter_changed(v_branch, 'exception');
    RETURN now();
END
$$;

RESET ROLE;

-- ---------------------------------------------------------------------------------------------
-- What desks may do with all this (as V3: read the branch, write only through the functions)
-- ---------------------------------------------------------------------------------------------

SET ROLE ledger_owner;

REVOKE ALL ON FUNCTION
    ledger.same_person(text, text),
    ledger.current_desk(),
    ledger.refuse_record_change(),
    ledger.counter_changed(text, text),
    ledger.request_approval(text, text, text, text, text, text, text, text, integer),
    ledger.decide_approval(text, text, text, text),
    ledger.cancel_approval(text, text),
    ledger.exception_case(text, text),
    ledger.take_exception(text, text),
    ledger.comment_exception(text, text, text),
    ledger.resolve_exception(text, text, text)
FROM PUBLIC;
REVOKE ALL ON ledger.approval_requests, ledger.approval_decisions, ledger.approvals,
    ledger.exception_events FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
    ledger.request_approval(text, text, text, text, text, text, text, text, integer),
    ledger.decide_approval(text, text, text, text),
    ledger.cancel_approval(text, text),
    ledger.take_exception(text, text),
    ledger.comment_exception(text, text, text),
    ledger.resolve_exception(text, text, text)
TO ledger_desk;

GRANT SELECT ON ledger.approval_requests, ledger.approval_decisions, ledger.approvals,
    ledger.exception_events TO ledger_desk;

ALTER TABLE ledger.approval_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE ledger.approval_decisions ENABLE ROW LEVEL SECURITY;
ALTER TABLE ledger.exception_events ENABLE ROW LEVEL SECURITY;

CREATE POLICY desk_reads_its_branches ON ledger.approval_requests FOR SELECT TO ledger_desk
    USING (branch_id = ANY ((SELECT ledger.my_branches())::text[]));
CREATE POLICY desk_reads_its_branches ON ledger.approval_decisions FOR SELECT TO ledger_desk
    USING (branch_id = ANY ((SELECT ledger.my_branches())::text[]));
CREATE POLICY desk_reads_its_branches ON ledger.exception_events FOR SELECT TO ledger_desk
    USING (branch_id = ANY ((SELECT ledger.my_branches())::text[]));

RESET ROLE;
