//! Builds the benchmark's ledger: branches and desks registered through the admin API, then
//! orders and their history generated on the server (generate_series), in chunks, through the
//! real tables with every constraint, index and trigger in place.

use std::time::Instant;

use branch_ledger::{BranchId, DeskId, DeskKind, LedgerAdmin, NewDesk, RegionId};
use tokio_postgres::Client;

use crate::Setup;

/// Desks per branch.
pub const DESKS_PER_BRANCH: i64 = 3;
/// Branches per region.
pub const BRANCHES_PER_REGION: i64 = 10;
/// The generated year ends here (UTC): 2026-11-25T00:00:00Z.
pub const END_EPOCH: i64 = 1_795_564_800;
/// One year of history.
pub const SPAN_SECONDS: i64 = 365 * 86_400;
/// Orders generated per statement.
const CHUNK: i64 = 500_000;

pub fn branch(b: i64) -> String {
    format!("B{b:04}")
}

pub fn desk(b: i64, k: i64) -> String {
    format!("B{b:04}-D{}", k + 1)
}

/// Registers every branch (region = branch / 10) and its desks.
pub async fn register(admin: &mut LedgerAdmin, branches: i64) {
    let started = Instant::now();
    for b in 0..branches {
        for k in 0..DESKS_PER_BRANCH {
            admin
                .add_desk(&NewDesk {
                    desk_id: DeskId::parse(&desk(b, k)).expect("desk id"),
                    branch_id: BranchId::parse(&branch(b)).expect("branch id"),
                    region_id: Some(
                        RegionId::parse(&format!("R{:03}", b / BRANCHES_PER_REGION))
                            .expect("region id"),
                    ),
                    kind: DeskKind::Teller,
                })
                .await
                .expect("add desk");
        }
    }
    // One regional desk per region's first branch, for the regional queries.
    for r in 0..(branches + BRANCHES_PER_REGION - 1) / BRANCHES_PER_REGION {
        let b = r * BRANCHES_PER_REGION;
        admin
            .add_desk(&NewDesk {
                desk_id: DeskId::parse(&format!("{}-REG", branch(b))).expect("desk id"),
                branch_id: BranchId::parse(&branch(b)).expect("branch id"),
                region_id: None,
                kind: DeskKind::Regional,
            })
            .await
            .expect("add regional desk");
    }
    println!(
        "registered {branches} branches, {} desks in {:.1} s",
        branches * DESKS_PER_BRANCH,
        started.elapsed().as_secs_f64()
    );
}

/// The generator: order `n` belongs to desk `n % desks` (so each desk's orders are in time order
/// and its sequence numbers are 4k+1 … 4k+4 for its k-th order), is created at
/// `start + n * span / orders`, and ends in a state drawn from a hash of `n`: 90 % done, 4 %
/// failed, 3 % rejected, 1 % abandoned, 1 % in production, 0.5 % accepted, 0.5 % outcome unknown.
/// Every order has four events (intent, sending, then two by outcome).
const STAGE: &str = "
CREATE UNLOGGED TABLE IF NOT EXISTS bench_stage (
    n bigint, d bigint, k bigint, ts timestamptz, h bigint, state text);
TRUNCATE bench_stage;
INSERT INTO bench_stage
SELECT n, n % $desks, n / $desks,
       to_timestamp($start + n * $span / $orders),
       abs(hashint8(n)),
       CASE WHEN abs(hashint8(n)) % 1000 < 900 THEN 'done'
            WHEN abs(hashint8(n)) % 1000 < 940 THEN 'failed'
            WHEN abs(hashint8(n)) % 1000 < 970 THEN 'rejected'
            WHEN abs(hashint8(n)) % 1000 < 980 THEN 'abandoned'
            WHEN abs(hashint8(n)) % 1000 < 990 THEN 'in_production'
            WHEN abs(hashint8(n)) % 1000 < 995 THEN 'accepted'
            ELSE 'outcome_unknown' END
FROM generate_series($from::bigint, $to::bigint) AS n;
";

const ORDERS: &str = "
INSERT INTO ledger.orders (branch_id, card_id, desk_id, created_at, operator, consumer_id,
    product_id, station_id, issuance_type, pan_last4, issuer_request_id, correlation_id,
    operation_id, state, d1_status, error_code, error_message, updated_at)
SELECT 'B' || lpad((d / 3)::text, 4, '0'),
       'card-' || n,
       'B' || lpad((d / 3)::text, 4, '0') || '-D' || (d % 3 + 1),
       ts,
       'teller' || ((n / 7) % 8) || '.b' || (d / 3),
       'CONS-' || (h % 3000000),
       (ARRAY['VISA_CLASSIC', 'VISA_GOLD', 'MC_DEBIT', 'MC_PLATINUM'])[1 + (n / 11) % 4],
       'ST-' || (n % 2 + 1),
       (ARRAY['CREATION', 'RENEWAL', 'REPLACEMENT'])[1 + (n / 13) % 3],
       lpad((h % 10000)::text, 4, '0'),
       'req-' || n, 'corr-' || n,
       CASE WHEN state IN ('done', 'failed', 'in_production', 'accepted') THEN 'op-' || n END,
       state,
       CASE state WHEN 'done' THEN 'CARD_PROD_DONE' WHEN 'failed' THEN 'CARD_PROD_EXCEPTION'
                  WHEN 'in_production' THEN 'CARD_PROD_READY' END,
       CASE state WHEN 'failed' THEN 'CARD_PROD_EXCEPTION' WHEN 'rejected' THEN 'FIELD_INVALID_VALUE' END,
       CASE state WHEN 'failed' THEN 'the station reported a printing error'
                  WHEN 'rejected' THEN 'the product is not allowed for this issuer'
                  WHEN 'abandoned' THEN 'D1 has no record of it' END,
       ts + interval '90 seconds'
FROM bench_stage;
";

const EVENTS: &str = "
INSERT INTO ledger.order_events (branch_id, desk_id, seq, received_at, card_id, kind, at, state,
    operator, d1_status, operation_id, error_code, error_message, detail, consumer_id, product_id,
    station_id, issuance_type, pan_last4, issuer_request_id, correlation_id)
SELECT o.branch_id, o.desk_id, s.k * 4 + j + 1,
       s.ts + j * interval '30 seconds' + interval '200 milliseconds',
       o.card_id,
       CASE WHEN j = 0 THEN 'intent' ELSE 'transition' END,
       s.ts + j * interval '30 seconds',
       CASE j WHEN 0 THEN 'intent' WHEN 1 THEN 'sending'
              WHEN 2 THEN CASE WHEN o.operation_id IS NOT NULL THEN 'accepted'
                               WHEN o.state = 'abandoned' THEN 'outcome_unknown'
                               ELSE 'sending' END
              ELSE o.state END,
       o.operator,
       CASE WHEN j = 3 THEN o.d1_status END,
       CASE WHEN j = 2 THEN o.operation_id END,
       CASE WHEN j = 3 THEN o.error_code END,
       CASE WHEN j = 3 THEN o.error_message END,
       CASE WHEN j = 2 AND o.operation_id IS NULL THEN 'resent with the same card id' END,
       CASE WHEN j = 0 THEN o.consumer_id END,
       CASE WHEN j = 0 THEN o.product_id END,
       CASE WHEN j = 0 THEN o.station_id END,
       CASE WHEN j = 0 THEN o.issuance_type END,
       CASE WHEN j = 0 THEN o.pan_last4 END,
       CASE WHEN j = 0 THEN o.issuer_request_id END,
       CASE WHEN j = 0 THEN o.correlation_id END
FROM bench_stage AS s
JOIN ledger.orders AS o
  ON o.branch_id = 'B' || lpad((s.d / 3)::text, 4, '0') AND o.card_id = 'card-' || s.n
CROSS JOIN generate_series(0, 3) AS j;
";

fn bind(sql: &str, setup: &Setup, from: i64, to: i64) -> String {
    sql.replace("$desks", &setup.desks().to_string())
        .replace("$start", &(END_EPOCH - SPAN_SECONDS).to_string())
        .replace("$span", &SPAN_SECONDS.to_string())
        .replace("$orders", &setup.orders.to_string())
        .replace("$from", &from.to_string())
        .replace("$to", &to.to_string())
}

/// Generates the orders and their history, then the desks' sync rows; prints the time taken.
pub async fn generate(sql: &Client, setup: &Setup) {
    let started = Instant::now();
    sql.batch_execute("SET statement_timeout = 0")
        .await
        .expect("no timeout for the load");
    // Every month of the year (by the server's time of arrival) needs its partition.
    sql.batch_execute(&format!(
        "SELECT ledger.ensure_history_partition(to_timestamp({}) + m * interval '1 month') \
         FROM generate_series(0, 13) AS m",
        END_EPOCH - SPAN_SECONDS - 86_400
    ))
    .await
    .expect("partitions");
    // Bulk load: secondary indexes and foreign keys are dropped, then rebuilt (and validated)
    // once at the end; every domain and CHECK still applies to each row.
    let saved = sql
        .query(
            "SELECT 'CREATE INDEX ' || quote_ident(i.relname) || ' ON ' || t.oid::regclass::text
                    || substring(pg_get_indexdef(i.oid) FROM ' USING .*$'),
                    'DROP INDEX ledger.' || quote_ident(i.relname)
             FROM pg_index AS x
             JOIN pg_class AS i ON i.oid = x.indexrelid
             JOIN pg_class AS t ON t.oid = x.indrelid
             WHERE t.oid IN ('ledger.orders'::regclass, 'ledger.order_events'::regclass)
               AND NOT x.indisprimary
             UNION ALL
             SELECT 'ALTER TABLE ' || c.conrelid::regclass::text || ' ADD CONSTRAINT '
                    || quote_ident(c.conname) || ' ' || pg_get_constraintdef(c.oid),
                    'ALTER TABLE ' || c.conrelid::regclass::text || ' DROP CONSTRAINT '
                    || quote_ident(c.conname)
             FROM pg_constraint AS c
             WHERE c.contype = 'f'
               AND c.conrelid IN ('ledger.orders'::regclass, 'ledger.order_events'::regclass)",
            &[],
        )
        .await
        .expect("index and key definitions");
    for row in &saved {
        sql.batch_execute(row.get::<_, &str>(1))
            .await
            .expect("drop");
    }
    let mut from = 0;
    while from < setup.orders {
        let to = (from + CHUNK).min(setup.orders) - 1;
        let chunk = Instant::now();
        sql.batch_execute(&bind(STAGE, setup, from, to))
            .await
            .expect("stage");
        let staged = chunk.elapsed().as_secs_f64();
        sql.batch_execute(ORDERS).await.expect("orders");
        let ordered = chunk.elapsed().as_secs_f64();
        sql.batch_execute(EVENTS).await.expect("events");
        println!(
            "  orders {from}..={to}: {:.1} s (stage {staged:.1}, orders {:.1}, events {:.1}; \
             total {:.0} s)",
            chunk.elapsed().as_secs_f64(),
            ordered - staged,
            chunk.elapsed().as_secs_f64() - ordered,
            started.elapsed().as_secs_f64()
        );
        from = to + 1;
    }
    sql.batch_execute(
        "DROP TABLE bench_stage;
         UPDATE ledger.desk_sync AS s SET last_seq = c.n * 4, last_event_at = c.last,
                last_sync_at = c.last + interval '1 second'
         FROM (SELECT branch_id, desk_id, count(*) AS n, max(updated_at) AS last
               FROM ledger.orders GROUP BY branch_id, desk_id) AS c
         WHERE s.branch_id = c.branch_id AND s.desk_id = c.desk_id;",
    )
    .await
    .expect("desk sync");
    let loaded = started.elapsed().as_secs_f64();
    for row in &saved {
        let statement: &str = row.get(0);
        let t = Instant::now();
        sql.batch_execute(statement).await.expect("rebuild");
        println!(
            "  {:.1} s: {}",
            t.elapsed().as_secs_f64(),
            statement.chars().take(100).collect::<String>()
        );
    }
    println!("  rows loaded in {loaded:.0} s, indexes and keys rebuilt after");
    let generated = started.elapsed().as_secs_f64();
    let vacuum = Instant::now();
    for statement in [
        "VACUUM (ANALYZE) ledger.orders",
        "VACUUM (ANALYZE) ledger.order_events",
        "ANALYZE",
    ] {
        sql.batch_execute(statement).await.expect("vacuum");
    }
    println!(
        "generated {} orders ({} events) in {:.0} s; VACUUM ANALYZE {:.0} s",
        setup.orders,
        setup.orders * 4,
        generated,
        vacuum.elapsed().as_secs_f64()
    );
}
