//! The branch ledger's benchmark, against the throwaway server of `scripts/with-postgres.sh`:
//! 10,000,000 orders across 500 branches / 1,500 desks generated on the server, then the
//! supervisor's queries as one branch's desk role (p50/p95), sustained ingest from 200 desk
//! connections (events/s, append latency, sync lag p95) and bytes per order. Prints numbers;
//! asserts nothing about time.
//!
//! ```text
//! LEDGER_PG_SETTINGS="shared_buffers=2GB max_wal_size=16GB checkpoint_timeout=30min \
//!   maintenance_work_mem=1GB max_connections=400" \
//!   scripts/with-postgres.sh cargo bench -p branch-ledger --bench ledger_bench
//! ```
//!
//! Sizes: LEDGER_BENCH_ORDERS (10000000), LEDGER_BENCH_BRANCHES (500),
//! LEDGER_BENCH_CONNECTIONS (200), LEDGER_BENCH_SECONDS (30 per ingest phase),
//! LEDGER_BENCH_RATE (2000 events/s in the paced phase), LEDGER_BENCH_ITERATIONS (60 per query).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

mod ingest;
mod load;
mod queries;

use std::time::{Duration, Instant};

use branch_ledger::{ClientIdentity, ConnectOptions, LedgerAdmin, connect_sql};
use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair};
use zeroize::Zeroizing;

const DB: &str = "ledger_bench";

/// What to build and measure.
pub struct Setup {
    pub orders: i64,
    pub branches: i64,
    pub connections: usize,
    pub seconds: u64,
    pub rate: u64,
    pub iterations: usize,
    host: String,
    port: u16,
    ca_pem: String,
    ca_key_pem: String,
    admin_user: String,
    admin_cert: String,
    admin_key: String,
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run the benchmark through the harness:\n\n    \
             scripts/with-postgres.sh cargo bench -p branch-ledger --bench ledger_bench\n"
        )
    })
}

fn number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

impl Setup {
    fn from_env() -> Self {
        let read = |v: &str| std::fs::read_to_string(env(v)).expect(v);
        Self {
            orders: number("LEDGER_BENCH_ORDERS", 10_000_000),
            branches: number("LEDGER_BENCH_BRANCHES", 500),
            connections: number("LEDGER_BENCH_CONNECTIONS", 200),
            seconds: number("LEDGER_BENCH_SECONDS", 30),
            rate: number("LEDGER_BENCH_RATE", 2000),
            iterations: number("LEDGER_BENCH_ITERATIONS", 60),
            host: env("LEDGER_TEST_HOST"),
            port: env("LEDGER_TEST_PORT").parse().expect("port"),
            ca_pem: read("LEDGER_TEST_CA"),
            ca_key_pem: read("LEDGER_TEST_CA_KEY"),
            admin_user: env("LEDGER_TEST_ADMIN_USER"),
            admin_cert: read("LEDGER_TEST_ADMIN_CERT"),
            admin_key: read("LEDGER_TEST_ADMIN_KEY"),
        }
    }

    pub fn desks(&self) -> i64 {
        self.branches * load::DESKS_PER_BRANCH
    }

    fn admin_options(&self, db: &str) -> ConnectOptions {
        ConnectOptions::new(
            &self.host,
            self.port,
            db,
            &self.admin_user,
            &self.ca_pem,
            ClientIdentity::new(&self.admin_cert, Zeroizing::new(self.admin_key.clone())),
        )
    }

    /// A desk's connection options with a freshly minted certificate (CN = its role).
    pub fn desk_options(&self, desk_id: &str) -> ConnectOptions {
        let role = format!("desk_{desk_id}");
        let ca_key = KeyPair::from_pem(&self.ca_key_pem).expect("CA key");
        let issuer = Issuer::from_ca_cert_pem(&self.ca_pem, ca_key).expect("CA");
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(DnType::CommonName, &role);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, &issuer).expect("cert");
        let mut options = ConnectOptions::new(
            &self.host,
            self.port,
            DB,
            role,
            &self.ca_pem,
            ClientIdentity::new(cert.pem(), Zeroizing::new(key.serialize_pem())),
        );
        options.connect_timeout = Duration::from_secs(60);
        options
    }
}

/// p50, p95 and max of durations, in milliseconds.
pub fn summary(mut samples: Vec<Duration>) -> (f64, f64, f64) {
    samples.sort();
    let at = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[i].as_secs_f64() * 1000.0
    };
    (at(0.5), at(0.95), at(1.0))
}

async fn build(setup: &Setup) {
    let sql = connect_sql(&setup.admin_options(&env("LEDGER_TEST_DB")))
        .await
        .expect("admin");
    let exists: bool = sql
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
            &[&DB],
        )
        .await
        .expect("query")
        .get(0);
    if exists {
        let bench = connect_sql(&setup.admin_options(DB))
            .await
            .expect("bench db");
        let counts = bench
            .query_one(
                "SELECT (SELECT count(*) FROM ledger.orders), \
                        (SELECT count(*) FROM ledger.order_events WHERE desk_id NOT LIKE '%-REG')",
                &[],
            )
            .await;
        if let Ok(row) = counts {
            let (n, events): (i64, i64) = (row.get(0), row.get(1));
            // Reused only when complete (a previous ingest adds events: still complete).
            if n >= setup.orders && events >= setup.orders * 4 {
                println!("reusing {DB} with {n} orders and {events} events");
                return;
            }
        }
        drop(bench);
        sql.batch_execute(&format!("DROP DATABASE {DB}"))
            .await
            .expect("drop");
    }
    sql.batch_execute(&format!("CREATE DATABASE {DB}"))
        .await
        .expect("create");
    let mut admin = LedgerAdmin::connect(&setup.admin_options(DB))
        .await
        .expect("admin");
    admin.migrate().await.expect("migrate");
    load::register(&mut admin, setup.branches).await;
    let bench = connect_sql(&setup.admin_options(DB))
        .await
        .expect("bench db");
    load::generate(&bench, setup).await;
}

async fn bytes_per_order(setup: &Setup) {
    let sql = connect_sql(&setup.admin_options(DB)).await.expect("admin");
    let row = sql
        .query_one(
            "SELECT (SELECT count(*) FROM ledger.orders),
                    pg_total_relation_size('ledger.orders'),
                    (SELECT sum(pg_total_relation_size(i.inhrelid)) FROM pg_inherits AS i
                     WHERE i.inhparent = 'ledger.order_events'::regclass)::bigint,
                    (SELECT count(*) FROM ledger.order_events),
                    pg_database_size(current_database())",
            &[],
        )
        .await
        .expect("sizes");
    let (orders, orders_bytes, events_bytes, events, db): (i64, i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
    let per = |b: i64| b as f64 / orders.max(1) as f64;
    println!("\n## Size");
    println!("orders {orders}, events {events}");
    println!(
        "orders table + indexes: {:.0} MB ({:.0} bytes/order)",
        orders_bytes as f64 / 1e6,
        per(orders_bytes)
    );
    println!(
        "history (all partitions) + indexes: {:.0} MB ({:.0} bytes/order, {:.0} bytes/event)",
        events_bytes as f64 / 1e6,
        per(events_bytes),
        events_bytes as f64 / events.max(1) as f64
    );
    println!(
        "total: {:.0} bytes/order; whole database {:.1} GB",
        per(orders_bytes + events_bytes),
        db as f64 / 1e9
    );
}

fn main() {
    let setup = Setup::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let started = Instant::now();
        println!(
            "# Branch ledger benchmark: {} orders, {} branches, {} desks",
            setup.orders,
            setup.branches,
            setup.desks()
        );
        build(&setup).await;
        bytes_per_order(&setup).await;
        queries::run(&setup).await;
        ingest::run(&setup).await;
        println!(
            "\nbenchmark done in {:.0} s",
            started.elapsed().as_secs_f64()
        );
    });
}
