//! Synthetic orders for benchmarks and load tests (not for production use): fast bulk insertion
//! in transactions of 50,000 orders with prepared statements. The data is fake and holds no
//! card numbers.

use std::time::Duration;

use rusqlite::{OptionalExtension, params};

use crate::db::Journal;
use crate::error::Result;
use crate::types::{Timestamp, duration_ms};

/// Fake-data shape.
pub const STATIONS: u64 = 25;
/// Number of distinct operators.
pub const OPERATORS: u64 = 60;
/// Number of distinct products.
pub const PRODUCTS: u64 = 8;
/// Issuance types.
pub const ISSUANCE_TYPES: [&str; 3] = ["NEW", "RENEWAL", "REPLACEMENT"];
/// Number of distinct consumers.
pub const CONSUMERS: u64 = 200_000;

/// splitmix64: small, fast, deterministic.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// Seeded generator.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// A UUID-shaped id.
    pub fn uuid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            (b >> 48) & 0xffff,
            b & 0xffff_ffff_ffff
        )
    }
}

/// Values of the synthetic order number `i` that a benchmark may search for.
pub fn station(i: u64) -> String {
    format!("STATION-{:02}", i % STATIONS)
}
/// Operator name number `i`.
pub fn operator(i: u64) -> String {
    format!("branch\\teller{:02}", i % OPERATORS)
}
/// Product number `i`.
pub fn product(i: u64) -> String {
    format!("PRODUCT_{}", i % PRODUCTS)
}
/// Consumer number `i`.
pub fn consumer(i: u64) -> String {
    format!("C{:08}", i % CONSUMERS)
}

/// Inserts `n` finished orders (with 3–5 history rows each) spread evenly over `span` before
/// `end`, plus a few in-flight ones among the newest. Returns nothing; use `list` to read.
pub fn generate(
    journal: &Journal,
    n: u64,
    seed: u64,
    end: Timestamp,
    span: Duration,
) -> Result<()> {
    let mut rng = Rng::new(seed);
    let start = end.as_millis() - duration_ms(span);
    let step = (duration_ms(span) / i64::try_from(n.max(1)).unwrap_or(i64::MAX)).max(1);
    journal.with_writer(|conn| {
        // With the default 2 MB page cache a bulk insert into the random-keyed indexes is
        // quadratic (pages are written to the WAL and read back again and again): 100,000
        // orders took 27 s, 200,000 took 115 s. A cache that holds the indexes, for this call.
        let cache_size: i64 = conn.pragma_query_value(None, "cache_size", |r| r.get(0))?;
        conn.pragma_update(None, "cache_size", BULK_CACHE_KIB)?;
        let inserted = (0..n.div_ceil(BULK_BATCH)).try_for_each(|batch| {
            let from = batch * BULK_BATCH;
            insert_orders(
                conn,
                from..n.min(from + BULK_BATCH),
                n,
                &mut rng,
                start,
                step,
            )
        });
        conn.pragma_update(None, "cache_size", cache_size)?;
        inserted
    })
}

/// Orders per transaction: the WAL is folded into the database after each, so it stays small
/// and a page written once is not written again at every spill of one huge transaction.
const BULK_BATCH: u64 = 50_000;

/// Page cache of the bulk insert, in KiB (negative: a size, not a page count): 1 GiB at most,
/// taken only as the pages are used.
const BULK_CACHE_KIB: i64 = -1_048_576;

/// Inserts orders `range` of `n`.
fn insert_orders(
    conn: &mut rusqlite::Connection,
    range: std::ops::Range<u64>,
    n: u64,
    rng: &mut Rng,
    start: i64,
    step: i64,
) -> Result<()> {
    let tx = conn.transaction()?;
    // The consumer search index is filled once per batch, in its own order, rather than row by
    // row from its trigger; the trigger is back before the commit, so no one ever sees the
    // journal without it.
    let trigger: Option<String> = tx
        .query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?1",
            [SEARCH_TRIGGER],
            |r| r.get(0),
        )
        .optional()?;
    if trigger.is_some() {
        tx.execute_batch(&format!("DROP TRIGGER {SEARCH_TRIGGER}"))?;
    }
    let last_before: i64 =
        tx.query_row("SELECT coalesce(max(id), 0) FROM orders", [], |r| r.get(0))?;
    {
        let mut ins = tx.prepare(
            "INSERT INTO orders (created_at, operator, consumer_id, product_id, station_id,
                 issuance_type, pan_last4, card_id, issuer_request_id, correlation_id,
                 operation_id, state, d1_status, error_code, error_message, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        )?;
        let mut ev = tx.prepare(
            "INSERT INTO order_events (order_id, at, state, d1_status, detail)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for i in range {
            let created = start
                + i64::try_from(i).unwrap_or(0) * step
                + i64::try_from(rng.below(u64::try_from(step).unwrap_or(1))).unwrap_or(0);
            let roll = rng.below(1000);
            let recent = n - i <= 200;
            let (state, d1, code, msg): (&str, Option<&str>, Option<&str>, Option<&str>) =
                if recent && roll < 200 {
                    [
                        "intent",
                        "sending",
                        "accepted",
                        "outcome_unknown",
                        "in_production",
                    ]
                    .get(usize::try_from(roll % 5).unwrap_or(0))
                    .map_or(("done", None, None, None), |s| (*s, None, None, None))
                } else if roll < 920 {
                    ("done", Some("CARD_PROD_DONE"), None, None)
                } else if roll < 945 {
                    (
                        "failed",
                        Some("CARD_PROD_EXCEPTION"),
                        Some("CARD_PROD_EXCEPTION"),
                        Some("printer out of cards"),
                    )
                } else if roll < 955 {
                    (
                        "failed",
                        Some("DATA_EXCEPTION"),
                        Some("DATA_EXCEPTION"),
                        Some("invalid track data"),
                    )
                } else if roll < 985 {
                    (
                        "rejected",
                        None,
                        Some("FIELD_INVALID_VALUE"),
                        Some("D1 refused a field value"),
                    )
                } else {
                    ("abandoned", None, None, Some("teller cancelled"))
                };
            let accepted = matches!(state, "done" | "failed" | "accepted" | "in_production");
            let op = accepted.then(|| rng.uuid());
            let updated = created + 60_000;
            ins.execute(params![
                created,
                operator(rng.below(OPERATORS)),
                consumer(rng.below(CONSUMERS)),
                product(rng.below(PRODUCTS)),
                station(rng.below(STATIONS)),
                ISSUANCE_TYPES
                    .get(usize::try_from(rng.below(3)).unwrap_or(0))
                    .copied()
                    .unwrap_or("NEW"),
                format!("{:04}", rng.below(10_000)),
                rng.uuid(),
                format!("R{:016x}", rng.next_u64()),
                format!("{:016x}", rng.next_u64()),
                op,
                state,
                d1,
                code,
                msg,
                updated,
            ])?;
            let id = tx.last_insert_rowid();
            ev.execute(params![id, created, "intent", None::<&str>, None::<&str>])?;
            if state != "intent" {
                ev.execute(params![
                    id,
                    created + 5,
                    "sending",
                    None::<&str>,
                    None::<&str>
                ])?;
            }
            if accepted {
                ev.execute(params![id, created + 300, "accepted", None::<&str>, op])?;
                ev.execute(params![
                    id,
                    created + 5_000,
                    "in_production",
                    Some("CARD_PROD_REQUESTED"),
                    None::<&str>
                ])?;
            }
            if matches!(state, "done" | "failed" | "rejected" | "abandoned") {
                ev.execute(params![id, updated, state, d1, msg])?;
            }
        }
    }
    if let Some(create_trigger) = trigger {
        tx.execute(
            "INSERT OR IGNORE INTO orders_consumer_suffix (suffix, created_at, id)
             SELECT suffix, created_at, id FROM orders_consumer_suffix_expected
             WHERE id > ?1 ORDER BY 1, 2, 3",
            [last_before],
        )?;
        tx.execute_batch(&create_trigger)?;
    }
    tx.commit()?;
    Ok(())
}

/// The trigger that adds each new order to the consumer search index (migration 0007).
const SEARCH_TRIGGER: &str = "orders_consumer_suffix_insert";
