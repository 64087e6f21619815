//! A desk's credentials can append through the ledger's function and read their branch — nothing
//! else. Each refusal is tried for real on the server (SQL sent directly, not through the API).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use branch_ledger::{DeskKind, Event, Ledger, LedgerError};
use common::{CANARY_PAN, Server, at, cid, full_order, mint_with, rogue_issuer};
use order_journal::OrderState;

fn sqlstate(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map(|d| d.code().code().to_owned())
        .unwrap_or_else(|| format!("not a server error: {e}"))
}

#[tokio::test]
async fn a_desk_cannot_update_delete_truncate_or_insert_anything() {
    let mut ledger = Server::from_env().ledger().await;
    let desk = ledger.desk("teller", "B1").await;
    desk.connect()
        .await
        .append(&full_order(1, "card-1", 0))
        .await
        .unwrap();
    let sql = desk.sql().await;
    for statement in [
        "UPDATE ledger.order_events SET detail = 'rewritten'",
        "UPDATE ledger.orders SET state = 'done'",
        "DELETE FROM ledger.order_events",
        "DELETE FROM ledger.orders",
        "TRUNCATE ledger.order_events",
        "TRUNCATE ledger.orders",
        "TRUNCATE ledger.desk_sync",
        "UPDATE ledger.desk_sync SET last_seq = 0",
        "INSERT INTO ledger.order_events (branch_id, desk_id, seq, card_id, kind, at, state, \
         operator) VALUES ('B1', 'x', 99, 'card-9', 'transition', now(), 'done', 'eve')",
        "INSERT INTO ledger.orders (branch_id, card_id) VALUES ('B1', 'card-9')",
        "INSERT INTO ledger.desks (branch_id, desk_id, role_name, kind) VALUES ('B1', 'x', 'x', 'teller')",
        "UPDATE ledger.desks SET kind = 'regional'",
        "INSERT INTO ledger.branches (branch_id) VALUES ('B9')",
        "UPDATE ledger.branches SET region_id = 'R9'",
        "DROP TABLE ledger.order_events",
        "ALTER TABLE ledger.order_events DISABLE TRIGGER history_is_append_only",
        "CREATE TABLE ledger.mine (x int)",
        "CREATE TEMPORARY TABLE shadow (x int)",
        "SELECT ledger.ensure_history_partition(now() + interval '5 years')",
        "SELECT * FROM public.ledger_schema_history",
    ] {
        let e = sql.batch_execute(statement).await.unwrap_err();
        assert_eq!(sqlstate(&e), "42501", "{statement}: {e}");
    }
    // Nothing changed.
    let events: i64 = sql
        .query_one("SELECT count(*) FROM ledger.order_events", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(events, 4);
    let state: String = sql
        .query_one("SELECT state FROM ledger.orders", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(state, "done");
}

#[tokio::test]
async fn a_desk_cannot_take_another_desks_identity() {
    let mut ledger = Server::from_env().ledger().await;
    let a = ledger.desk("a", "B1").await;
    let b = ledger.desk("b", "B1").await;

    // SET ROLE: desk roles are not members of each other.
    let sql = a.sql().await;
    let e = sql
        .batch_execute(&format!("SET ROLE \"{}\"", b.role()))
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&e), "42501", "{e}");

    // Desk a's certificate presented for desk b's role: the server refuses the login.
    let mut stolen = b.options.clone();
    stolen.identity = a.options.identity.clone();
    match Ledger::connect(&stolen).await {
        Err(LedgerError::Unauthorized(message)) => {
            assert!(message.contains("certificate"), "{message}")
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }

    // A desk id in the event data is ignored: the event is desk a's.
    sql.query_one(
        "SELECT ledger.append_events($1::jsonb)",
        &[&serde_json::json!([{
            "seq": 1, "at": "2026-11-25T08:00:00Z", "card_id": "card-1", "kind": "intent",
            "state": "intent", "operator": "jane", "consumer_id": "C-1", "product_id": "P",
            "station_id": "S", "issuance_type": "CREATION", "pan_last4": "5556",
            "issuer_request_id": "r1", "correlation_id": "c1",
            "desk_id": b.desk_id.as_str(), "branch_id": "B2"
        }])],
    )
    .await
    .unwrap();
    let admin = ledger.admin_sql().await;
    let row = admin
        .query_one(
            "SELECT branch_id, desk_id FROM ledger.order_events WHERE card_id = 'card-1'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "B1");
    assert_eq!(row.get::<_, String>(1), a.desk_id.as_str());
    let b_seq = b.connect().await.last_seq().await.unwrap();
    assert_eq!(b_seq, 0, "desk b's stream is untouched");

    // A desk can only announce events of its own stream that the ledger holds.
    for (from, to) in [(1, 2), (0, 1), (2, 1)] {
        let e = sql
            .execute(
                "SELECT ledger.announce($1, $2)",
                &[&(from as i64), &(to as i64)],
            )
            .await
            .unwrap_err();
        assert_eq!(sqlstate(&e), "LD002", "{from}..{to}: {e}");
    }
    sql.execute("SELECT ledger.announce(1, 1)", &[])
        .await
        .unwrap();
    let e = ledger
        .admin_sql()
        .await
        .execute("SELECT ledger.announce(1, 1)", &[])
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&e), "LD001", "{e}");
}

#[tokio::test]
async fn a_desk_cannot_change_orders_of_another_branch() {
    let mut ledger = Server::from_env().ledger().await;
    let here = ledger.desk("here", "B1").await;
    let there = ledger.desk("there", "B2").await;
    there
        .connect()
        .await
        .append(&full_order(1, "card-b2", 0)[..3])
        .await
        .unwrap();
    let e = here
        .connect()
        .await
        .append(&[Event::transition(
            1,
            at(5),
            &cid("card-b2"),
            "eve",
            OrderState::Abandoned,
        )])
        .await
        .unwrap_err();
    assert!(matches!(e, LedgerError::UnknownOrder(_)), "{e}");
    let detail = ledger
        .admin_sql()
        .await
        .query_one(
            "SELECT state FROM ledger.orders WHERE card_id = 'card-b2'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(detail.get::<_, String>(0), "accepted");
}

#[tokio::test]
async fn a_desk_reads_only_its_branch_and_a_regional_desk_only_its_region() {
    let mut ledger = Server::from_env().ledger().await;
    let b1 = ledger
        .desk_with("b1", "B1", Some("NORTH"), DeskKind::Teller)
        .await;
    let b2 = ledger
        .desk_with("b2", "B2", Some("NORTH"), DeskKind::Teller)
        .await;
    let b3 = ledger
        .desk_with("b3", "B3", Some("SOUTH"), DeskKind::Teller)
        .await;
    let regional = ledger
        .desk_with("reg", "B2", Some("NORTH"), DeskKind::Regional)
        .await;
    for (desk, card) in [(&b1, "card-b1"), (&b2, "card-b2"), (&b3, "card-b3")] {
        desk.connect()
            .await
            .append(&full_order(1, card, 0))
            .await
            .unwrap();
    }
    let visible = |sql: tokio_postgres::Client| async move {
        let mut seen = Vec::new();
        for table in [
            "ledger.orders",
            "ledger.order_events",
            "ledger.desk_sync",
            "ledger.desks",
            "ledger.branches",
        ] {
            let rows = sql
                .query(
                    &format!("SELECT DISTINCT branch_id FROM {table} ORDER BY 1"),
                    &[],
                )
                .await
                .unwrap();
            seen.push(
                rows.iter()
                    .map(|r| r.get::<_, String>(0))
                    .collect::<Vec<_>>(),
            );
        }
        seen
    };
    // Explicitly asking for another branch's rows returns nothing (not an error).
    let sql = b1.sql().await;
    let other: i64 = sql
        .query_one(
            "SELECT count(*) FROM ledger.orders WHERE branch_id = 'B2'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(other, 0);
    for seen in visible(sql).await {
        assert_eq!(seen, ["B1"]);
    }
    for seen in visible(b3.sql().await).await {
        assert_eq!(seen, ["B3"]);
    }
    for seen in visible(regional.sql().await).await {
        assert_eq!(seen, ["B1", "B2"]);
    }
    // The admin (owner) sees everything.
    let all: i64 = ledger
        .admin_sql()
        .await
        .query_one("SELECT count(DISTINCT branch_id) FROM ledger.orders", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(all, 3);
}

#[tokio::test]
async fn a_replay_changes_nothing_and_a_conflicting_replay_is_refused() {
    let mut ledger = Server::from_env().ledger().await;
    let desk = ledger.desk("teller", "B1").await;
    let api = desk.connect().await;
    let events = full_order(1, "card-1", 0);
    assert_eq!(api.append(&events).await.unwrap(), 4);
    let admin = ledger.admin_sql().await;
    let before = snapshot(&admin).await;
    // The whole batch again, a part of it, one event: no-ops that still acknowledge.
    assert_eq!(api.append(&events).await.unwrap(), 4);
    assert_eq!(api.append(&events[1..3]).await.unwrap(), 4);
    assert_eq!(api.append(&events[3..]).await.unwrap(), 4);
    assert_eq!(snapshot(&admin).await, before);

    // Same seq, different content: refused, nothing changed.
    let forged = Event::transition(4, at(1), &cid("card-1"), "jane", OrderState::Failed);
    let e = api.append(&[forged]).await.unwrap_err();
    assert!(matches!(e, LedgerError::Conflict(_)), "{e}");
    assert!(e.to_string().contains("event 4"), "{e}");
    let mut changed_detail = events[3].clone();
    changed_detail = changed_detail.with(|t| t.detail = Some("edited".into()));
    assert!(matches!(
        api.append(&[changed_detail]).await.unwrap_err(),
        LedgerError::Conflict(_)
    ));
    // A replay followed by a new event in one batch: the new one is appended.
    let mut batch = events[2..].to_vec();
    batch.push(Event::transition(
        5,
        at(9),
        &cid("card-1"),
        "sup",
        OrderState::Done,
    ));
    assert_eq!(api.append(&batch).await.unwrap(), 5);
    // A conflicting replay in a batch rolls back the whole batch.
    let mut bad = vec![Event::transition(
        6,
        at(10),
        &cid("card-1"),
        "sup",
        OrderState::Done,
    )];
    bad.insert(
        0,
        Event::transition(5, at(9), &cid("card-1"), "sup", OrderState::Failed),
    );
    assert!(matches!(
        api.append(&bad).await.unwrap_err(),
        LedgerError::Conflict(_)
    ));
    assert_eq!(api.last_seq().await.unwrap(), 5);
    assert_eq!(snapshot(&admin).await.0.len(), 5);
}

#[tokio::test]
async fn events_out_of_order_are_refused_and_nothing_is_skipped() {
    let mut ledger = Server::from_env().ledger().await;
    let desk = ledger.desk("teller", "B1").await;
    let api = desk.connect().await;
    let events = full_order(1, "card-1", 0);
    let e = api.append(&events[1..]).await.unwrap_err();
    match &e {
        LedgerError::OutOfOrder(message) => assert!(
            message.contains("event 2 arrived but the ledger expects event 1"),
            "{message}"
        ),
        other => panic!("expected OutOfOrder, got {other:?}"),
    }
    assert_eq!(api.append(&events[..2]).await.unwrap(), 2);
    assert!(matches!(
        api.append(&events[3..]).await.unwrap_err(),
        LedgerError::OutOfOrder(_)
    ));
    assert_eq!(api.last_seq().await.unwrap(), 2);
    assert_eq!(api.append(&events[2..]).await.unwrap(), 4);
}

#[tokio::test]
async fn the_server_refuses_card_numbers_even_when_the_desk_does_not_check() {
    let mut ledger = Server::from_env().ledger().await;
    let desk = ledger.desk("teller", "B1").await;
    let sql = desk.sql().await;
    let intent = |field: &str, value: &str| {
        let mut e = serde_json::json!({
            "seq": 1, "at": "2026-11-25T08:00:00Z", "card_id": "card-1", "kind": "intent",
            "state": "intent", "operator": "jane", "consumer_id": "C-1", "product_id": "P",
            "station_id": "S", "issuance_type": "CREATION", "pan_last4": "5556",
            "issuer_request_id": "r1", "correlation_id": "c1"
        });
        e[field] = serde_json::json!(value);
        serde_json::json!([e])
    };
    for (field, value) in [
        ("consumer_id", CANARY_PAN.to_owned()),
        ("card_id", format!("c-{CANARY_PAN}")),
        ("operator", format!("jane {CANARY_PAN}")),
        ("station_id", CANARY_PAN.to_owned()),
        ("pan_last4", CANARY_PAN.to_owned()),
        ("pan_last4", "555".to_owned()),
        ("issuer_request_id", "has space".to_owned()),
    ] {
        let e = sql
            .query_one(
                "SELECT ledger.append_events($1::jsonb)",
                &[&intent(field, &value)],
            )
            .await
            .unwrap_err();
        assert_eq!(sqlstate(&e), "23514", "{field}: {e}");
        let mapped = LedgerError::from(e);
        assert!(!mapped.to_string().contains(CANARY_PAN), "{mapped}");
    }
    sql.query_one(
        "SELECT ledger.append_events($1::jsonb)",
        &[&intent("consumer_id", "C-1")],
    )
    .await
    .unwrap();
    let transition = serde_json::json!([{
        "seq": 2, "at": "2026-11-25T08:01:00Z", "card_id": "card-1", "kind": "transition",
        "state": "failed", "operator": "jane",
        "error_message": format!("card {CANARY_PAN} declined")
    }]);
    let e = sql
        .query_one("SELECT ledger.append_events($1::jsonb)", &[&transition])
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&e), "23514", "{e}");
    // Malformed batches are refused with LD002.
    for bad in [
        serde_json::json!({"seq": 2}),
        serde_json::json!([1]),
        serde_json::json!([{"seq": 2, "kind": "deleted", "at": "2026-11-25T08:00:00Z"}]),
        serde_json::json!([{"seq": 0, "kind": "transition"}]),
        serde_json::json!([{"seq": 2, "kind": "transition", "at": "2026-11-25T08:00:00Z",
                            "card_id": "card-1", "state": "done", "operator": "x",
                            "pan_last4": "1234"}]),
    ] {
        let e = sql
            .query_one("SELECT ledger.append_events($1::jsonb)", &[&bad])
            .await
            .unwrap_err();
        assert_eq!(sqlstate(&e), "LD002", "{bad}: {e}");
    }
}

#[tokio::test]
async fn history_is_append_only_even_for_its_owner() {
    let mut ledger = Server::from_env().ledger().await;
    let desk = ledger.desk("teller", "B1").await;
    desk.connect()
        .await
        .append(&full_order(1, "card-1", 0))
        .await
        .unwrap();
    let admin = ledger.admin_sql().await;
    for statement in [
        "UPDATE ledger.order_events SET detail = 'x'",
        "DELETE FROM ledger.order_events",
        "TRUNCATE ledger.order_events",
    ] {
        let e = admin.batch_execute(statement).await.unwrap_err();
        assert_eq!(sqlstate(&e), "LD007", "{statement}: {e}");
    }
}

#[tokio::test]
async fn only_trusted_certificates_for_the_right_role_and_host_get_in() {
    let server = Server::from_env();
    let mut ledger = server.ledger().await;
    let desk = ledger.desk("teller", "B1").await;

    // A certificate with the right CN from a CA the server does not trust.
    let mut rogue = desk.options.clone();
    rogue.identity = mint_with(&rogue_issuer(), &desk.role());
    let e = Ledger::connect(&rogue).await.unwrap_err();
    assert!(
        matches!(e, LedgerError::Tls(_) | LedgerError::Unauthorized(_)),
        "{e:?}"
    );

    // The desk does not trust a server outside its CA bundle.
    let mut wrong_ca = desk.options.clone();
    wrong_ca.ca_pem = rogue_issuer_pem();
    let e = Ledger::connect(&wrong_ca).await.unwrap_err();
    assert!(matches!(e, LedgerError::Tls(_)), "{e:?}");

    // Verify-full: a host name the server certificate does not carry is refused.
    let mut wrong_host = desk.options.clone();
    wrong_host.host = "ledger.elsewhere.example".into();
    wrong_host.hostaddr = Some("127.0.0.1".parse().unwrap());
    let e = Ledger::connect(&wrong_host).await.unwrap_err();
    assert!(matches!(e, LedgerError::Tls(_)), "{e:?}");
    // The names it does carry work.
    let mut by_name = desk.options.clone();
    by_name.host = "localhost".into();
    by_name.hostaddr = Some("127.0.0.1".parse().unwrap());
    Ledger::connect(&by_name).await.unwrap();

    // A role that is not a desk (the admin) cannot append.
    let e = Ledger::connect(&server.admin_options(&ledger.db))
        .await
        .unwrap_err();
    assert!(matches!(e, LedgerError::NotADesk(_)), "{e:?}");
    let e = ledger
        .admin_sql()
        .await
        .query_one("SELECT ledger.append_events('[]')", &[])
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&e), "LD001");

    // Nobody listens on port 1: unreachable, a transient error.
    let mut closed = desk.options.clone();
    closed.port = 1;
    let e = Ledger::connect(&closed).await.unwrap_err();
    assert!(e.is_transient(), "{e:?}");

    // Unusable PEM: a settings error, not a crash.
    let mut garbage = desk.options.clone();
    garbage.identity = branch_ledger::ClientIdentity::new(
        "not a certificate",
        zeroize::Zeroizing::new("not a key".to_owned()),
    );
    assert!(matches!(
        Ledger::connect(&garbage).await.unwrap_err(),
        LedgerError::Settings(_)
    ));
}

type Snapshot = (Vec<(i64, String, String)>, (String, String));

/// Every history row (seq, received_at, state) and the order's state and update time.
async fn snapshot(admin: &tokio_postgres::Client) -> Snapshot {
    let rows = admin
        .query(
            "SELECT seq, received_at::text, state FROM ledger.order_events ORDER BY seq",
            &[],
        )
        .await
        .unwrap();
    let order = admin
        .query_one("SELECT state, updated_at::text FROM ledger.orders", &[])
        .await
        .unwrap();
    (
        rows.iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect(),
        (order.get(0), order.get(1)),
    )
}

fn rogue_issuer_pem() -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Rogue CA");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.self_signed(&key).unwrap().pem()
}
