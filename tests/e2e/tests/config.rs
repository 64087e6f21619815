//! A configuration mistake is a clear screen naming the key, never a crash or a silent default.

use desk_e2e::Desk;

#[tokio::test]
async fn an_invalid_machine_configuration_shows_every_problem_by_key() {
    let data_dir = tempfile::tempdir().unwrap();
    let config = data_dir.path().join("config.toml");
    std::fs::write(
        &config,
        "environment = \"training\"\n[ui]\nidle_clear_second = 60\n[journal]\nretention_days = 5\n",
    )
    .unwrap();
    let desk = Desk::start_with(
        data_dir,
        &[("ISSUANCE_DESK_MACHINE_CONFIG", config.to_str().unwrap())],
    )
    .await
    .unwrap();
    let screen = desk
        .find("start-failure")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
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
    let config = data_dir.path().join("config.toml");
    std::fs::write(
        &config,
        "environment = \"training\"\n\n[[stations]]\nid = \"LOBBY-PS-07\"\nname = \"Lobby kiosk\"\ndefault = true\n",
    )
    .unwrap();
    let desk = Desk::start_with(
        data_dir,
        &[("ISSUANCE_DESK_MACHINE_CONFIG", config.to_str().unwrap())],
    )
    .await
    .unwrap();
    desk.find("order-form").await.unwrap();
    let status = desk.find("status-bar").await.unwrap().text().await.unwrap();
    assert!(status.contains("Lobby kiosk"), "{status}");
    desk.stop().await.unwrap();
}
