//! The real PostgreSQL server of the tests (started by `scripts/with-postgres.sh`), a fresh
//! migrated database per test, and desk certificates minted by the test CA.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    unreachable_pub
)]

use std::sync::atomic::{AtomicU32, Ordering};

use branch_ledger::{
    BranchId, ClientIdentity, ConnectOptions, DeskId, DeskKind, Event, Ledger, LedgerAdmin,
    NewDesk, RegionId, connect_sql,
};
use desk_domain::{CardId, ConsumerId, CorrelationId, IssuerRequestId, OperationId};
use order_journal::{NewOrder, OrderState, PanLast4, Timestamp};
use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair};
use tokio::sync::Mutex;
use zeroize::Zeroizing;

/// A planted card number: it must never reach the ledger.
pub const CANARY_PAN: &str = "4000056655665556";

/// Role and database creation are cluster-wide catalog changes: one test at a time.
static CATALOG: Mutex<()> = Mutex::const_new(());
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The server the harness started.
#[derive(Clone)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub db: String,
    pub ca_pem: String,
    pub ca_key_pem: String,
    pub admin_user: String,
    pub admin_cert: String,
    pub admin_key: String,
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: the branch-ledger tests need a real PostgreSQL server. Run them \
             through the harness, which starts a throwaway TLS cluster and sets LEDGER_TEST_*:\n\
             \n    scripts/with-postgres.sh cargo test -p branch-ledger --locked\n"
        )
    })
}

fn read(path_var: &str) -> String {
    let path = var(path_var);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path_var}={path}: {e}"))
}

/// A unique suffix for names that live cluster-wide (databases, roles).
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}x{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

impl Server {
    /// The harness's server; panics with instructions when the tests were not started through
    /// `scripts/with-postgres.sh` (never a silent skip).
    pub fn from_env() -> Self {
        Self {
            host: var("LEDGER_TEST_HOST"),
            port: var("LEDGER_TEST_PORT").parse().expect("LEDGER_TEST_PORT"),
            db: var("LEDGER_TEST_DB"),
            ca_pem: read("LEDGER_TEST_CA"),
            ca_key_pem: read("LEDGER_TEST_CA_KEY"),
            admin_user: var("LEDGER_TEST_ADMIN_USER"),
            admin_cert: read("LEDGER_TEST_ADMIN_CERT"),
            admin_key: read("LEDGER_TEST_ADMIN_KEY"),
        }
    }

    pub fn options(&self, db: &str, user: &str, identity: ClientIdentity) -> ConnectOptions {
        ConnectOptions::new(&self.host, self.port, db, user, &self.ca_pem, identity)
    }

    pub fn admin_identity(&self) -> ClientIdentity {
        ClientIdentity::new(&self.admin_cert, Zeroizing::new(self.admin_key.clone()))
    }

    pub fn admin_options(&self, db: &str) -> ConnectOptions {
        self.options(db, &self.admin_user, self.admin_identity())
    }

    /// A client certificate for `cn` issued by the server's CA.
    pub fn mint(&self, cn: &str) -> ClientIdentity {
        let ca_key = KeyPair::from_pem(&self.ca_key_pem).expect("CA key");
        let issuer = Issuer::from_ca_cert_pem(&self.ca_pem, ca_key).expect("CA cert");
        mint_with(&issuer, cn)
    }

    /// An empty database (owned by the admin), not migrated.
    pub async fn empty_db(&self) -> String {
        let name = unique("ledger_t");
        let _guard = CATALOG.lock().await;
        let admin = connect_sql(&self.admin_options(&self.db)).await.unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        name
    }

    /// A fresh, migrated ledger database and the admin's connection to it.
    pub async fn ledger(&self) -> TestLedger {
        let db = self.empty_db().await;
        let mut admin = LedgerAdmin::connect(&self.admin_options(&db))
            .await
            .unwrap();
        {
            let _guard = CATALOG.lock().await;
            admin.migrate().await.unwrap();
        }
        TestLedger {
            server: self.clone(),
            db,
            admin,
        }
    }
}

/// Runs `f` while no other test of this binary changes cluster-wide catalogs (roles).
pub async fn serialize_catalog<F: std::future::Future>(f: F) -> F::Output {
    let _guard = CATALOG.lock().await;
    f.await
}

/// A certificate for `cn` signed by `issuer` (client authentication).
pub fn mint_with(issuer: &Issuer<'_, KeyPair>, cn: &str) -> ClientIdentity {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, issuer).unwrap();
    ClientIdentity::new(cert.pem(), Zeroizing::new(key.serialize_pem()))
}

/// A CA the server does not trust.
pub fn rogue_issuer() -> Issuer<'static, KeyPair> {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "Rogue CA");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
    Issuer::new(params, key)
}

/// A migrated ledger of one test.
pub struct TestLedger {
    pub server: Server,
    pub db: String,
    pub admin: LedgerAdmin,
}

/// A registered desk with its certificate.
pub struct TestDesk {
    pub desk_id: DeskId,
    pub branch_id: BranchId,
    pub options: ConnectOptions,
}

impl TestDesk {
    pub async fn connect(&self) -> Ledger {
        Ledger::connect(&self.options).await.unwrap()
    }

    /// A raw SQL session as this desk (to try what the API never does).
    pub async fn sql(&self) -> tokio_postgres::Client {
        connect_sql(&self.options).await.unwrap()
    }

    pub fn role(&self) -> String {
        self.desk_id.role_name()
    }
}

impl TestLedger {
    /// Registers a desk (unique id built from `name`) in `branch` and mints its certificate.
    pub async fn desk(&mut self, name: &str, branch: &str) -> TestDesk {
        self.desk_with(name, branch, None, DeskKind::Teller).await
    }

    pub async fn desk_with(
        &mut self,
        name: &str,
        branch: &str,
        region: Option<&str>,
        kind: DeskKind,
    ) -> TestDesk {
        let desk_id = DeskId::parse(&unique(&format!("{name}-"))).unwrap();
        let branch_id = BranchId::parse(branch).unwrap();
        {
            let _guard = CATALOG.lock().await;
            self.admin
                .add_desk(&NewDesk {
                    desk_id: desk_id.clone(),
                    branch_id: branch_id.clone(),
                    region_id: region.map(|r| RegionId::parse(r).unwrap()),
                    kind,
                })
                .await
                .unwrap();
        }
        let role = desk_id.role_name();
        let options = self
            .server
            .options(&self.db, &role, self.server.mint(&role));
        TestDesk {
            desk_id,
            branch_id,
            options,
        }
    }

    /// A raw SQL session as the admin.
    pub async fn admin_sql(&self) -> tokio_postgres::Client {
        connect_sql(&self.server.admin_options(&self.db))
            .await
            .unwrap()
    }
}

/// A card id for a test (D1's pattern).
pub fn cid(s: &str) -> CardId {
    CardId::parse(s).unwrap()
}

/// An operation id for a test (D1's pattern).
pub fn opid(s: &str) -> OperationId {
    OperationId::parse(s).unwrap()
}

/// An order as the journal would record it.
pub fn order(card_id: &str) -> NewOrder {
    NewOrder {
        operator: "jane".into(),
        consumer_id: ConsumerId::parse(format!("C-{card_id}")).unwrap(),
        product_id: "VISA_CLASSIC".into(),
        station_id: "STATION-1".into(),
        issuance_type: "CREATION".into(),
        pan_last4: PanLast4::new("5556").unwrap(),
        card_id: cid(card_id),
        issuer_request_id: IssuerRequestId::parse(format!("req-{card_id}")).unwrap(),
        correlation_id: CorrelationId::parse(format!("corr-{card_id}")).unwrap(),
    }
}

/// `minutes` minutes after a fixed instant (2026-11-25T08:00:00Z).
pub fn at(minutes: i64) -> Timestamp {
    Timestamp::from_millis(1_795_593_600_000 + minutes * 60_000)
}

/// The life of a successful order as events `first..first+4`.
pub fn full_order(first: i64, card: &str, minute: i64) -> Vec<Event> {
    let card_id = &cid(card);
    vec![
        Event::intent(first, at(minute), &order(card)),
        Event::transition(first + 1, at(minute), card_id, "jane", OrderState::Sending),
        Event::transition(first + 2, at(minute), card_id, "jane", OrderState::Accepted)
            .with(|t| t.operation_id = Some(opid(&format!("op-{card}")))),
        Event::transition(first + 3, at(minute + 1), card_id, "jane", OrderState::Done)
            .with(|t| t.d1_status = Some("CARD_PROD_DONE".into())),
    ]
}
