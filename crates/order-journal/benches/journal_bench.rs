//! Supervisor-list and write benchmarks on a generated journal (default 1,000,000 orders).
//!
//! Run: `cargo bench -p order-journal --bench journal_bench`
//! Env: `ORDER_JOURNAL_BENCH_ROWS` (default 1000000), `ORDER_JOURNAL_BENCH_ITERS` (warm runs per
//! row, default 200), `ORDER_JOURNAL_BENCH_COLD_ITERS` (cold runs per row, default 40),
//! `ORDER_JOURNAL_BENCH_ONLY` (only the read rows whose name holds this text).
//! The generated database is cached under `target/order-journal-bench/` between runs.
//!
//! Every read runs warm (caches hot), then cold: before each cold run the journal's files are
//! dropped from the OS page cache (`posix_fadvise(POSIX_FADV_DONTNEED)`, Linux) and the query
//! runs on a freshly opened journal, so every page it needs comes from the disk. Rows print as a
//! Markdown table on stdout and as `RESULT|journal.phase.name|n|p50|p95|p99|max` (ms) on stderr.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use order_journal::synthetic::{self, Rng};
use order_journal::{
    Bucket, Cursor, ExceptionQuery, Journal, MatchMode, NewOrder, OperationStatus, OrderQuery,
    OrderState, OrderSummary, PanLast4, Search, TimeRange, Timestamp,
};

/// 2026-11-25T00:00:00Z: "now" for the generated data.
const END: i64 = 1_795_564_800_000;
const DAY: i64 = 86_400_000;
const SPAN_DAYS: u64 = 400;

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

struct Report {
    rows: Vec<String>,
}

impl Report {
    /// Times `f` `iters` times after 3 warm-up runs and prints the row.
    fn measure<T>(
        &mut self,
        phase: &str,
        name: &str,
        iters: usize,
        target_ms: Option<f64>,
        mut f: impl FnMut(usize) -> T,
    ) {
        for i in 0..3 {
            std::hint::black_box(f(i));
        }
        let times = (0..iters)
            .map(|i| {
                let t = Instant::now();
                std::hint::black_box(f(i));
                t.elapsed()
            })
            .collect();
        self.record(phase, name, target_ms, times);
    }

    /// Prints a table row and a machine-readable `RESULT|journal.phase.name|n|p50|p95|p99|max`
    /// line (ms) on stderr.
    fn record(
        &mut self,
        phase: &str,
        name: &str,
        target_ms: Option<f64>,
        mut times: Vec<Duration>,
    ) {
        times.sort();
        let p95 = pct(&times, 0.95);
        let verdict = match target_ms {
            Some(t) if p95.as_secs_f64() * 1000.0 <= t => format!("≤ {t} ms ✔"),
            Some(t) => format!("> {t} ms ✘"),
            None => String::new(),
        };
        let (p50, p99, max) = (pct(&times, 0.5), pct(&times, 0.99), *times.last().unwrap());
        let row = format!(
            "| {name} | {} | {} | {} | {} | {verdict} |",
            ms(p50),
            ms(p95),
            ms(p99),
            ms(max),
        );
        println!("{row}");
        eprintln!(
            "RESULT|journal.{phase}.{name}|{}|{}|{}|{}|{}",
            times.len(),
            ms(p50),
            ms(p95),
            ms(p99),
            ms(max)
        );
        self.rows.push(row);
    }
}

fn bench_db(rows: u64) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/order-journal-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("journal-{rows}-v4.sqlite"));
    if path.exists() {
        return path;
    }
    let tmp = dir.join(format!("journal-{rows}-v4.tmp.sqlite"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", tmp.display()));
    }
    let t = Instant::now();
    let j = Journal::open(&tmp).unwrap();
    synthetic::generate(
        &j,
        rows,
        42,
        Timestamp::from_millis(END),
        Duration::from_secs(SPAN_DAYS * 86_400),
    )
    .unwrap();
    drop(j);
    // Fold the WAL into the main file so the size measured is the database itself.
    let c = rusqlite::Connection::open(&tmp).unwrap();
    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    drop(c);
    std::fs::rename(&tmp, &path).unwrap();
    let _ = std::fs::remove_file(format!("{}-wal", tmp.display()));
    let _ = std::fs::remove_file(format!("{}-shm", tmp.display()));
    println!(
        "generated {rows} orders in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    path
}

fn q() -> OrderQuery {
    OrderQuery::default()
}

/// A D1 id made by the benchmark (valid by construction).
fn id<T: TryFrom<String>>(value: String) -> T
where
    T::Error: std::fmt::Debug,
{
    T::try_from(value).expect("a D1 id")
}

/// An operation id made by the benchmark.
fn op(value: &str) -> desk_domain::OperationId {
    id(value.to_owned())
}

fn search(text: String, mode: MatchMode) -> OrderQuery {
    OrderQuery {
        search: Some(Search { text, mode }),
        ..q()
    }
}

fn at_station(i: usize, q: OrderQuery) -> OrderQuery {
    OrderQuery {
        station_id: Some(synthetic::station(i as u64)),
        ..q
    }
}

type Run<'a> = Box<dyn Fn(&Journal, usize) + 'a>;

/// One row of the read table: a name, its p95 target (ms) and the query for iteration `i`.
struct Query<'a> {
    name: &'static str,
    target_ms: Option<f64>,
    /// Runs per measured row relative to the iteration count (stats and export are slow).
    heavy: bool,
    run: Run<'a>,
}

fn query<'a>(
    name: &'static str,
    target_ms: Option<f64>,
    run: impl Fn(&Journal, usize) + 'a,
) -> Query<'a> {
    Query {
        name,
        target_ms,
        heavy: false,
        run: Box::new(run),
    }
}

fn list<'a>(
    name: &'static str,
    target_ms: f64,
    make: impl Fn(usize) -> OrderQuery + 'a,
) -> Query<'a> {
    query(name, Some(target_ms), move |j, i| {
        std::hint::black_box(j.list(&make(i)).unwrap());
    })
}

/// The supervisor's reads, with real values to search for taken from the data.
fn queries<'a>(sample: &'a [OrderSummary], cursor: Option<Cursor>) -> Vec<Query<'a>> {
    let at = |d: i64| Some(Timestamp::from_millis(END - d * DAY));
    let mut v = vec![
        list("first page, no filter", 30.0, |_| q()),
        list("page 101 (keyset cursor)", 100.0, move |_| OrderQuery {
            after: cursor,
            ..q()
        }),
        list("date range: last 7 days", 100.0, move |_| OrderQuery {
            from: at(7),
            to: at(0),
            ..q()
        }),
        list("date range: one day, 1–399 days ago", 100.0, move |i| {
            let d = 1 + (i as i64 * 37) % 399;
            OrderQuery {
                from: at(d),
                to: at(d - 1),
                ..q()
            }
        }),
    ];
    for (name, states) in [
        ("state = failed (3.5%)", vec![OrderState::Failed]),
        ("state = done (92%)", vec![OrderState::Done]),
        (
            "state = in_production (rare)",
            vec![OrderState::InProduction],
        ),
        (
            "state ∈ {failed, rejected, outcome_unknown}",
            vec![
                OrderState::Failed,
                OrderState::Rejected,
                OrderState::OutcomeUnknown,
            ],
        ),
        ("state ∈ all 9 states", OrderState::ALL.to_vec()),
    ] {
        v.push(list(name, 100.0, move |_| OrderQuery {
            states: states.clone(),
            ..q()
        }));
    }
    v.extend([
        list("station (1 of 25)", 100.0, |i| OrderQuery {
            station_id: Some(synthetic::station(i as u64)),
            ..q()
        }),
        list("operator (1 of 60)", 100.0, |i| OrderQuery {
            operator: Some(synthetic::operator(i as u64)),
            ..q()
        }),
        list("product (1 of 8)", 100.0, |i| OrderQuery {
            product_id: Some(synthetic::product(i as u64)),
            ..q()
        }),
        list("issuance type (1 of 3)", 100.0, |i| OrderQuery {
            issuance_type: Some(synthetic::ISSUANCE_TYPES[i % 3].to_owned()),
            ..q()
        }),
        list("station + failed + last 30 days", 100.0, move |i| {
            OrderQuery {
                station_id: Some(synthetic::station(i as u64)),
                states: vec![OrderState::Failed],
                from: at(30),
                ..q()
            }
        }),
        list(
            "station + operator + product + type (~28 of 1M)",
            100.0,
            |i| {
                let i = i as u64;
                OrderQuery {
                    station_id: Some(synthetic::station(i)),
                    operator: Some(synthetic::operator(i * 7)),
                    product_id: Some(synthetic::product(i * 3)),
                    issuance_type: Some(synthetic::ISSUANCE_TYPES[(i % 3) as usize].to_owned()),
                    ..q()
                }
            },
        ),
        list("product + type (1 of 24)", 100.0, |i| OrderQuery {
            product_id: Some(synthetic::product(i as u64)),
            issuance_type: Some(synthetic::ISSUANCE_TYPES[i % 3].to_owned()),
            ..q()
        }),
        list("search consumer id, exact", 100.0, |i| {
            search(sample[i % 50].consumer_id.to_string(), MatchMode::Exact)
        }),
        list(
            "search consumer id prefix, 7 chars (~500 orders)",
            100.0,
            |i| {
                search(
                    sample[i % 50].consumer_id.as_str()[..7].to_owned(),
                    MatchMode::Prefix,
                )
            },
        ),
        list(
            "search consumer id prefix, 5 chars (~50k orders)",
            100.0,
            |i| {
                search(
                    sample[i % 50].consumer_id.as_str()[..5].to_owned(),
                    MatchMode::Prefix,
                )
            },
        ),
        list(
            "search consumer id prefix, 3 chars (all orders)",
            100.0,
            |i| {
                search(
                    sample[i % 50].consumer_id.as_str()[..3].to_owned(),
                    MatchMode::Prefix,
                )
            },
        ),
        list(
            "search consumer id, its last 4 digits (anywhere in it)",
            100.0,
            |i| {
                search(
                    sample[i % 50].consumer_id.as_str()[5..9].to_owned(),
                    MatchMode::Exact,
                )
            },
        ),
        list("search consumer id, whole id in lower case", 100.0, |i| {
            search(
                sample[i % 50].consumer_id.as_str().to_ascii_lowercase(),
                MatchMode::Prefix,
            )
        }),
        // A station filter on top: the matches' stations are not in the suffix index.
        list("search consumer id, exact + station", 100.0, |i| {
            at_station(
                i,
                search(sample[i % 50].consumer_id.to_string(), MatchMode::Exact),
            )
        }),
        list("search consumer id, 7 chars + station", 100.0, |i| {
            at_station(
                i,
                search(
                    sample[i % 50].consumer_id.as_str()[..7].to_owned(),
                    MatchMode::Prefix,
                ),
            )
        }),
        list(
            "search consumer id, 6 chars (~5k orders) + station",
            100.0,
            |i| {
                at_station(
                    i,
                    search(
                        sample[i % 50].consumer_id.as_str()[..6].to_owned(),
                        MatchMode::Prefix,
                    ),
                )
            },
        ),
        list("search consumer id, 5 chars + station", 100.0, |i| {
            at_station(
                i,
                search(
                    sample[i % 50].consumer_id.as_str()[..5].to_owned(),
                    MatchMode::Prefix,
                ),
            )
        }),
        list("search card id, exact", 100.0, |i| {
            search(sample[i % 50].card_id.to_string(), MatchMode::Exact)
        }),
        list("search card id prefix, 8 chars", 100.0, |i| {
            search(
                sample[i % 50].card_id.as_str()[..8].to_owned(),
                MatchMode::Prefix,
            )
        }),
        list("search operation id, exact", 100.0, |i| {
            let op = sample
                .iter()
                .cycle()
                .skip(i % 50)
                .take(50)
                .find_map(|o| o.operation_id.clone())
                .expect("an accepted order in the sample");
            search(op.to_string(), MatchMode::Exact)
        }),
        list("search last 4, exact (~100 orders)", 100.0, |i| {
            search(sample[i % 50].pan_last4.to_string(), MatchMode::Exact)
        }),
        list("search last 4 prefix, 2 digits (~10k orders)", 100.0, |i| {
            search(format!("{:02}", i % 100), MatchMode::Prefix)
        }),
        query("detail (order + timeline)", None, |j, i| {
            std::hint::black_box(j.detail(&sample[i % 50].card_id).unwrap());
        }),
        query("exceptions (default)", None, |j, _| {
            std::hint::black_box(j.exceptions(&ExceptionQuery::default()).unwrap());
        }),
        query("in_flight", None, |j, _| {
            std::hint::black_box(j.in_flight().unwrap());
        }),
    ]);
    for (name, days, bucket) in [
        ("stats: 7 days by hour", 7, Bucket::Hour),
        ("stats: 30 days by day", 30, Bucket::Day),
        ("stats: 400 days by day (whole journal)", 400, Bucket::Day),
    ] {
        v.push(Query {
            heavy: true,
            ..query(name, None, move |j, _| {
                let range = TimeRange::new(at(days).unwrap(), at(0).unwrap()).unwrap();
                std::hint::black_box(j.stats(range, bucket).unwrap());
            })
        });
    }
    v.push(Query {
        heavy: true,
        ..query(
            "export CSV: 1 station, 30 days (~1,500 rows)",
            None,
            move |j, i| {
                let q = OrderQuery {
                    station_id: Some(synthetic::station(i as u64)),
                    from: at(30),
                    ..q()
                };
                std::hint::black_box(j.export_csv(&q, std::io::sink()).unwrap());
            },
        )
    });
    v
}

/// Drops the journal's files from the OS page cache (`posix_fadvise(DONTNEED)`; the files are
/// clean, so every page goes). Returns false where that is not possible.
#[cfg(target_os = "linux")]
fn evict_from_page_cache(path: &Path) -> bool {
    let mut ok = true;
    for suffix in ["", "-wal"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        if let Ok(f) = std::fs::File::open(&file) {
            ok &= rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed).is_ok();
        }
    }
    ok
}

#[cfg(not(target_os = "linux"))]
fn evict_from_page_cache(_path: &Path) -> bool {
    false
}

/// A cold read, as a supervisor meets it after the journal's pages left memory: a journal handle
/// whose read connection is open (its schema loaded), with the files dropped from the OS page
/// cache and a fresh SQLite page cache. Only the query itself is timed.
fn cold_run(path: &Path, query: &Query<'_>, i: usize) -> Duration {
    let j = Journal::open(path)
        .unwrap()
        .with_clock(Arc::new(|| Timestamp::from_millis(END)));
    // Opens the pooled read connection and loads the schema (a card id that does not exist).
    let _ = j.detail(&id("no-such-card".to_owned()));
    evict_from_page_cache(path);
    let t = Instant::now();
    (query.run)(&j, i);
    t.elapsed()
}

fn main() {
    let rows: u64 = std::env::var("ORDER_JOURNAL_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let iters: usize = std::env::var("ORDER_JOURNAL_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let cold_iters: usize = std::env::var("ORDER_JOURNAL_BENCH_COLD_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let path = bench_db(rows);
    let t = Instant::now();
    let j = Journal::open(&path)
        .unwrap()
        .with_clock(Arc::new(|| Timestamp::from_millis(END)));
    println!(
        "Journal::open: {:.0} ms (includes ANALYZE when the statistics are missing or stale)",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let size = std::fs::metadata(&path).unwrap().len();
    println!(
        "\n{rows} orders, {:.1} MiB, {} bytes per order (orders + ~4.7 history rows each + indexes)\n",
        size as f64 / 1_048_576.0,
        size / rows
    );
    // Real values to search for, from the data itself.
    let sample: Vec<OrderSummary> = (0..50)
        .map(|k| {
            let to = END - (k as i64 * 7 + 1) * DAY;
            let p = j
                .list(&OrderQuery {
                    to: Some(Timestamp::from_millis(to)),
                    page_size: 1,
                    ..q()
                })
                .unwrap();
            p.items[0].clone()
        })
        .collect();
    let mut cursor = None;
    for _ in 0..100 {
        cursor = j
            .list(&OrderQuery {
                after: cursor,
                ..q()
            })
            .unwrap()
            .next;
    }
    let only = std::env::var("ORDER_JOURNAL_BENCH_ONLY").unwrap_or_default();
    let reads: Vec<Query<'_>> = queries(&sample, cursor)
        .into_iter()
        .filter(|q| q.name.contains(only.as_str()))
        .collect();

    let mut r = Report { rows: Vec::new() };
    println!("Warm (page cache and SQLite cache hot), {iters} runs per row:\n");
    println!("| query (page = 50) | p50 ms | p95 ms | p99 ms | max ms | target (p95) |");
    println!("|---|---|---|---|---|---|");
    for query in &reads {
        let n = if query.heavy {
            (iters / 10).max(5)
        } else {
            iters
        };
        r.measure("warm", query.name, n, query.target_ms, |i| {
            (query.run)(&j, i)
        });
    }
    let evictable = evict_from_page_cache(&path);
    println!(
        "\nCold ({}), {cold_iters} runs per row:\n",
        if evictable {
            "journal files dropped from the OS page cache before each run, fresh SQLite cache"
        } else {
            "this OS cannot drop one file from its page cache: these runs are NOT cold"
        }
    );
    println!("| query (page = 50) | p50 ms | p95 ms | p99 ms | max ms | target (p95) |");
    println!("|---|---|---|---|---|---|");
    for query in &reads {
        let n = if query.heavy {
            (cold_iters / 4).max(3)
        } else {
            cold_iters
        };
        r.record(
            "cold",
            query.name,
            query.target_ms,
            (0..n).map(|i| cold_run(&path, query, i)).collect(),
        );
    }
    // Writes: a whole order life (5 durable commits) on the 1M journal, then removed again.
    println!(
        "\n| write (WAL; `mark_sending` fsynced, the rest crash-safe) | p50 ms | p95 ms | p99 ms | max ms | |"
    );
    println!("|---|---|---|---|---|---|");
    let writes = iters.max(50);
    let prefix = format!(
        "bench{}",
        Rng::new(Instant::now().elapsed().as_nanos() as u64).next_u64() % 1_000_000
    );
    let counter = std::cell::Cell::new(0usize);
    let new_order = |_: usize, tag: &str| {
        let i = counter.get();
        counter.set(i + 1);
        NewOrder {
            operator: "bench\\teller".into(),
            consumer_id: id(format!("C{:08}", i)),
            product_id: "PRODUCT_0".into(),
            station_id: "STATION-00".into(),
            issuance_type: "NEW".into(),
            pan_last4: PanLast4::new("1234").unwrap(),
            card_id: id(format!("{prefix}-{tag}-{i}")),
            issuer_request_id: id(format!("R{i:x}-bench")),
            correlation_id: id(format!("c{i}")),
        }
    };
    r.measure("write", "record_intent (1M journal)", writes, None, |i| {
        j.record_intent(&new_order(i, "a")).unwrap()
    });
    r.measure(
        "write",
        "order life: intent + sending + accepted + 2 statuses (1M journal)",
        writes,
        None,
        |i| {
            let o = new_order(i, "b");
            j.record_intent(&o).unwrap();
            j.mark_sending(&o.card_id).unwrap();
            j.record_accepted(&o.card_id, &op(&format!("op-{}-{i}", o.card_id)))
                .unwrap();
            j.record_production_status(
                &o.card_id,
                "CARD_PROD_READY",
                OperationStatus::Pending,
                None,
            )
            .unwrap();
            j.record_production_status(
                &o.card_id,
                "CARD_PROD_DONE",
                OperationStatus::Successful,
                None,
            )
            .unwrap();
        },
    );
    let c = rusqlite::Connection::open(&path).unwrap();
    c.pragma_update(None, "foreign_keys", true).unwrap();
    c.execute(
        "DELETE FROM orders WHERE card_id LIKE ?1",
        [format!("{prefix}-%")],
    )
    .unwrap();
    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    drop(c);

    let dir = tempfile::tempdir().unwrap();
    let fresh = Journal::open(dir.path().join("fresh.sqlite")).unwrap();
    r.measure(
        "write",
        "order life on an empty journal",
        writes,
        None,
        |i| {
            let o = new_order(i, "c");
            fresh.record_intent(&o).unwrap();
            fresh.mark_sending(&o.card_id).unwrap();
            fresh
                .record_accepted(&o.card_id, &op(&format!("op-{i}")))
                .unwrap();
            fresh
                .record_production_status(
                    &o.card_id,
                    "CARD_PROD_READY",
                    OperationStatus::Pending,
                    None,
                )
                .unwrap();
            fresh
                .record_production_status(
                    &o.card_id,
                    "CARD_PROD_DONE",
                    OperationStatus::Successful,
                    None,
                )
                .unwrap();
        },
    );
    let mem = Journal::open_in_memory().unwrap();
    r.measure(
        "write",
        "order life in memory (no fsync: CPU cost)",
        writes,
        None,
        |i| {
            let o = new_order(i, "d");
            mem.record_intent(&o).unwrap();
            mem.mark_sending(&o.card_id).unwrap();
            mem.record_accepted(&o.card_id, &op(&format!("op-{}-{i}", o.card_id)))
                .unwrap();
            mem.record_production_status(
                &o.card_id,
                "CARD_PROD_READY",
                OperationStatus::Pending,
                None,
            )
            .unwrap();
            mem.record_production_status(
                &o.card_id,
                "CARD_PROD_DONE",
                OperationStatus::Successful,
                None,
            )
            .unwrap();
        },
    );
}
