//! Supervisor-list and write benchmarks on a generated journal (default 1,000,000 orders).
//!
//! Run: `cargo bench -p order-journal --bench journal_bench`
//! Env: `ORDER_JOURNAL_BENCH_ROWS` (default 1000000), `ORDER_JOURNAL_BENCH_ITERS` (default 200).
//! The generated database is cached under `target/order-journal-bench/` between runs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::panic
)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use order_journal::synthetic::{self, Rng};
use order_journal::{
    Bucket, ExceptionQuery, Journal, MatchMode, NewOrder, OperationStatus, OrderQuery, OrderState,
    PanLast4, Search, TimeRange, Timestamp,
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
    fn measure<T>(
        &mut self,
        name: &str,
        iters: usize,
        target_ms: Option<f64>,
        mut f: impl FnMut(usize) -> T,
    ) {
        // Warm-up (page cache, prepared statements).
        for i in 0..3 {
            std::hint::black_box(f(i));
        }
        let mut times = Vec::with_capacity(iters);
        for i in 0..iters {
            let t = Instant::now();
            std::hint::black_box(f(i));
            times.push(t.elapsed());
        }
        times.sort();
        let p95 = pct(&times, 0.95);
        let verdict = match target_ms {
            Some(t) if p95.as_secs_f64() * 1000.0 <= t => format!("≤ {t} ms ✔"),
            Some(t) => format!("> {t} ms ✘"),
            None => String::new(),
        };
        let row = format!(
            "| {name} | {} | {} | {} | {} | {verdict} |",
            ms(pct(&times, 0.5)),
            ms(p95),
            ms(pct(&times, 0.99)),
            ms(*times.last().unwrap()),
        );
        println!("{row}");
        self.rows.push(row);
    }
}

fn bench_db(rows: u64) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/order-journal-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("journal-{rows}-v3.sqlite"));
    if path.exists() {
        return path;
    }
    let tmp = dir.join(format!("journal-{rows}-v3.tmp.sqlite"));
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

fn search(text: String, mode: MatchMode) -> OrderQuery {
    OrderQuery {
        search: Some(Search { text, mode }),
        ..q()
    }
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
    println!("| query (page = 50) | p50 ms | p95 ms | p99 ms | max ms | target (p95) |");
    println!("|---|---|---|---|---|---|");
    let mut r = Report { rows: Vec::new() };
    let mut rng = Rng::new(7);
    // Real values to search for, from the data itself.
    let sample: Vec<_> = (0..50)
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

    r.measure("first page, no filter", iters, Some(30.0), |_| {
        j.list(&q()).unwrap()
    });
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
    r.measure("page 101 (keyset cursor)", iters, Some(100.0), |_| {
        j.list(&OrderQuery {
            after: cursor,
            ..q()
        })
        .unwrap()
    });
    r.measure("date range: last 7 days", iters, Some(100.0), |_| {
        j.list(&OrderQuery {
            from: Some(Timestamp::from_millis(END - 7 * DAY)),
            to: Some(Timestamp::from_millis(END)),
            ..q()
        })
        .unwrap()
    });
    r.measure(
        "date range: one day, 1–399 days ago",
        iters,
        Some(100.0),
        |i| {
            let d = 1 + (i as i64 * 37) % 399;
            j.list(&OrderQuery {
                from: Some(Timestamp::from_millis(END - d * DAY)),
                to: Some(Timestamp::from_millis(END - (d - 1) * DAY)),
                ..q()
            })
            .unwrap()
        },
    );
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
        r.measure(name, iters, Some(100.0), |_| {
            j.list(&OrderQuery {
                states: states.clone(),
                ..q()
            })
            .unwrap()
        });
    }
    r.measure("station (1 of 25)", iters, Some(100.0), |i| {
        j.list(&OrderQuery {
            station_id: Some(synthetic::station(i as u64)),
            ..q()
        })
        .unwrap()
    });
    r.measure("operator (1 of 60)", iters, Some(100.0), |i| {
        j.list(&OrderQuery {
            operator: Some(synthetic::operator(i as u64)),
            ..q()
        })
        .unwrap()
    });
    r.measure("product (1 of 8)", iters, Some(100.0), |i| {
        j.list(&OrderQuery {
            product_id: Some(synthetic::product(i as u64)),
            ..q()
        })
        .unwrap()
    });
    r.measure("issuance type (1 of 3)", iters, Some(100.0), |i| {
        j.list(&OrderQuery {
            issuance_type: Some(synthetic::ISSUANCE_TYPES[i % 3].to_owned()),
            ..q()
        })
        .unwrap()
    });
    r.measure("station + failed + last 30 days", iters, Some(100.0), |i| {
        j.list(&OrderQuery {
            station_id: Some(synthetic::station(i as u64)),
            states: vec![OrderState::Failed],
            from: Some(Timestamp::from_millis(END - 30 * DAY)),
            ..q()
        })
        .unwrap()
    });
    r.measure(
        "station + operator + product + type",
        iters,
        Some(100.0),
        |i| {
            let i = i as u64;
            j.list(&OrderQuery {
                station_id: Some(synthetic::station(i)),
                operator: Some(synthetic::operator(i * 7)),
                product_id: Some(synthetic::product(i * 3)),
                issuance_type: Some(synthetic::ISSUANCE_TYPES[(i % 3) as usize].to_owned()),
                ..q()
            })
            .unwrap()
        },
    );
    r.measure("search consumer id, exact", iters, Some(100.0), |i| {
        j.list(&search(
            sample[i % 50].consumer_id.clone(),
            MatchMode::Exact,
        ))
        .unwrap()
    });
    r.measure(
        "search consumer id prefix, 7 chars (~500 orders)",
        iters,
        Some(100.0),
        |i| {
            j.list(&search(
                sample[i % 50].consumer_id[..7].to_owned(),
                MatchMode::Prefix,
            ))
            .unwrap()
        },
    );
    r.measure(
        "search consumer id prefix, 5 chars (~50k orders)",
        iters,
        Some(100.0),
        |i| {
            j.list(&search(
                sample[i % 50].consumer_id[..5].to_owned(),
                MatchMode::Prefix,
            ))
            .unwrap()
        },
    );
    r.measure(
        "search consumer id, its last 4 digits (anywhere, trigram index)",
        iters,
        Some(100.0),
        |i| {
            j.list(&search(
                sample[i % 50].consumer_id[5..9].to_owned(),
                MatchMode::Exact,
            ))
            .unwrap()
        },
    );
    r.measure(
        "search consumer id, whole id in lower case",
        iters,
        Some(100.0),
        |i| {
            j.list(&search(
                sample[i % 50].consumer_id.to_ascii_lowercase(),
                MatchMode::Prefix,
            ))
            .unwrap()
        },
    );
    r.measure("search card id, exact", iters, Some(100.0), |i| {
        j.list(&search(sample[i % 50].card_id.clone(), MatchMode::Exact))
            .unwrap()
    });
    r.measure("search card id prefix, 8 chars", iters, Some(100.0), |i| {
        j.list(&search(
            sample[i % 50].card_id[..8].to_owned(),
            MatchMode::Prefix,
        ))
        .unwrap()
    });
    r.measure("search operation id, exact", iters, Some(100.0), |i| {
        let op = sample
            .iter()
            .cycle()
            .skip(i % 50)
            .take(50)
            .find_map(|o| o.operation_id.clone())
            .expect("an accepted order in the sample");
        j.list(&search(op, MatchMode::Exact)).unwrap()
    });
    r.measure(
        "search last 4, exact (~100 orders)",
        iters,
        Some(100.0),
        |i| {
            j.list(&search(
                sample[i % 50].pan_last4.to_string(),
                MatchMode::Exact,
            ))
            .unwrap()
        },
    );
    r.measure(
        "search last 4 prefix, 2 digits (~10k orders)",
        iters,
        Some(100.0),
        |i| {
            j.list(&search(format!("{:02}", i % 100), MatchMode::Prefix))
                .unwrap()
        },
    );
    r.measure("detail (order + timeline)", iters, None, |i| {
        j.detail(&sample[i % 50].card_id).unwrap()
    });
    r.measure("exceptions (default)", iters, None, |_| {
        j.exceptions(&ExceptionQuery::default()).unwrap()
    });
    r.measure("in_flight", iters, None, |_| j.in_flight().unwrap());
    let small = (iters / 10).max(5);
    r.measure("stats: 7 days by hour", small, None, |_| {
        j.stats(
            TimeRange::new(
                Timestamp::from_millis(END - 7 * DAY),
                Timestamp::from_millis(END),
            )
            .unwrap(),
            Bucket::Hour,
        )
        .unwrap()
    });
    r.measure("stats: 30 days by day", small, None, |_| {
        j.stats(
            TimeRange::new(
                Timestamp::from_millis(END - 30 * DAY),
                Timestamp::from_millis(END),
            )
            .unwrap(),
            Bucket::Day,
        )
        .unwrap()
    });
    r.measure(
        "stats: 400 days by day (whole journal)",
        small,
        None,
        |_| {
            j.stats(
                TimeRange::new(
                    Timestamp::from_millis(END - 400 * DAY),
                    Timestamp::from_millis(END),
                )
                .unwrap(),
                Bucket::Day,
            )
            .unwrap()
        },
    );
    r.measure(
        "export CSV: 1 station, 30 days (~1,500 rows)",
        small,
        None,
        |i| {
            let q = OrderQuery {
                station_id: Some(synthetic::station(i as u64)),
                from: Some(Timestamp::from_millis(END - 30 * DAY)),
                ..q()
            };
            j.export_csv(&q, std::io::sink()).unwrap()
        },
    );

    // Writes: a whole order life (5 durable commits) on the 1M journal, then removed again.
    println!(
        "\n| write (WAL; intent + sending fsynced, the rest crash-safe) | p50 ms | p95 ms | p99 ms | max ms | |"
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
            consumer_id: format!("C{:08}", i),
            product_id: "PRODUCT_0".into(),
            station_id: "STATION-00".into(),
            issuance_type: "NEW".into(),
            pan_last4: PanLast4::new("1234").unwrap(),
            card_id: format!("{prefix}-{tag}-{i}"),
            issuer_request_id: format!("R{i:x}-bench"),
            correlation_id: format!("c{i}"),
        }
    };
    r.measure("record_intent (1M journal)", writes, None, |i| {
        j.record_intent(&new_order(i, "a")).unwrap()
    });
    r.measure(
        "order life: intent + sending + accepted + 2 statuses (1M journal)",
        writes,
        None,
        |i| {
            let o = new_order(i, "b");
            j.record_intent(&o).unwrap();
            j.mark_sending(&o.card_id).unwrap();
            j.record_accepted(&o.card_id, &format!("op-{}-{i}", o.card_id))
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
    r.measure("order life on an empty journal", writes, None, |i| {
        let o = new_order(i, "c");
        fresh.record_intent(&o).unwrap();
        fresh.mark_sending(&o.card_id).unwrap();
        fresh
            .record_accepted(&o.card_id, &format!("op-{i}"))
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
    });
    let mem = Journal::open_in_memory().unwrap();
    r.measure(
        "order life in memory (no fsync: CPU cost)",
        writes,
        None,
        |i| {
            let o = new_order(i, "d");
            mem.record_intent(&o).unwrap();
            mem.mark_sending(&o.card_id).unwrap();
            mem.record_accepted(&o.card_id, &format!("op-{}-{i}", o.card_id))
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
    let _ = rng.next_u64();
}
