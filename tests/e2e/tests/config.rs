//! A configuration mistake is a clear screen naming the key, never a crash or a silent default.

use desk_e2e::Desk;

#[tokio::test]
async fn an_invalid_machine_configuration_shows_every_problem_by_key() {
    let data_dir = tempfile::tempdir().unwrap();
    let desk = Desk::start_with_machine_config(
        data_dir,
        "environment = \"training\"\n[ui]\nidle_clear_second = 60\n[journal]\nretention_days = 5\n",
    )
    .await
    .unwrap();
    let screen = desk.text("start-failure").await.unwrap();
    assert!(screen.contains("The configuration is invalid"), "{screen}");
    assert!(
        screen.contains("idle_clear_second"),
        "the typo is named: {screen}"
    );
    assert!(
        screen.contains("journal.retention_days"),
        "the out-of-range value is named: {screen}"
    );
    assert!(
        screen.contains("issuance-desk-admin config check"),
        "{screen}"
    );
    desk.screenshot("config-invalid").await.unwrap();
    desk.stop().await.unwrap();
}

#[tokio::test]
async fn a_machine_configuration_sets_what_the_form_offers() {
    let data_dir = tempfile::tempdir().unwrap();
    let desk = Desk::start_with_machine_config(data_dir, "environment = \"training\"\n\n[[stations]]\nid = \"LOBBY-PS-07\"\nname = \"Lobby kiosk\"\ndefault = true\n")
        .await
        .unwrap();
    desk.find("order-form").await.unwrap();
    let status = desk.text("status-bar").await.unwrap();
    assert!(status.contains("Lobby kiosk"), "{status}");
    desk.stop().await.unwrap();
}

#[tokio::test]
async fn finished_orders_older_than_the_retention_are_removed_at_start() {
    use order_journal::{Journal, NewOrder, OperationStatus, PanLast4, Timestamp};
    use order_workflow::{CardId, ConsumerId, CorrelationId, IssuerRequestId, OperationId};
    use std::sync::Arc;
    use std::time::Duration;

    let data_dir = tempfile::tempdir().unwrap();
    let journal_path = desk_e2e::training_journal(data_dir.path());
    std::fs::create_dir_all(journal_path.parent().unwrap()).unwrap();
    let day = Duration::from_secs(24 * 60 * 60);
    let finished = |age: Duration, card: &str| {
        let journal = Journal::open(&journal_path)
            .unwrap()
            .with_clock(Arc::new(move || Timestamp::now().minus(age)));
        let card_id = CardId::parse(card).unwrap();
        journal
            .record_intent(&NewOrder {
                operator: "teller1".into(),
                consumer_id: ConsumerId::parse("CUST-OLD").unwrap(),
                product_id: "DEMO_DEBIT".into(),
                station_id: "BRANCH-PS-01".into(),
                issuance_type: "CREATION".into(),
                pan_last4: PanLast4::new("5556").unwrap(),
                card_id: card_id.clone(),
                issuer_request_id: IssuerRequestId::parse(format!("req-{card}")).unwrap(),
                correlation_id: CorrelationId::parse(format!("corr-{card}")).unwrap(),
            })
            .unwrap();
        journal.mark_sending(&card_id).unwrap();
        journal
            .record_accepted(&card_id, &OperationId::parse(format!("op-{card}")).unwrap())
            .unwrap();
        journal
            .record_production_status(
                &card_id,
                "CARD_PROD_DONE",
                OperationStatus::Successful,
                None,
            )
            .unwrap();
    };
    finished(day * 40, "old-card");
    finished(day * 2, "recent-card");

    let journal = Journal::open(&journal_path).unwrap();
    let desk = Desk::start_with_machine_config(
        data_dir,
        "environment = \"training\"\n[journal]\nretention_days = 30\n",
    )
    .await
    .unwrap();
    desk.find("order-form").await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while journal.detail(&CardId::parse("old-card").unwrap()).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "the 40-day-old order was not pruned"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        journal
            .detail(&CardId::parse("recent-card").unwrap())
            .is_ok(),
        "a 2-day-old order is kept"
    );
    desk.stop().await.unwrap();
}
