//! The admin CLI's journeys, run on the built binary: each command's happy path and its error
//! path with the exit code. Keychain tests need an unlocked Secret Service: run under
//! `scripts/with-keyring.sh` (the workspace test command does).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use d1_client::{CardId, ConsumerId, CorrelationId, IssuerRequestId};
use d1_sandbox::testkit::{TestKeys, TestPki};
use d1_sandbox::{Sandbox, SandboxConfig};
use order_journal::{Journal, NewOrder, PanLast4};

const BIN: &str = env!("CARGO_BIN_EXE_issuance-desk-admin");
const CANARY_PAN: &str = "4000056655665556";

/// A test's private environment: no machine or user file, logs in a temp dir, no
/// ISSUANCE_DESK__* variables from the caller.
struct Env {
    dir: tempfile::TempDir,
    vars: Vec<(String, String)>,
}

impl Env {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let vars = vec![
            ("ISSUANCE_DESK_MACHINE_CONFIG".into(), String::new()),
            ("ISSUANCE_DESK_USER_CONFIG".into(), String::new()),
            (
                "ISSUANCE_DESK_LOG_DIR".into(),
                dir.path().join("logs").display().to_string(),
            ),
        ];
        Env { dir, vars }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn set(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        self.vars.push((name.into(), value.into()));
        self
    }

    fn machine_config(&mut self, toml: &str) -> PathBuf {
        let path = self.path("machine.toml");
        std::fs::write(&path, toml).unwrap();
        self.set("ISSUANCE_DESK_MACHINE_CONFIG", path.display().to_string());
        path
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        for (k, _) in std::env::vars() {
            if k.starts_with("ISSUANCE_DESK") || k == "RUST_LOG" {
                cmd.env_remove(k);
            }
        }
        cmd.args(args).stdin(Stdio::null());
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        Run(self.command(args).output().unwrap())
    }

    fn logs(&self) -> String {
        let mut out = String::new();
        if let Ok(dir) = std::fs::read_dir(self.path("logs")) {
            for entry in dir {
                out.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
            }
        }
        out
    }
}

struct Run(Output);

impl Run {
    fn code(&self) -> i32 {
        self.0.status.code().unwrap()
    }
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
    fn all(&self) -> String {
        format!("{}{}", self.stdout(), self.stderr())
    }
    #[track_caller]
    fn expect(&self, code: i32) -> &Self {
        assert_eq!(
            self.code(),
            code,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
}

fn secret_tool_lookup(service: &str, user: &str) -> Option<String> {
    let out = Command::new("secret-tool")
        .args(["lookup", "service", service, "username", user])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
        .filter(|s| !s.is_empty())
}

#[test]
fn help_is_everywhere_and_lists_the_exit_codes() {
    let env = Env::new();
    for args in [
        vec!["--help"],
        vec!["config", "--help"],
        vec!["config", "check", "--help"],
        vec!["secrets", "--help"],
        vec!["secrets", "import", "--help"],
        vec!["secrets", "status", "--help"],
        vec!["secrets", "remove", "--help"],
        vec!["doctor", "--help"],
        vec!["journal", "--help"],
        vec!["journal", "export", "--help"],
    ] {
        let run = env.run(&args);
        run.expect(0);
        assert!(
            run.stdout().contains("Usage: issuance-desk-admin"),
            "{args:?}"
        );
    }
    assert!(
        env.run(&["--help"])
            .stdout()
            .contains("5  D1 is unreachable")
    );
    let version = env.run(&["--version"]);
    version.expect(0);
    assert_eq!(
        version.stdout().trim(),
        format!("issuance-desk-admin {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn usage_errors_exit_2() {
    let env = Env::new();
    env.run(&["frobnicate"]).expect(2);
    env.run(&[]).expect(2);
    env.run(&["secrets", "import"]).expect(2); // nothing to import
    env.run(&["secrets", "import", "--mtls-cert", "c.pem"])
        .expect(2); // cert without key
    env.run(&["journal", "export"]).expect(2); // --since missing
}

#[test]
fn config_check_reports_files_and_problems() {
    let mut env = Env::new();
    let run = env.run(&["config", "check"]);
    run.expect(0);
    assert!(run.stdout().contains("Environment: training"));
    assert!(run.stdout().contains("OK: the configuration is valid."));

    let path = env.machine_config("environment = \"training\"\n[log]\nlevel = \"debug\"\n");
    env.set("ISSUANCE_DESK__UI__IDLE_CLEAR_SECONDS", "60");
    let run = env.run(&["config", "check", "--show"]);
    run.expect(0);
    assert!(
        run.stdout()
            .contains(&format!("{}  (read)", path.display()))
    );
    assert!(
        run.stdout()
            .contains("ISSUANCE_DESK__UI__IDLE_CLEAR_SECONDS")
    );
    let json_start = run.stdout().find("{\n").unwrap();
    let json_end = run.stdout().rfind("\n}").unwrap() + 2;
    let shown: serde_json::Value =
        serde_json::from_str(&run.stdout()[json_start..json_end]).unwrap();
    assert_eq!(shown["log"]["level"], "debug");
    assert_eq!(shown["ui"]["idle_clear_seconds"], 60);

    // A typo names the key and exits 3.
    let mut env = Env::new();
    env.machine_config("environment = \"training\"\n[log]\nlevle = \"debug\"\n");
    let run = env.run(&["config", "check"]);
    run.expect(3);
    assert!(run.all().contains("log.levle"), "{}", run.all());

    // A required file that does not exist is a configuration error too.
    let mut env = Env::new();
    env.set("ISSUANCE_DESK_MACHINE_CONFIG", "/nonexistent/config.toml");
    env.run(&["config", "check"]).expect(3);

    let run = Env::new().run(&["config", "example"]);
    run.expect(0);
    assert!(run.stdout().contains("[[products]]"));
}

#[test]
fn secrets_import_status_and_remove_use_the_real_keychain() {
    let mut env = Env::new();
    env.set("ISSUANCE_DESK__D1__ISSUER_ID", "ADMTEST001");
    let service = "issuance-desk-dev/training/ADMTEST001";
    let keys = TestKeys::generate();
    let pki = TestPki::generate();
    let key_file = env.path("signing.jwk");
    std::fs::write(&key_file, keys.signing_private_jwk.to_string()).unwrap();
    let cert_file = env.path("client.crt");
    std::fs::write(&cert_file, &pki.client_cert_pem).unwrap();
    let client_key_file = env.path("client.key");
    std::fs::write(&client_key_file, pki.client_key_pem.as_str()).unwrap();
    let d = keys.signing_private_jwk["d"].as_str().unwrap().to_string();

    // A file that cannot be read, a file that is not a key: exit 1, nothing stored.
    env.run(&["secrets", "import", "--signing-key", "/nonexistent/key.pem"])
        .expect(1);
    let not_a_key = env.path("not-a-key.pem");
    std::fs::write(&not_a_key, "hello").unwrap();
    env.run(&[
        "secrets",
        "import",
        "--signing-key",
        not_a_key.to_str().unwrap(),
    ])
    .expect(1);
    assert!(secret_tool_lookup(service, "signing-key").is_none());

    let run = env.run(&[
        "secrets",
        "import",
        "--signing-key",
        key_file.to_str().unwrap(),
        "--mtls-cert",
        cert_file.to_str().unwrap(),
        "--mtls-key",
        client_key_file.to_str().unwrap(),
    ]);
    run.expect(0);
    assert!(run.stdout().contains(service));
    assert!(run.stdout().contains("SHA256:"));
    assert!(!run.all().contains(&d), "the key is never echoed");
    let stored = secret_tool_lookup(service, "signing-key").expect("in the real keychain");
    assert!(stored.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(secret_tool_lookup(service, "mtls-cert").is_some());
    assert!(secret_tool_lookup(service, "mtls-key").is_some());

    let run = env.run(&["secrets", "status"]);
    run.expect(0);
    assert!(run.stdout().contains("signing key      present, ES256"));
    assert!(run.stdout().contains("mTLS certificate subject"));
    assert!(run.stdout().contains("mTLS private key present"));
    assert!(!run.all().contains("PRIVATE KEY"));

    // Not a terminal and no --yes: refused, entries kept.
    env.run(&["secrets", "remove"]).expect(2);
    assert!(secret_tool_lookup(service, "signing-key").is_some());
    env.run(&["secrets", "remove", "--yes"]).expect(0);
    assert!(secret_tool_lookup(service, "signing-key").is_none());
    assert!(secret_tool_lookup(service, "mtls-key").is_none());
    let run = env.run(&["secrets", "status"]);
    run.expect(0); // training needs nothing
    assert!(run.stdout().contains("signing key      absent"));
    assert!(!env.logs().contains(&d), "the key never reaches the logs");
}

#[test]
fn no_secret_service_exits_4_with_a_clear_message() {
    let mut env = Env::new();
    env.set(
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/issuance-desk-test/bus",
    );
    for args in [
        vec!["secrets", "status"],
        vec!["secrets", "remove", "--yes"],
    ] {
        let run = env.run(&args);
        run.expect(4);
        assert!(
            run.stderr().contains("Secret Service is not running"),
            "{}",
            run.stderr()
        );
    }
}

#[test]
fn doctor_in_training_really_fetches_a_token() {
    let env = Env::new();
    let run = env.run(&["doctor"]);
    run.expect(0);
    assert!(
        run.stdout()
            .contains("[ok]   TLS + token    training D1 issued an access token")
    );
    let logs = env.logs();
    assert!(
        logs.contains("access token issued"),
        "the sandbox logged the token it issued"
    );
    assert!(logs.contains("\"tokens_fetched\":1"));

    // A card D1 does not know: the check fails (exit 1) with D1's answer in plain words.
    let run = env.run(&["doctor", "--card-id", "card-unknown-1"]);
    run.expect(1);
    assert!(
        run.all().contains("D1 has no order for this card"),
        "{}",
        run.all()
    );
}

fn custom_config(origin_auth: &str, origin_banking: &str, ca: &Path, keys: &TestKeys) -> String {
    format!(
        r#"environment = "custom"
[d1]
issuer_id = "{issuer}"
auth_base_url = "{origin_auth}"
banking_base_url = "{origin_banking}"
extra_ca_bundle = "{ca}"
encryption_key = '{enc}'
signing_kid = "{kid}"
[d1.timeouts]
connect_seconds = 2
read_seconds = 5
[retry]
budget_seconds = 1
base_delay_ms = 100
[[products]]
id = "VISA_DEBIT"
display_name = "Visa Debit"
pan_lengths = [16]
bin_ranges = [{{ from = "400000", to = "499999" }}]
[products.payment_application]
config = "VIS_163"
[[stations]]
id = "ST-1"
name = "Counter 1"
default = true
[services]
issuance = ["CREATION"]
priorities = ["STANDARD"]
"#,
        issuer = keys.issuer_id,
        ca = ca.display(),
        enc = keys.encryption_public_jwk,
        kid = keys.signing_kid,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_against_a_custom_d1_checks_keychain_tls_and_token() {
    let keys = TestKeys::try_generate_for("ADMDOCTOR1").unwrap();
    let pki = TestPki::generate();
    let sandbox = Sandbox::start(
        SandboxConfig::training()
            .with_keys(&keys)
            .with_tls(pki.server_tls(false)),
    )
    .await
    .unwrap();
    let mut env = Env::new();
    let ca = env.path("ca.pem");
    std::fs::write(&ca, &pki.ca_cert_pem).unwrap();
    env.machine_config(&custom_config(
        &sandbox.auth_base_url(),
        &sandbox.banking_base_url(),
        &ca,
        &keys,
    ));
    let run = |env: &Env, args: &[&str]| {
        let mut cmd = env.command(args);
        tokio::task::block_in_place(move || Run(cmd.output().unwrap()))
    };
    run(&env, &["config", "check"]).expect(0);
    // No signing key yet: the check fails and says what to do.
    let r = run(&env, &["doctor"]);
    r.expect(1);
    assert!(r.stdout().contains("secrets import"), "{}", r.stdout());

    let key_file = env.path("signing.jwk");
    std::fs::write(&key_file, keys.signing_private_jwk.to_string()).unwrap();
    run(
        &env,
        &[
            "secrets",
            "import",
            "--signing-key",
            key_file.to_str().unwrap(),
        ],
    )
    .expect(0);
    let before = sandbox.control().tokens_issued();
    let r = run(&env, &["doctor"]);
    r.expect(0);
    assert!(r.stdout().contains("[ok]   keychain"));
    assert_eq!(
        sandbox.control().tokens_issued(),
        before + 1,
        "a real token fetch"
    );

    // A key D1 does not know: refused, exit 5.
    let other = TestKeys::try_generate_for("ADMDOCTOR1").unwrap();
    std::fs::write(&key_file, other.signing_private_jwk.to_string()).unwrap();
    run(
        &env,
        &[
            "secrets",
            "import",
            "--signing-key",
            key_file.to_str().unwrap(),
        ],
    )
    .expect(0);
    let r = run(&env, &["doctor"]);
    r.expect(5);
    assert!(r.all().contains("correlation id"), "{}", r.all());
    // Written for IT, with D1's own reason; not the teller's advice.
    assert!(r.all().contains("d1.signing_kid"), "{}", r.all());
    assert!(r.all().contains("D1's reason: \""), "{}", r.all());
    assert!(!r.all().contains("same order"), "{}", r.all());

    // TLS: the CA is not the sandbox's.
    let other_pki = TestPki::generate();
    std::fs::write(&ca, &other_pki.ca_cert_pem).unwrap();
    let r = run(&env, &["doctor"]);
    r.expect(5);
    assert!(r.all().contains("TLS handshake"), "{}", r.all());
    assert!(r.all().contains("extra_ca_bundle"), "{}", r.all());
    run(&env, &["secrets", "remove", "--yes"]).expect(0);
    sandbox.stop().await;

    // Unreachable: nothing listens any more.
    std::fs::write(&ca, &pki.ca_cert_pem).unwrap();
    run(
        &env,
        &[
            "secrets",
            "import",
            "--signing-key",
            key_file.to_str().unwrap(),
        ],
    )
    .expect(0);
    let r = run(&env, &["doctor"]);
    r.expect(5);
    run(&env, &["secrets", "remove", "--yes"]).expect(0);
}

fn journal_with_canary(path: &Path) {
    let journal = Journal::open(path).unwrap();
    for (i, card) in ["card-a1", "card-a2"].iter().enumerate() {
        journal
            .record_intent(&NewOrder {
                operator: "jane".into(),
                consumer_id: ConsumerId::parse(format!("C-{i}")).unwrap(),
                product_id: "VISA_DEBIT".into(),
                station_id: "ST-1".into(),
                issuance_type: "CREATION".into(),
                pan_last4: PanLast4::new("5556").unwrap(),
                card_id: CardId::parse(*card).unwrap(),
                issuer_request_id: IssuerRequestId::parse(format!("req-{i}")).unwrap(),
                correlation_id: CorrelationId::parse(format!("corr-{i}")).unwrap(),
            })
            .unwrap();
    }
    journal
        .mark_sending(&CardId::parse("card-a1").unwrap())
        .unwrap();
    journal
        .record_rejected(
            &CardId::parse("card-a1").unwrap(),
            "FIELD_INVALID_VALUE",
            &format!("teller note: card {CANARY_PAN} refused"),
        )
        .unwrap();
    journal
        .record_abandoned(
            &CardId::parse("card-a2").unwrap(),
            &format!("pan={CANARY_PAN}"),
        )
        .unwrap();
}

#[test]
fn journal_export_writes_masked_csv_and_never_the_canary() {
    let mut env = Env::new();
    let data = env.path("data");
    // The default journal is the one of the configured D1 (training, without configuration).
    let journal = data.join("journals/training-TRAINING01.sqlite3");
    std::fs::create_dir_all(journal.parent().unwrap()).unwrap();
    journal_with_canary(&journal);
    env.set("ISSUANCE_DESK_DATA_DIR", data.display().to_string());

    // Default path (the app's data directory), to stdout.
    let run = env.run(&["journal", "export", "--since", "2000-01-01"]);
    run.expect(0);
    let csv = run.stdout();
    assert_eq!(csv.lines().count(), 3, "header + 2 orders:\n{csv}");
    assert!(csv.contains("card-a1") && csv.contains("•••• 5556"));
    assert!(run.stderr().contains("Exported 2 order(s)"));

    // Explicit journal and output file; a period with no orders is an empty export.
    let out = env.path("export.csv");
    env.run(&[
        "journal",
        "export",
        "--since",
        "2000-01-01",
        "--until",
        "2999-12-31",
        "--journal",
        journal.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .expect(0);
    let file = std::fs::read_to_string(&out).unwrap();
    assert_eq!(file.lines().count(), 3);
    let run = env.run(&[
        "journal",
        "export",
        "--since",
        "2000-01-01",
        "--until",
        "2000-01-02",
    ]);
    run.expect(0);
    assert_eq!(run.stdout().lines().count(), 1, "header only");

    // Canary PAN in the journal's free text and on the command line.
    let mut seen = format!("{csv}{file}{}", run.all());
    for args in [
        vec!["journal", "export", "--since", CANARY_PAN],
        vec![
            "journal",
            "export",
            "--since",
            "2000-01-01",
            "--until",
            CANARY_PAN,
        ],
        vec!["doctor", "--card-id", CANARY_PAN],
        vec!["frobnicate", CANARY_PAN],
        vec!["journal", "export", "--since", "2000-01-01", CANARY_PAN],
    ] {
        let run = env.run(&args);
        run.expect(2);
        seen.push_str(&run.all());
    }
    seen.push_str(&env.logs());
    assert!(!env.logs().is_empty(), "the CLI wrote log files");
    assert!(!seen.contains(CANARY_PAN), "the canary PAN leaked:\n{seen}");

    // Errors: no journal (1), bad period (2).
    env.run(&[
        "journal",
        "export",
        "--since",
        "2000-01-01",
        "--journal",
        "/nonexistent/j.sqlite3",
    ])
    .expect(1);
    env.run(&[
        "journal",
        "export",
        "--since",
        "2030-01-02",
        "--until",
        "2030-01-01",
    ])
    .expect(2);
    env.run(&["journal", "export", "--since", "yesterday"])
        .expect(2);
}

#[test]
fn journal_export_creates_a_new_private_file_and_refuses_existing_files_and_links() {
    let mut env = Env::new();
    let data = env.path("data");
    let journal = data.join("journals/training-TRAINING01.sqlite3");
    std::fs::create_dir_all(journal.parent().unwrap()).unwrap();
    journal_with_canary(&journal);
    env.set("ISSUANCE_DESK_DATA_DIR", data.display().to_string());
    let export = |out: &Path| {
        env.run(&[
            "journal",
            "export",
            "--since",
            "2000-01-01",
            "--out",
            out.to_str().unwrap(),
        ])
    };

    let out = env.path("new.csv");
    export(&out).expect(0);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the export is readable by its owner only");
    }

    // An existing file is refused and left as it was.
    let existing = env.path("existing.csv");
    std::fs::write(&existing, "keep me").unwrap();
    let run = export(&existing);
    run.expect(1);
    assert!(run.stderr().contains("already exists"), "{}", run.stderr());
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep me");

    // A symbolic link is refused, whether it points to a file or nowhere.
    #[cfg(unix)]
    {
        let target = env.path("victim.txt");
        std::fs::write(&target, "victim").unwrap();
        let link = env.path("link.csv");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let run = export(&link);
        run.expect(1);
        assert!(run.stderr().contains("symbolic link"), "{}", run.stderr());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "victim");
        let dangling = env.path("dangling.csv");
        std::os::unix::fs::symlink(env.path("not-yet.csv"), &dangling).unwrap();
        export(&dangling).expect(1);
        assert!(
            !env.path("not-yet.csv").exists(),
            "nothing created through the link"
        );
    }
}
