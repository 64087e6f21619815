//! The supervisor's queries as desk roles (row-level security applies), rotating over desks of
//! different branches so the caches are not one branch's.

use desk_domain::CardId;
use std::time::{Duration, Instant};

use branch_ledger::{BranchId, DeskId, Ledger, OrderQuery, Scope, Search, SearchMode};
use order_journal::{Bucket, ExceptionQuery, OrderState, TimeRange, Timestamp};

use crate::load::{self, END_EPOCH};
use crate::{Setup, summary};

/// What one branch's queries look for (real values of that branch).
struct Sample {
    ledger: Ledger,
    branch: String,
    desk: String,
    card_id: String,
    consumer_id: String,
    operation_id: String,
    last4: String,
    operator: String,
}

const DESKS: i64 = 20;

async fn samples(setup: &Setup) -> Vec<Sample> {
    let admin = branch_ledger::connect_sql(&setup.desk_options_admin())
        .await
        .expect("admin");
    let mut out = Vec::new();
    for i in 0..DESKS {
        let b = (i * setup.branches / DESKS + 7) % setup.branches;
        let desk = load::desk(b, i % load::DESKS_PER_BRANCH);
        let ledger = Ledger::connect(&setup.desk_options(&desk))
            .await
            .expect("desk");
        let row = admin
            .query_one(
                "SELECT card_id, consumer_id, operation_id, pan_last4, operator FROM ledger.orders
                 WHERE branch_id = $1 AND operation_id IS NOT NULL
                 ORDER BY created_at DESC OFFSET 500 LIMIT 1",
                &[&load::branch(b)],
            )
            .await
            .expect("sample");
        out.push(Sample {
            ledger,
            branch: load::branch(b),
            desk,
            card_id: row.get(0),
            consumer_id: row.get(1),
            operation_id: row.get(2),
            last4: row.get(3),
            operator: row.get(4),
        });
    }
    out
}

fn ts(epoch_seconds: i64) -> Timestamp {
    Timestamp::from_millis(epoch_seconds * 1000)
}

/// One measured query.
enum Query {
    /// A list page built from the branch's sample.
    List(Box<dyn Fn(&Sample) -> OrderQuery>),
    /// The first page, then the second one by its keyset cursor (both timed).
    SecondPage,
    Detail,
    Stats(TimeRange, Bucket),
    Exceptions(ExceptionQuery),
    SyncState,
}

async fn once(s: &Sample, query: &Query) -> branch_ledger::Result<()> {
    match query {
        Query::List(build) => s.ledger.list(&build(s)).await.map(drop),
        Query::SecondPage => {
            let page = s.ledger.list(&OrderQuery::default()).await?;
            s.ledger
                .list(&OrderQuery {
                    after: page.next,
                    ..OrderQuery::default()
                })
                .await
                .map(drop)
        }
        Query::Detail => {
            let branch = BranchId::parse(&s.branch)?;
            s.ledger
                .detail(
                    &branch,
                    &CardId::parse(s.card_id.as_str()).expect("card id"),
                )
                .await
                .map(drop)
        }
        Query::Stats(range, bucket) => s
            .ledger
            .stats(*range, *bucket, &Scope::default())
            .await
            .map(drop),
        Query::Exceptions(q) => s.ledger.exceptions(q, &Scope::default()).await.map(drop),
        Query::SyncState => s.ledger.desk_sync_state().await.map(drop),
    }
}

/// Runs `query` `iterations` times over the samples (after one warm-up round) and prints p50/p95.
async fn measure(name: &str, target_ms: f64, samples: &[Sample], iterations: usize, query: Query) {
    for s in samples {
        once(s, &query)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let mut times = Vec::with_capacity(iterations);
    for i in 0..iterations {
        let s = &samples[i % samples.len()];
        let start = Instant::now();
        once(s, &query)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        times.push(start.elapsed());
    }
    let (p50, p95, max) = summary(times);
    println!(
        "| {name} | {p50:.2} | {p95:.2} | {max:.2} | ≤ {target_ms:.0} {} |",
        if p95 <= target_ms { "✅" } else { "❌" }
    );
}

fn list(build: impl Fn(&Sample) -> OrderQuery + 'static) -> Query {
    Query::List(Box::new(build))
}

fn search(text: String, mode: SearchMode) -> OrderQuery {
    OrderQuery {
        search: Some(Search { text, mode }),
        ..OrderQuery::default()
    }
}

pub async fn run(setup: &Setup) {
    let samples = samples(setup).await;
    let n = setup.iterations;
    let week = (ts(END_EPOCH - 7 * 86_400), ts(END_EPOCH));
    let month = (ts(END_EPOCH - 30 * 86_400), ts(END_EPOCH));
    println!(
        "\n## Supervisor queries, one branch's desk role ({n} runs each over {DESKS} desks of \
         different branches; ms)"
    );
    println!("| query (page of 50) | p50 | p95 | max | target |");
    println!("|---|---|---|---|---|");
    let first = 50.0;
    let filter = 150.0;
    let d = OrderQuery::default;
    let cases: Vec<(&str, f64, Query)> = vec![
        ("first page", first, list(move |_| d())),
        ("second page (keyset)", filter, Query::SecondPage),
        (
            "date range (last 7 days)",
            filter,
            list(move |_| OrderQuery {
                from: Some(week.0),
                to: Some(week.1),
                ..d()
            }),
        ),
        (
            "date range (a week a year ago)",
            filter,
            list(move |_| OrderQuery {
                from: Some(ts(END_EPOCH - 358 * 86_400)),
                to: Some(ts(END_EPOCH - 351 * 86_400)),
                ..d()
            }),
        ),
        (
            "state = failed",
            filter,
            list(move |_| OrderQuery {
                states: vec![OrderState::Failed],
                ..d()
            }),
        ),
        (
            "state = outcome_unknown (rare)",
            filter,
            list(move |_| OrderQuery {
                states: vec![OrderState::OutcomeUnknown],
                ..d()
            }),
        ),
        (
            "station",
            filter,
            list(move |_| OrderQuery {
                station_id: Some("ST-2".into()),
                ..d()
            }),
        ),
        (
            "operator",
            filter,
            list(move |s| OrderQuery {
                operator: Some(s.operator.clone()),
                ..d()
            }),
        ),
        (
            "product",
            filter,
            list(move |_| OrderQuery {
                product_id: Some("MC_PLATINUM".into()),
                ..d()
            }),
        ),
        (
            "issuance type",
            filter,
            list(move |_| OrderQuery {
                issuance_type: Some("REPLACEMENT".into()),
                ..d()
            }),
        ),
        (
            "desk",
            filter,
            list(move |s| OrderQuery {
                desk: DeskId::parse(&s.desk).ok(),
                ..d()
            }),
        ),
        (
            "4 filters (30 days, product, station, state done)",
            filter,
            list(move |_| OrderQuery {
                from: Some(month.0),
                to: Some(month.1),
                product_id: Some("VISA_GOLD".into()),
                station_id: Some("ST-1".into()),
                states: vec![OrderState::Done],
                ..d()
            }),
        ),
        (
            "a filter matching nothing",
            filter,
            list(move |_| OrderQuery {
                station_id: Some("NO-SUCH-STATION".into()),
                ..d()
            }),
        ),
        (
            "search card id (exact)",
            filter,
            list(|s| search(s.card_id.clone(), SearchMode::Exact)),
        ),
        (
            "search consumer id (exact)",
            filter,
            list(|s| search(s.consumer_id.clone(), SearchMode::Exact)),
        ),
        (
            "search operation id (exact)",
            filter,
            list(|s| search(s.operation_id.clone(), SearchMode::Exact)),
        ),
        (
            "search last 4 (exact)",
            filter,
            list(|s| search(s.last4.clone(), SearchMode::Exact)),
        ),
        (
            "search consumer id (partial, any case)",
            filter,
            list(|s| {
                search(
                    s.consumer_id.to_lowercase()[2..].to_owned(),
                    SearchMode::Partial,
                )
            }),
        ),
        (
            "search last 4 (2 digits, partial)",
            filter,
            list(|s| search(s.last4[2..].to_owned(), SearchMode::Partial)),
        ),
        ("detail with timeline", filter, Query::Detail),
        (
            "stats: hours of the last 7 days",
            filter,
            Query::Stats(TimeRange::new(week.0, week.1).expect("range"), Bucket::Hour),
        ),
        (
            "stats: days of the year",
            filter,
            Query::Stats(
                TimeRange::new(ts(END_EPOCH - 365 * 86_400), ts(END_EPOCH)).expect("range"),
                Bucket::Day,
            ),
        ),
        (
            "exceptions (last 30 days)",
            filter,
            Query::Exceptions(ExceptionQuery {
                since: Some(month.0),
                stuck_after: Duration::from_secs(1800),
                limit: 200,
            }),
        ),
        (
            "desk sync state (the branch's desks)",
            filter,
            Query::SyncState,
        ),
    ];
    for (name, target, query) in cases {
        measure(name, target, &samples, n, query).await;
    }

    // A regional desk: ten branches merged.
    let regional = Ledger::connect(&setup.desk_options(&format!("{}-REG", load::branch(0))))
        .await
        .expect("regional desk");
    let regional = [Sample {
        ledger: regional,
        branch: load::branch(0),
        desk: String::new(),
        card_id: String::new(),
        consumer_id: String::new(),
        operation_id: String::new(),
        last4: String::new(),
        operator: String::new(),
    }];
    measure(
        "regional desk (10 branches): first page",
        first,
        &regional,
        n,
        list(move |_| d()),
    )
    .await;
    measure(
        "regional desk: state = failed",
        filter,
        &regional,
        n,
        list(move |_| OrderQuery {
            states: vec![OrderState::Failed],
            ..d()
        }),
    )
    .await;
    let plan = samples[0]
        .ledger
        .explain_list(&OrderQuery {
            station_id: Some("ST-2".into()),
            ..d()
        })
        .await
        .expect("explain");
    println!("\nplan of the station filter:\n  {}", plan.join("\n  "));
}

impl Setup {
    fn desk_options_admin(&self) -> branch_ledger::ConnectOptions {
        self.admin_options(crate::DB)
    }
}
