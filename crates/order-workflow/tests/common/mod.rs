//! A desk on its own training D1 and journal, and (for the `ledger-tests` files) a desk of a
//! real branch ledger: a fresh migrated database on the server of `scripts/with-postgres.sh`,
//! desks registered and their certificates minted by the test CA.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    unreachable_pub
)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use d1_client::RetryPolicy;
use d1_sandbox::SandboxControl;
use desk_domain::CardId;
use order_journal::{Journal, JournalIdentity};
use order_workflow::training::{self, TrainingOptions};
use order_workflow::{Catalog, DeskSettings, OrderDesk, OrderDraft, ProductionPhase};

pub const CANARY_PAN: &str = "4000056655665556";

pub struct Desk {
    pub desk: OrderDesk,
    pub control: SandboxControl,
    pub dir: tempfile::TempDir,
    _sandbox: d1_sandbox::SandboxHandle,
}

/// A desk of `operator` on a training D1 of its own.
pub async fn desk(operator: &str, settings: DeskSettings) -> Desk {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::training();
    let options = TrainingOptions {
        port: 0,
        production_step: Duration::from_millis(50),
        retry: RetryPolicy {
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            budget: Duration::from_millis(300),
        },
    };
    let d1 = training::start(&dir.path().join("training"), &catalog, &options)
        .await
        .unwrap();
    let journal = Journal::open_for(
        dir.path().join("journal.sqlite3"),
        &JournalIdentity {
            environment: "training".into(),
            issuer_id: training::TRAINING_ISSUER_ID.into(),
        },
    )
    .unwrap();
    let control = d1.sandbox.control();
    let desk = OrderDesk::new(
        d1.client,
        d1.encryption_key,
        journal,
        catalog,
        operator.into(),
        settings,
    );
    Desk {
        desk,
        control,
        dir,
        _sandbox: d1.sandbox,
    }
}

/// A valid draft of `issuance_type` with the planted card number.
pub fn draft(issuance_type: &str) -> OrderDraft {
    let mut draft = OrderDraft {
        consumer_id: "CUST-1001".into(),
        card_product_id: "DEMO_DEBIT".into(),
        issuance_type: issuance_type.into(),
        priority: Some("STANDARD".into()),
        perso_station: "BRANCH-PS-01".into(),
        ..OrderDraft::default()
    };
    draft.design.custom_lines = vec!["WELCOME".into()];
    draft.card.pan = "4000056655665556".into();
    draft.card.exp = "07/30".into();
    draft.card.name = "ANA GARCIA".into();
    draft
}

/// Asks D1 until the card's production ends.
pub async fn until_final(desk: &OrderDesk, card_id: &CardId) -> ProductionPhase {
    for _ in 0..400 {
        let view = desk.refresh_status(card_id).await.unwrap();
        if view.phase != ProductionPhase::InProgress {
            return view.phase;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("production did not finish");
}

/// Every file under `dir` holds no trace of the planted card number.
pub fn assert_no_canary(dir: &std::path::Path) {
    for entry in walk(dir) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(CANARY_PAN) && !text.contains("ANA GARCIA"),
            "card data in {}",
            entry.display()
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The real ledger (only with the harness's server)
// ---------------------------------------------------------------------------------------------

static COUNTER: AtomicU32 = AtomicU32::new(0);
/// Role and database creation are cluster-wide catalog changes: one at a time.
static CATALOG: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: these tests need the real PostgreSQL server of the harness. \
             Run them with:\n\n    scripts/test-ledger.sh\n"
        )
    })
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}x{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

fn options(
    db: &str,
    user: &str,
    identity: branch_ledger::ClientIdentity,
) -> branch_ledger::ConnectOptions {
    branch_ledger::ConnectOptions::new(
        var("LEDGER_TEST_HOST"),
        var("LEDGER_TEST_PORT").parse().unwrap(),
        db,
        user,
        std::fs::read_to_string(var("LEDGER_TEST_CA")).unwrap(),
        identity,
    )
}

fn admin(db: &str) -> branch_ledger::ConnectOptions {
    options(
        db,
        &var("LEDGER_TEST_ADMIN_USER"),
        branch_ledger::ClientIdentity::new(
            std::fs::read_to_string(var("LEDGER_TEST_ADMIN_CERT")).unwrap(),
            zeroize::Zeroizing::new(std::fs::read_to_string(var("LEDGER_TEST_ADMIN_KEY")).unwrap()),
        ),
    )
}

/// A migrated ledger database of one test.
pub struct TestLedger {
    pub db: String,
    admin: branch_ledger::LedgerAdmin,
}

impl TestLedger {
    pub async fn new() -> Self {
        let db = unique("wf_t");
        let _guard = CATALOG.lock().await;
        let sql = branch_ledger::connect_sql(&admin(&var("LEDGER_TEST_DB")))
            .await
            .unwrap();
        sql.batch_execute(&format!("CREATE DATABASE {db}"))
            .await
            .unwrap();
        let mut admin = branch_ledger::LedgerAdmin::connect(&admin(&db))
            .await
            .unwrap();
        admin.migrate().await.unwrap();
        Self { db, admin }
    }

    /// Registers a desk in `branch` and returns how it connects.
    pub async fn desk(&mut self, name: &str, branch: &str) -> branch_ledger::ConnectOptions {
        let desk_id = branch_ledger::DeskId::parse(&unique(&format!("{name}-"))).unwrap();
        {
            let _guard = CATALOG.lock().await;
            self.admin
                .add_desk(&branch_ledger::NewDesk {
                    desk_id: desk_id.clone(),
                    branch_id: branch_ledger::BranchId::parse(branch).unwrap(),
                    region_id: None,
                    kind: branch_ledger::DeskKind::Teller,
                })
                .await
                .unwrap();
        }
        let role = desk_id.role_name();
        options(&self.db, &role, mint(&role))
    }
}

fn mint(cn: &str) -> branch_ledger::ClientIdentity {
    use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair};
    let ca_key =
        KeyPair::from_pem(&std::fs::read_to_string(var("LEDGER_TEST_CA_KEY")).unwrap()).unwrap();
    let issuer = Issuer::from_ca_cert_pem(
        &std::fs::read_to_string(var("LEDGER_TEST_CA")).unwrap(),
        ca_key,
    )
    .unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, &issuer).unwrap();
    branch_ledger::ClientIdentity::new(cert.pem(), zeroize::Zeroizing::new(key.serialize_pem()))
}

/// Waits (bounded) until `check` holds; a hang guard, not a timing assertion.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: not within 15 s");
}
