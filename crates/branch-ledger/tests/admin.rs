//! The DBA's operations on a real server: migrate, add-desk, status — and a dump of the whole
//! database holds no card number.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use branch_ledger::{
    BranchId, DeskId, DeskKind, Event, LedgerAdmin, LedgerError, NewDesk, RegionId,
    latest_schema_version,
};
use common::{CANARY_PAN, Server, at, cid, full_order, order, unique};
use order_journal::OrderState;

fn new_desk(desk: &str, branch: &str, region: Option<&str>, kind: DeskKind) -> NewDesk {
    NewDesk {
        desk_id: DeskId::parse(desk).unwrap(),
        branch_id: BranchId::parse(branch).unwrap(),
        region_id: region.map(|r| RegionId::parse(r).unwrap()),
        kind,
    }
}

#[tokio::test]
async fn migrate_creates_the_schema_once_and_reports_the_version() {
    let server = Server::from_env();
    let db = server.empty_db().await;
    let mut admin = LedgerAdmin::connect(&server.admin_options(&db))
        .await
        .unwrap();
    let before = admin.status().await.unwrap();
    assert_eq!(before.schema_version, None);
    assert!(before.tls);
    assert!(before.server_version.starts_with(char::is_numeric));
    assert!(before.sync.desks.is_empty());

    let report = common_migrate(&mut admin).await;
    assert_eq!(
        report.applied,
        [
            "V1__schema",
            "V2__append",
            "V3__security",
            "V4__not_sent_and_no_record",
            "V5__counter"
        ]
    );
    assert_eq!(report.version, latest_schema_version());
    assert_eq!(latest_schema_version(), 5);
    let again = common_migrate(&mut admin).await;
    assert!(again.applied.is_empty());
    assert_eq!(again.version, 5);

    let status = admin.status().await.unwrap();
    assert_eq!(status.schema_version, Some(5));
    assert_eq!(status.expected_schema_version, 5);
    // This month's and next month's partitions exist.
    assert!(
        status.history_partitions.len() >= 2,
        "{:?}",
        status.history_partitions
    );
    assert!(
        status
            .history_partitions
            .iter()
            .all(|p| p.starts_with("order_events_20"))
    );

    // A database changed by a newer build is refused.
    let sql = branch_ledger::connect_sql(&server.admin_options(&db))
        .await
        .unwrap();
    sql.batch_execute(
        "INSERT INTO public.ledger_schema_history VALUES (99, 'future', '2030-01-01T00:00:00Z', '1')",
    )
    .await
    .unwrap();
    let e = common_try_migrate(&mut admin).await.unwrap_err();
    assert!(matches!(e, LedgerError::Schema(_)), "{e}");
    assert!(e.to_string().contains("newer"), "{e}");
}

async fn common_migrate(admin: &mut LedgerAdmin) -> branch_ledger::MigrationReport {
    common_try_migrate(admin).await.unwrap()
}

async fn common_try_migrate(
    admin: &mut LedgerAdmin,
) -> Result<branch_ledger::MigrationReport, LedgerError> {
    // Role creation is cluster-wide: the helpers serialize it with the other tests' migrations.
    common::serialize_catalog(admin.migrate()).await
}

#[tokio::test]
async fn add_desk_registers_once_and_refuses_contradictions() {
    let server = Server::from_env();
    let mut ledger = server.ledger().await;
    let id = unique("desk-");
    let other = unique("desk-");
    let teller = new_desk(&id, "B1", Some("NORTH"), DeskKind::Teller);
    let first = common::serialize_catalog(ledger.admin.add_desk(&teller))
        .await
        .unwrap();
    assert!(first.created);
    assert_eq!(first.role_name, format!("desk_{id}"));
    assert_eq!(
        first.region_id.as_ref().map(RegionId::as_str),
        Some("NORTH")
    );
    // Again: nothing changes.
    let again = common::serialize_catalog(ledger.admin.add_desk(&teller))
        .await
        .unwrap();
    assert!(!again.created);

    for (bad, what) in [
        (
            new_desk(&id, "B2", None, DeskKind::Teller),
            "already registered in branch B1",
        ),
        (
            new_desk(&id, "B1", None, DeskKind::Regional),
            "already registered",
        ),
        (
            new_desk(&other, "B1", Some("SOUTH"), DeskKind::Teller),
            "is in region NORTH",
        ),
        (new_desk(&other, "B5", None, DeskKind::Regional), "has none"),
    ] {
        let e = common::serialize_catalog(ledger.admin.add_desk(&bad))
            .await
            .unwrap_err();
        assert!(matches!(e, LedgerError::Settings(_)), "{e}");
        assert!(e.to_string().contains(what), "{e}");
    }
    // A failed registration left nothing behind (one transaction).
    let sql = ledger.admin_sql().await;
    let branches: i64 = sql
        .query_one(
            "SELECT count(*) FROM ledger.branches WHERE branch_id = 'B5'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(branches, 0);

    // A branch without a region gets one; a regional desk then fits.
    let plain = new_desk(&unique("desk-"), "B7", None, DeskKind::Teller);
    common::serialize_catalog(ledger.admin.add_desk(&plain))
        .await
        .unwrap();
    let regional = new_desk(&other, "B7", Some("WEST"), DeskKind::Regional);
    let reg = common::serialize_catalog(ledger.admin.add_desk(&regional))
        .await
        .unwrap();
    assert_eq!(reg.region_id.as_ref().map(RegionId::as_str), Some("WEST"));

    // The desk's role can log in with its certificate only, and has no powers.
    let row = sql
        .query_one(
            "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls \
             FROM pg_roles WHERE rolname = $1",
            &[&first.role_name],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0));
    for i in 1..5 {
        assert!(!row.get::<_, bool>(i));
    }
}

#[tokio::test]
async fn add_desk_refuses_an_existing_role_with_powers() {
    let server = Server::from_env();
    let mut ledger = server.ledger().await;
    let id = unique("boss-");
    let sql = ledger.admin_sql().await;
    common::serialize_catalog(sql.batch_execute(&format!("CREATE ROLE \"desk_{id}\" CREATEDB")))
        .await
        .unwrap();
    let e = common::serialize_catalog(ledger.admin.add_desk(&new_desk(
        &id,
        "B1",
        None,
        DeskKind::Teller,
    )))
    .await
    .unwrap_err();
    assert!(
        e.to_string().contains("privileges a desk must not have"),
        "{e}"
    );
}

#[tokio::test]
async fn status_shows_each_desks_sync_and_the_dump_holds_no_card_number() {
    let server = Server::from_env();
    let mut ledger = server.ledger().await;
    let a = ledger.desk("a", "B1").await;
    let b = ledger.desk("b", "B2").await;
    let api = a.connect().await;
    api.append(&full_order(1, "card-1", 0)).await.unwrap();
    // The canary goes through every free-text field a desk can fill: it is scrubbed.
    api.append(&[
        Event::intent(5, at(5), &order("card-2")),
        Event::transition(6, at(6), &cid("card-2"), "jane", OrderState::Sending)
            .with(|t| t.detail = Some(format!("typed {CANARY_PAN} in the wrong box"))),
        Event::transition(7, at(7), &cid("card-2"), "jane", OrderState::Rejected).with(|t| {
            t.error_code = Some(CANARY_PAN.into());
            t.error_message = Some(format!("pan {CANARY_PAN} refused"));
            t.d1_status = Some(format!("S{CANARY_PAN}"));
        }),
    ])
    .await
    .unwrap();
    // The counter workflows' free text too: an approval's reason and comment, an exception's
    // comment and resolution.
    let approver = ledger.desk("sup", "B1").await.connect().await;
    api.request_approval(&branch_ledger::ApprovalRequest {
        card_id: cid("card-4"),
        operator: "jane".into(),
        consumer_id: desk_domain::ConsumerId::parse("C-4").unwrap(),
        product_id: "P".into(),
        station_id: "S".into(),
        issuance_type: "REPLACEMENT".into(),
        pan_last4: order_journal::PanLast4::new("5556").unwrap(),
        reason: format!("old card {CANARY_PAN} stolen"),
        timeout: std::time::Duration::from_secs(60),
    })
    .await
    .unwrap();
    approver
        .decide_approval(
            &cid("card-4"),
            "bob",
            branch_ledger::Decision::Decline,
            Some(&format!("{CANARY_PAN}?")),
        )
        .await
        .unwrap();
    approver
        .take_exception(&cid("card-2"), "bob")
        .await
        .unwrap();
    approver
        .comment_exception(&cid("card-2"), "bob", &format!("he said {CANARY_PAN}"))
        .await
        .unwrap();
    approver
        .resolve_exception(&cid("card-2"), "bob", &format!("ok {CANARY_PAN}"))
        .await
        .unwrap();
    // And an identifier field refuses it before sending.
    let mut bad = order("card-3");
    bad.consumer_id = desk_domain::ConsumerId::parse(CANARY_PAN).unwrap();
    assert!(api.append(&[Event::intent(8, at(8), &bad)]).await.is_err());

    let status = ledger.admin.status().await.unwrap();
    let row = |d: &DeskId| status.sync.desks.iter().find(|s| &s.desk_id == d).unwrap();
    assert_eq!(row(&a.desk_id).last_seq, 7);
    assert!(row(&a.desk_id).last_sync_at.is_some());
    assert_eq!(row(&b.desk_id).last_seq, 0);
    assert!(row(&b.desk_id).last_sync_at.is_none());
    assert!(status.sync.since_last_sync_ms(row(&a.desk_id)).is_some());

    let dump = std::process::Command::new(pg_dump())
        .arg("--no-owner")
        .arg(format!(
            "host={} port={} dbname={} user={} sslmode=verify-full sslrootcert={} sslcert={} sslkey={}",
            server.host,
            server.port,
            ledger.db,
            server.admin_user,
            std::env::var("LEDGER_TEST_CA").unwrap(),
            std::env::var("LEDGER_TEST_ADMIN_CERT").unwrap(),
            std::env::var("LEDGER_TEST_ADMIN_KEY").unwrap(),
        ))
        .output()
        .unwrap();
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let text = String::from_utf8_lossy(&dump.stdout);
    assert!(text.contains("card-2"), "the dump holds the orders");
    assert!(text.contains("card-4"), "the dump holds the approvals");
    assert!(text.contains("[number removed]"));
    assert!(
        !text.contains(CANARY_PAN),
        "a card number reached the ledger"
    );
}

/// `pg_dump` of the server's version (Debian keeps it under /usr/lib/postgresql/<v>/bin).
fn pg_dump() -> std::path::PathBuf {
    let mut candidates: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin/pg_dump"))
                .collect()
        })
        .unwrap_or_default();
    candidates.sort();
    candidates
        .into_iter()
        .rev()
        .find(|p| p.exists())
        .unwrap_or_else(|| "pg_dump".into())
}
