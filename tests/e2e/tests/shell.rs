//! The window starts, shows where it is connected, and talks to Rust.

use desk_e2e::Desk;

#[tokio::test]
async fn window_starts_in_training_with_the_order_screen() {
    let desk = Desk::start().await.expect("app under WebDriver");

    let environment = desk.find("environment-name").await.unwrap();
    assert_eq!(environment.text().await.unwrap(), "TRAINING");

    // The version comes from Rust through the typed `app_info` command.
    let banner = desk.find("environment-banner").await.unwrap();
    let text = banner.text().await.unwrap();
    assert!(
        text.contains(&format!("Issuance Desk {}", env!("CARGO_PKG_VERSION"))),
        "banner shows the version reported by Rust: {text}"
    );

    desk.find("order-screen").await.unwrap();
    let title = desk.client.title().await.unwrap();
    assert_eq!(title, "Issuance Desk");

    desk.screenshot("shell-training").await.unwrap();
    desk.stop().await.unwrap();
}
