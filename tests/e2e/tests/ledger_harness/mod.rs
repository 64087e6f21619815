//! The throwaway PostgreSQL of `scripts/with-postgres.sh` for journeys on a real branch
//! ledger: a migrated database per test, desks registered with certificates minted by the test
//! CA, their credentials in each desk's keychain scope and their machine configuration.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::Command;

use branch_ledger::{
    BranchId, ClientIdentity, ConnectOptions, DeskId, DeskKind, LedgerAdmin, NewDesk, connect_sql,
};
use desk_e2e::Desk;
use desk_e2e::external::ExternalD1;
use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair};
use zeroize::Zeroizing;

pub struct Pg {
    pub host: String,
    pub port: u16,
    pub ca_path: PathBuf,
    pub ca_pem: String,
    pub ca_key_pem: String,
    pub admin_user: String,
    pub admin: ClientIdentity,
    pub bin: PathBuf,
    pub data: PathBuf,
    pub log: PathBuf,
    pub run_as: String,
    pub socket: PathBuf,
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the e2e tests through scripts/e2e.sh (it starts PostgreSQL)")
    })
}

impl Pg {
    pub fn from_env() -> Self {
        let read = |name: &str| std::fs::read_to_string(var(name)).unwrap();
        Self {
            host: var("LEDGER_TEST_HOST"),
            port: var("LEDGER_TEST_PORT").parse().unwrap(),
            ca_path: PathBuf::from(var("LEDGER_TEST_CA")),
            ca_pem: read("LEDGER_TEST_CA"),
            ca_key_pem: read("LEDGER_TEST_CA_KEY"),
            admin_user: var("LEDGER_TEST_ADMIN_USER"),
            admin: ClientIdentity::new(
                read("LEDGER_TEST_ADMIN_CERT"),
                Zeroizing::new(read("LEDGER_TEST_ADMIN_KEY")),
            ),
            bin: PathBuf::from(var("LEDGER_TEST_PG_BIN")),
            data: PathBuf::from(var("LEDGER_TEST_PG_DATA")),
            log: PathBuf::from(var("LEDGER_TEST_PG_LOG")),
            run_as: var("LEDGER_TEST_PG_RUN_AS"),
            socket: PathBuf::from(var("LEDGER_TEST_SOCKET_DIR")),
        }
    }

    pub fn options(&self, db: &str, user: &str, identity: ClientIdentity) -> ConnectOptions {
        ConnectOptions::new(
            &self.host,
            self.port,
            db,
            user,
            self.ca_pem.clone(),
            identity,
        )
    }

    pub fn admin_options(&self, db: &str) -> ConnectOptions {
        self.options(db, &self.admin_user, self.admin.clone())
    }

    fn mint(&self, cn: &str) -> (String, String) {
        let ca_key = KeyPair::from_pem(&self.ca_key_pem).unwrap();
        let issuer = Issuer::from_ca_cert_pem(&self.ca_pem, ca_key).unwrap();
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, &issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// Runs a server program as the cluster's OS user.
    pub fn run(&self, program: &str, args: &[&str]) -> std::process::Output {
        let binary = self.bin.join(program);
        let mut command = if self.run_as == whoami() {
            Command::new(&binary)
        } else {
            let mut c = Command::new("runuser");
            c.args(["-u", &self.run_as, "--"]).arg(&binary);
            c
        };
        command.args(args).output().unwrap()
    }

    /// Stops the server; it starts again when the returned guard is dropped (also when the
    /// test fails), unless [`ServerAway::start`] did it first.
    pub fn stop(&self) -> ServerAway<'_> {
        let out = self.run(
            "pg_ctl",
            &[
                "-D",
                self.data.to_str().unwrap(),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
        );
        assert!(out.status.success(), "pg_ctl stop: {out:?}");
        ServerAway {
            pg: self,
            away: true,
        }
    }

    pub fn start(&self) -> std::process::Output {
        self.run(
            "pg_ctl",
            &[
                "-D",
                self.data.to_str().unwrap(),
                "-l",
                self.log.to_str().unwrap(),
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
    }

    /// `pg_dump` of a database, as the superuser over the socket.
    pub fn dump(&self, db: &str) -> Vec<u8> {
        let port = self.port.to_string();
        let out = self.run(
            "pg_dump",
            &[
                "-h",
                self.socket.to_str().unwrap(),
                "-p",
                &port,
                "-U",
                "postgres",
                "-d",
                db,
            ],
        );
        assert!(out.status.success(), "pg_dump: {out:?}");
        out.stdout
    }
}

/// The server while a test has it stopped.
pub struct ServerAway<'a> {
    pg: &'a Pg,
    away: bool,
}

impl ServerAway<'_> {
    pub fn start(mut self) {
        self.away = false;
        let out = self.pg.start();
        assert!(out.status.success(), "pg_ctl start: {out:?}");
    }
}

impl Drop for ServerAway<'_> {
    fn drop(&mut self) {
        if self.away {
            // A failed test must not leave the next one without its server.
            let _ = self.pg.start();
        }
    }
}

fn whoami() -> String {
    String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
        .unwrap()
        .trim()
        .to_owned()
}

/// A migrated ledger database of this test.
pub async fn ledger_db(pg: &Pg, prefix: &str) -> (String, LedgerAdmin) {
    let name = format!(
        "{prefix}_{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            % 1_000_000_000
    );
    let admin = connect_sql(&pg.admin_options(&var("LEDGER_TEST_DB")))
        .await
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let mut ledger = LedgerAdmin::connect(&pg.admin_options(&name))
        .await
        .unwrap();
    ledger.migrate().await.unwrap();
    (name, ledger)
}

/// A desk of the ledger: registered, its certificate minted.
pub struct TestDesk {
    pub id: String,
    pub branch: String,
    pub scope: String,
    cert: String,
    key: String,
}

pub async fn register(pg: &Pg, admin: &mut LedgerAdmin, id: &str, branch: &str) -> TestDesk {
    let desk_id = DeskId::parse(id).unwrap();
    admin
        .add_desk(&NewDesk {
            desk_id: desk_id.clone(),
            branch_id: BranchId::parse(branch).unwrap(),
            region_id: None,
            kind: DeskKind::Teller,
        })
        .await
        .unwrap();
    let (cert, key) = pg.mint(&desk_id.role_name());
    TestDesk {
        id: id.to_owned(),
        branch: branch.to_owned(),
        scope: id.to_lowercase(),
        cert,
        key,
    }
}

impl TestDesk {
    pub fn options(&self, pg: &Pg, db: &str) -> ConnectOptions {
        pg.options(
            db,
            &DeskId::parse(&self.id).unwrap().role_name(),
            ClientIdentity::new(self.cert.clone(), Zeroizing::new(self.key.clone())),
        )
    }

    /// Writes the desk's machine configuration (`extra`: more sections) and puts its
    /// credentials in its keychain scope.
    pub fn install(&self, pg: &Pg, db: &str, d1: &ExternalD1, dir: &Path, extra: &str) -> PathBuf {
        d1.import_signing_key(Some(&self.scope)).unwrap();
        ExternalD1::keychain(Some(&self.scope))
            .unwrap()
            .import_ledger_identity(self.cert.as_bytes(), self.key.as_bytes())
            .unwrap();
        let config = dir.join(format!("{}.toml", self.scope));
        std::fs::write(
            &config,
            d1.desk_config(&format!(
                r#"[retry]
budget_seconds = 2

[supervisors]
groups = ["supervisors"]

[ledger]
host = "{host}"
port = {port}
dbname = "{db}"
ca_bundle = "{ca}"
desk_id = "{id}"
branch_id = "{branch}"

{extra}
"#,
                host = pg.host,
                port = pg.port,
                ca = pg.ca_path.display(),
                id = self.id,
                branch = self.branch,
            )),
        )
        .unwrap();
        config
    }

    /// Starts the real app as this desk, for OS user `user` (`name:group,group`).
    pub async fn start(&self, data_dir: tempfile::TempDir, config: &Path, user: &str) -> Desk {
        let config = config.to_str().unwrap().to_owned();
        Desk::start_with(
            data_dir,
            &[
                ("ISSUANCE_DESK_MACHINE_CONFIG", config.as_str()),
                ("ISSUANCE_DESK_KEYCHAIN_SCOPE", self.scope.as_str()),
                ("ISSUANCE_DESK_OS_USER", user),
            ],
        )
        .await
        .unwrap()
    }
}
