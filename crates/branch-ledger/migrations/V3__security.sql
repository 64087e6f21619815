-- Branch ledger, schema 3: what a desk may do. Desks read their branch (a regional desk its
-- region) and append through ledger.append_events; nothing else.
--
-- ledger_desk (NOLOGIN) is the group of every desk's login role (created by
-- `issuance-desk-admin ledger add-desk`).

DO $$
BEGIN
    CREATE ROLE ledger_desk NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL; -- another ledger database of this cluster created it
END
$$;

-- Only desks (and the owner) connect; nobody creates temporary objects that could shadow ours.
DO $$
BEGIN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO ledger_desk', current_database());
END
$$;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON public.ledger_schema_history FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO ledger_owner;

SET ROLE ledger_owner;

REVOKE ALL ON SCHEMA ledger FROM PUBLIC;
GRANT USAGE ON SCHEMA ledger TO ledger_desk;

-- Functions are executable by PUBLIC by default: not here.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ledger FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE ledger_owner IN SCHEMA ledger REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE ledger_owner IN SCHEMA ledger REVOKE ALL ON TABLES FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA ledger FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
    ledger.append_events(jsonb),
    ledger.announce(bigint, bigint),
    ledger.whoami(),
    ledger.my_branches(),
    ledger.schema_version()
TO ledger_desk;

-- Reads only; no INSERT, UPDATE, DELETE or TRUNCATE on anything.
GRANT SELECT ON ledger.branches, ledger.desks, ledger.desk_sync, ledger.orders,
    ledger.order_events TO ledger_desk;

-- Row-level security: a desk sees the rows of ledger.my_branches(). The sub-select runs once per
-- query. With no policy for INSERT/UPDATE/DELETE, those are refused even if granted by mistake.
ALTER TABLE ledger.branches ENABLE ROW LEVEL SECURITY;
ALTER TABLE ledger.desks ENABLE ROW LEVEL SECURITY;
ALTER TABLE ledger.desk_sync ENABLE ROW LEVEL SECURITY;
ALTER TABLE ledger.orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE ledger.order_events ENABLE ROW LEVEL SECURITY;

CREATE POLICY desk_reads_its_branches ON ledger.branches FOR SELECT TO ledger_desk
    USING (branch_id = ANY ((SELECT ledger.my_branches())::text[]));
CREATE POLICY desk_reads_its_branches ON ledger.desks FOR SELECT TO ledger_desk
    USING (branch_id = ANY ((SELECT ledger.my_branches())::text[]));
CREATE POLICY desk_reads_its_branches ON ledger.desk_sync FOR SELECT TO ledger_desk
    USING (branch_id = ANY ((SELECT ledger.my_branches())::text[]));
CREATE POLICY desk_reads_its_branches ON ledger.orders FOR SELECT TO ledger_desk
    USING (branch_id = ANY ((SELECT ledger.my_branches())::text[]));
CREATE POLICY desk_reads_its_branches ON ledger.order_events FOR SELECT TO ledger_desk
    USING (branch_id = ANY ((SELECT ledger.my_branches())::text[]));

RESET ROLE;
