//! `issuance-desk-admin ledger …` on the built binary against the real PostgreSQL of
//! `scripts/with-postgres.sh` (built only with `--features ledger-tests`; run by
//! `scripts/test-ledger.sh`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use branch_ledger::{ClientIdentity, ConnectOptions, connect_sql};
use zeroize::Zeroizing;

const BIN: &str = env!("CARGO_BIN_EXE_issuance-desk-admin");
static COUNTER: AtomicU32 = AtomicU32::new(0);
/// Role creation is cluster-wide: one command that creates roles at a time.
static CATALOG: std::sync::Mutex<()> = std::sync::Mutex::new(());

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

struct Env {
    dir: tempfile::TempDir,
    db: String,
    vars: Vec<(String, String)>,
}

impl Env {
    /// A fresh empty database on the harness's server and a private environment.
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = unique("admin_t");
        let options = ConnectOptions::new(
            var("LEDGER_TEST_HOST"),
            var("LEDGER_TEST_PORT").parse().unwrap(),
            var("LEDGER_TEST_DB"),
            var("LEDGER_TEST_ADMIN_USER"),
            std::fs::read_to_string(var("LEDGER_TEST_CA")).unwrap(),
            ClientIdentity::new(
                std::fs::read_to_string(var("LEDGER_TEST_ADMIN_CERT")).unwrap(),
                Zeroizing::new(std::fs::read_to_string(var("LEDGER_TEST_ADMIN_KEY")).unwrap()),
            ),
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let sql = connect_sql(&options).await.unwrap();
            sql.batch_execute(&format!("CREATE DATABASE {db}"))
                .await
                .unwrap();
        });
        let vars = vec![
            ("ISSUANCE_DESK_MACHINE_CONFIG".into(), String::new()),
            ("ISSUANCE_DESK_USER_CONFIG".into(), String::new()),
            (
                "ISSUANCE_DESK_LOG_DIR".into(),
                dir.path().join("logs").display().to_string(),
            ),
        ];
        Env { dir, db, vars }
    }

    /// `--admin-*` and connection options for this database.
    fn admin_args(&self) -> Vec<String> {
        vec![
            "--admin-cert".into(),
            var("LEDGER_TEST_ADMIN_CERT"),
            "--admin-key".into(),
            var("LEDGER_TEST_ADMIN_KEY"),
            "--admin-user".into(),
            var("LEDGER_TEST_ADMIN_USER"),
            "--host".into(),
            var("LEDGER_TEST_HOST"),
            "--port".into(),
            var("LEDGER_TEST_PORT"),
            "--dbname".into(),
            self.db.clone(),
            "--ca-bundle".into(),
            var("LEDGER_TEST_CA"),
        ]
    }

    fn run(&self, args: &[&str], extra: &[String]) -> Output {
        let mut cmd = Command::new(BIN);
        for (k, _) in std::env::vars() {
            if k.starts_with("ISSUANCE_DESK") || k == "RUST_LOG" {
                cmd.env_remove(k);
            }
        }
        cmd.args(args).args(extra).stdin(Stdio::null());
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        let _guard = CATALOG.lock().unwrap_or_else(|p| p.into_inner());
        cmd.output().unwrap()
    }

    fn logs(&self) -> String {
        let mut out = String::new();
        if let Ok(dir) = std::fs::read_dir(self.dir.path().join("logs")) {
            for entry in dir {
                out.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
            }
        }
        out
    }
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

#[test]
fn migrate_add_desk_and_status_as_the_dba() {
    let env = Env::new();
    let admin = env.admin_args();

    // Before migrating, status says what to do (exit 1).
    let o = env.run(&["ledger", "status"], &admin);
    let (out, err) = text(&o);
    assert_eq!(code(&o), 1, "{out}{err}");
    assert!(out.contains("schema      version none"), "{out}");
    assert!(err.contains("ledger migrate"), "{err}");

    let o = env.run(&["ledger", "migrate"], &admin);
    let (out, err) = text(&o);
    assert_eq!(code(&o), 0, "{out}{err}");
    assert!(
        out.contains(
            "Applied V1__schema, V2__append, V3__security, V4__not_sent_and_no_record, V5__counter"
        ),
        "{out}"
    );
    let o = env.run(&["ledger", "migrate"], &admin);
    assert!(text(&o).0.contains("is up to date (schema version 5)"));

    let desk = unique("B42-D");
    let o = env.run(
        &[
            "ledger", "add-desk", &desk, "--branch", "B42", "--region", "NORTH",
        ],
        &admin,
    );
    let (out, err) = text(&o);
    assert_eq!(code(&o), 0, "{out}{err}");
    assert!(
        out.contains(&format!(
            "Registered teller desk {desk} in branch B42 (region NORTH)"
        )),
        "{out}"
    );
    assert!(out.contains(&format!("CN=desk_{desk}")), "{out}");
    let o = env.run(&["ledger", "add-desk", &desk, "--branch", "B42"], &admin);
    assert!(text(&o).0.contains("Already registered:"), "{:?}", text(&o));

    let regional = unique("REG-");
    let o = env.run(
        &[
            "ledger",
            "add-desk",
            &regional,
            "--branch",
            "B43",
            "--regional",
        ],
        &admin,
    );
    let (out, err) = text(&o);
    assert_eq!(code(&o), 1, "{out}{err}");
    assert!(err.contains("has none"), "{err}");

    let o = env.run(&["ledger", "status"], &admin);
    let (out, err) = text(&o);
    assert_eq!(code(&o), 0, "{out}{err}");
    assert!(
        out.contains("schema      version 5 (this build: 5)"),
        "{out}"
    );
    assert!(out.contains("TLS"), "{out}");
    assert!(out.contains(&desk) && out.contains("never"), "{out}");

    let o = env.run(&["ledger", "status", "--json"], &admin);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["schema_version"], 5);
    assert_eq!(json["sync"]["desks"][0]["desk_id"], desk.as_str());
    assert_eq!(json["sync"]["desks"][0]["last_seq"], 0);

    // The DBA's private key is never printed or logged.
    let key = std::fs::read_to_string(var("LEDGER_TEST_ADMIN_KEY")).unwrap();
    let body: String = key.lines().filter(|l| !l.starts_with("-----")).collect();
    let logs = env.logs();
    assert!(logs.contains("ledger"), "the commands are logged");
    for line in key.lines().filter(|l| !l.starts_with("-----")) {
        assert!(
            !logs.contains(line) && !out.contains(line),
            "key material leaked"
        );
    }
    assert!(!body.is_empty());
}

#[test]
fn the_connection_comes_from_the_configuration_when_not_given() {
    let mut env = Env::new();
    let config = env.dir.path().join("machine.toml");
    std::fs::write(
        &config,
        format!(
            "[ledger]\nhost = \"{}\"\nport = {}\ndbname = \"{}\"\nca_bundle = \"{}\"\n\
             desk_id = \"D1\"\nbranch_id = \"B1\"\n",
            var("LEDGER_TEST_HOST"),
            var("LEDGER_TEST_PORT"),
            env.db,
            var("LEDGER_TEST_CA"),
        ),
    )
    .unwrap();
    env.vars.push((
        "ISSUANCE_DESK_MACHINE_CONFIG".into(),
        config.display().to_string(),
    ));
    let creds = vec![
        "--admin-cert".to_string(),
        var("LEDGER_TEST_ADMIN_CERT"),
        "--admin-key".into(),
        var("LEDGER_TEST_ADMIN_KEY"),
        "--admin-user".into(),
        var("LEDGER_TEST_ADMIN_USER"),
    ];
    let o = env.run(&["ledger", "migrate"], &creds);
    let (out, err) = text(&o);
    assert_eq!(code(&o), 0, "{out}{err}");
    assert!(out.contains(&format!("the ledger {}", env.db)), "{out}");
}

#[test]
fn errors_have_their_exit_codes() {
    let env = Env::new();
    let admin = env.admin_args();

    // No ledger configured and no --host: configuration error (3).
    let o = env.run(
        &[
            "ledger",
            "status",
            "--admin-cert",
            "/dev/null",
            "--admin-key",
            "/dev/null",
        ],
        &[],
    );
    assert_eq!(code(&o), 3, "{:?}", text(&o));
    assert!(text(&o).1.contains("no ledger is configured"));

    // Usage errors (2): a bad desk id, a missing option.
    let o = env.run(
        &["ledger", "add-desk", "bad desk", "--branch", "B1"],
        &admin,
    );
    assert_eq!(code(&o), 2, "{:?}", text(&o));
    assert!(text(&o).1.contains("DESK must be 1 to 40 characters"));
    let o = env.run(&["ledger", "add-desk", "D1"], &admin);
    assert_eq!(code(&o), 2);

    // A file that cannot be read (1).
    let mut missing = admin.clone();
    let i = missing.iter().position(|a| a == "--admin-key").unwrap();
    missing[i + 1] = "/nonexistent/admin.key".into();
    let o = env.run(&["ledger", "status"], &missing);
    assert_eq!(code(&o), 1);
    assert!(text(&o).1.contains("cannot read the private key"));

    // Unreachable, or the server's certificate not trusted: 6.
    let mut closed = admin.clone();
    let i = closed.iter().position(|a| a == "--port").unwrap();
    closed[i + 1] = "1".into();
    let o = env.run(&["ledger", "status"], &closed);
    assert_eq!(code(&o), 6, "{:?}", text(&o));
    let mut wrong_ca = admin.clone();
    let i = wrong_ca.iter().position(|a| a == "--ca-bundle").unwrap();
    wrong_ca[i + 1] = var("LEDGER_TEST_ADMIN_CERT"); // a certificate, but not the CA
    let o = env.run(&["ledger", "status"], &wrong_ca);
    assert_eq!(code(&o), 6, "{:?}", text(&o));
    assert!(text(&o).1.contains("TLS"), "{:?}", text(&o));
    // A role the certificate is not for: refused by the server (6).
    let mut other_role = admin.clone();
    let i = other_role.iter().position(|a| a == "--admin-user").unwrap();
    other_role[i + 1] = "postgres".into();
    let o = env.run(&["ledger", "status"], &other_role);
    assert_eq!(code(&o), 6, "{:?}", text(&o));
    assert!(
        text(&o).1.contains("refused these credentials"),
        "{:?}",
        text(&o)
    );
}

#[test]
fn a_desk_imports_its_ledger_certificate_and_doctor_connects_with_it() {
    let mut env = Env::new();
    let admin = env.admin_args();
    assert_eq!(code(&env.run(&["ledger", "migrate"], &admin)), 0);
    let desk = unique("B7-D");
    let o = env.run(&["ledger", "add-desk", &desk, "--branch", "B7"], &admin);
    assert_eq!(code(&o), 0, "{:?}", text(&o));

    // The desk's certificate (CN = its role) and key, minted by the server's CA.
    let ca_key =
        rcgen::KeyPair::from_pem(&std::fs::read_to_string(var("LEDGER_TEST_CA_KEY")).unwrap())
            .unwrap();
    let issuer = rcgen::Issuer::from_ca_cert_pem(
        &std::fs::read_to_string(var("LEDGER_TEST_CA")).unwrap(),
        ca_key,
    )
    .unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("desk_{desk}"));
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, &issuer).unwrap();
    let cert_path = env.dir.path().join("desk.crt");
    let key_path = env.dir.path().join("desk.key");
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();

    let config = env.dir.path().join("machine.toml");
    std::fs::write(
        &config,
        format!(
            "[ledger]\nhost = \"{}\"\nport = {}\ndbname = \"{}\"\nca_bundle = \"{}\"\n\
             desk_id = \"{desk}\"\nbranch_id = \"B7\"\n",
            var("LEDGER_TEST_HOST"),
            var("LEDGER_TEST_PORT"),
            env.db,
            var("LEDGER_TEST_CA"),
        ),
    )
    .unwrap();
    env.vars.push((
        "ISSUANCE_DESK_MACHINE_CONFIG".into(),
        config.display().to_string(),
    ));
    env.vars.push((
        "ISSUANCE_DESK_KEYCHAIN_SCOPE".into(),
        unique("doctor-").replace('x', "-"),
    ));
    // Without the certificate doctor names what is missing.
    let o = env.run(&["doctor"], &[]);
    let (out, err) = text(&o);
    assert_ne!(code(&o), 0, "{out}{err}");
    assert!(format!("{out}{err}").contains("ledger"), "{out}{err}");

    let o = env.run(
        &[
            "secrets",
            "import",
            "--ledger-cert",
            cert_path.to_str().unwrap(),
            "--ledger-key",
            key_path.to_str().unwrap(),
        ],
        &[],
    );
    let (out, err) = text(&o);
    assert_eq!(code(&o), 0, "{out}{err}");
    assert!(out.contains("Imported the ledger client identity"), "{out}");
    assert!(out.contains(&format!("desk_{desk}")), "{out}");

    let o = env.run(&["doctor"], &[]);
    let (out, err) = text(&o);
    assert_eq!(code(&o), 0, "{out}{err}");
    assert!(
        out.contains(&format!("connected as desk {desk} of branch B7")),
        "{out}"
    );
    let o = env.run(&["secrets", "status"], &[]);
    assert!(
        text(&o).0.contains("ledger certificate subject"),
        "{:?}",
        text(&o)
    );
    let _ = env.run(&["secrets", "remove", "--yes"], &[]);
}
