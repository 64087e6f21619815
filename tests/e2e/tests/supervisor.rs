//! The supervisor's journeys through the real binary: orders placed through the teller flow,
//! then filtered, searched, opened, refreshed and exported; and a teller refused by Rust.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use desk_e2e::{BoxError, CANARY_PAN, Desk};
use fantoccini::Locator;
use serde_json::json;

/// A second Luhn-valid PAN of the training debit BIN, so "last 4" finds one order.
const OTHER_PAN: &str = "4000056655661233";

/// Starts the app with a machine configuration naming `supervisors` and a private Downloads
/// folder (exports land there).
async fn start(supervisors: &[&str]) -> Result<(Desk, PathBuf), BoxError> {
    let data_dir = tempfile::tempdir()?;
    let users: Vec<String> = supervisors.iter().map(|u| format!("{u:?}")).collect();
    let config = format!(
        "environment = \"training\"\n\n[supervisors]\nusers = [{}]\ngroups = [\"no-such-group-e2e\"]\n",
        users.join(", ")
    );
    let downloads = data_dir.path().join("downloads");
    std::fs::create_dir_all(&downloads)?;
    let xdg_config = data_dir.path().join("xdg-config");
    std::fs::create_dir_all(&xdg_config)?;
    std::fs::write(
        xdg_config.join("user-dirs.dirs"),
        format!("XDG_DOWNLOAD_DIR=\"{}\"\n", downloads.display()),
    )?;
    let desk = Desk::start_with_machine_config(data_dir, &config).await?;
    Ok((desk, downloads))
}

fn os_user() -> String {
    let out = std::process::Command::new("id").arg("-un").output();
    out.ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

async fn place(desk: &Desk, consumer: &str, pan: &str) -> Result<(), BoxError> {
    desk.fill_valid_order(consumer).await?;
    desk.type_into("pan", pan).await?;
    desk.review().await?;
    desk.click("confirm-button").await
}

/// Texts of the visible order rows' status cells, in order.
async fn row_states(desk: &Desk) -> Result<Vec<String>, BoxError> {
    let mut out = Vec::new();
    for row in desk
        .client
        .find_all(Locator::Css(
            "[data-testid='order-table'] [data-testid='order-row']",
        ))
        .await?
    {
        out.push(row.attr("data-state").await?.unwrap_or_default());
    }
    Ok(out)
}

async fn wait_rows(desk: &Desk, want: usize) -> Result<Vec<String>, BoxError> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows = row_states(desk).await?;
        if rows.len() == want {
            return Ok(rows);
        }
        if Instant::now() > deadline {
            return Err(format!("{} rows shown, not {want}: {rows:?}", rows.len()).into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn apply(desk: &Desk) -> Result<(), BoxError> {
    desk.click("apply-filters").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(())
}

async fn wait_text(desk: &Desk, test_id: &str, needle: &str) -> Result<String, BoxError> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let current = desk.text(test_id).await.unwrap_or_default();
        if current.contains(needle) {
            return Ok(current);
        }
        if Instant::now() > deadline {
            return Err(format!("{test_id} shows {current:?}, not …{needle}…").into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn read_export(notice: &str, downloads: &Path) -> Result<String, BoxError> {
    let name = std::fs::read_dir(downloads)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "csv"))
        .ok_or("no CSV file in the Downloads folder")?;
    assert!(
        notice.contains(&name.display().to_string()),
        "the notice names the file: {notice}"
    );
    Ok(std::fs::read_to_string(name)?)
}

#[tokio::test]
async fn supervisor_filters_searches_opens_refreshes_and_exports() {
    let (desk, downloads) = start(&[&os_user()]).await.unwrap();

    // Three orders through the teller flow: done, failed at the station, and one whose status
    // D1 cannot be asked about for now (pending in the journal).
    place(&desk, "CUST-7001", CANARY_PAN).await.unwrap();
    desk.wait_order("CUST-7001", &["done"]).await.unwrap();
    // The form is free for the next customer at once.
    desk.sandbox
        .post(
            "stations/BRANCH-PS-01/offline",
            json!({"reason": "Printer out of cards"}),
        )
        .await
        .unwrap();
    place(&desk, "CUST-7002", OTHER_PAN).await.unwrap();
    desk.wait_order("CUST-7002", &["failed"]).await.unwrap();
    desk.sandbox
        .post("stations/BRANCH-PS-01/online", json!({}))
        .await
        .unwrap();
    place(&desk, "CUST-7003", CANARY_PAN).await.unwrap();
    // Accepted by D1 (its operation id is known), not finished yet.
    desk.wait_order("CUST-7003", &["in_progress"])
        .await
        .unwrap();
    desk.client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(
            "[data-consumer='CUST-7003'] [data-testid='operation-id']",
        ))
        .await
        .unwrap();
    desk.sandbox
        .post("faults/fail-next", json!({"count": 10000, "status": 503}))
        .await
        .unwrap();

    desk.click("nav-supervisor").await.unwrap();
    desk.find("supervisor-screen").await.unwrap();
    let all = wait_rows(&desk, 3).await.unwrap();
    assert!(
        ["accepted", "in_production"].contains(&all[0].as_str()),
        "newest first, still pending: {all:?}"
    );
    assert_eq!(all[1..], ["failed", "done"], "{all:?}");
    desk.screenshot("supervisor-orders-en").await.unwrap();

    // Filter by status.
    desk.choose("status", "failed").await.unwrap();
    apply(&desk).await.unwrap();
    assert_eq!(wait_rows(&desk, 1).await.unwrap(), ["failed"]);
    // Search by last 4 (with the status filter cleared).
    desk.click("clear-filters").await.unwrap();
    wait_rows(&desk, 3).await.unwrap();
    desk.type_into("search", &OTHER_PAN[12..]).await.unwrap();
    apply(&desk).await.unwrap();
    assert_eq!(wait_rows(&desk, 1).await.unwrap(), ["failed"]);
    let card = desk.text("row-card").await.unwrap();
    assert_eq!(card, format!("•••• {}", &OTHER_PAN[12..]));

    // Detail: timeline and error.
    desk.click("open-detail").await.unwrap();
    let timeline = desk.text("detail-timeline").await.unwrap();
    assert!(timeline.contains("Not sent yet"), "timeline: {timeline}");
    assert!(timeline.contains("Failed"), "timeline: {timeline}");
    let error = desk.text("detail-error").await.unwrap();
    assert!(error.contains("Printer out of cards"), "error: {error}");
    desk.screenshot("supervisor-detail-en").await.unwrap();
    desk.click("close-detail").await.unwrap();

    // Refresh all pending while D1 fails: the order keeps its status and says it was not checked.
    desk.click("clear-filters").await.unwrap();
    wait_rows(&desk, 3).await.unwrap();
    desk.click("refresh-all").await.unwrap();
    let notice = wait_text(&desk, "supervisor-notice", "could not be checked")
        .await
        .unwrap();
    assert!(notice.contains("1 order could not be checked"), "{notice}");
    // D1 answers again: the refresh brings the real status.
    desk.sandbox.post("faults/clear", json!({})).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        desk.click("refresh-all").await.unwrap();
        tokio::time::sleep(Duration::from_millis(800)).await;
        let states = row_states(&desk).await.unwrap();
        if !states
            .iter()
            .any(|s| s == "accepted" || s == "in_production")
        {
            assert_eq!(
                states.iter().filter(|s| *s == "done").count(),
                2,
                "{states:?}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still pending after refreshes: {states:?}"
        );
    }

    // Export: the rows, masked, and no PAN.
    desk.click("export-csv").await.unwrap();
    let notice = wait_text(&desk, "supervisor-notice", "exported")
        .await
        .unwrap();
    assert!(notice.contains("3 orders exported"), "{notice}");
    let csv = read_export(&notice, &downloads).unwrap();
    assert!(csv.starts_with('\u{feff}'), "a UTF-8 BOM first, for Excel");
    assert_eq!(csv.lines().count(), 4, "header + 3 orders:\n{csv}");
    for consumer in ["CUST-7001", "CUST-7002", "CUST-7003"] {
        assert!(csv.contains(consumer), "{consumer} exported:\n{csv}");
    }
    assert!(
        csv.contains("•••• 5556") && csv.contains("•••• 1233"),
        "{csv}"
    );
    for needle in [CANARY_PAN, OTHER_PAN, "40000566556"] {
        assert!(!csv.contains(needle), "card number in the export");
    }

    // Exceptions: the failed order needs action.
    desk.click("tab-exceptions").await.unwrap();
    let exceptions = desk.text("exceptions-table").await.unwrap();
    assert!(exceptions.contains("CUST-7002"), "{exceptions}");
    desk.screenshot("supervisor-exceptions-en").await.unwrap();

    // Charts, drawn by chart.js under the app's CSP.
    desk.click("tab-charts").await.unwrap();
    // Stations by name (the id on hover).
    let reasons = wait_text(&desk, "byStation-list", "Counter 1 printer")
        .await
        .unwrap();
    assert!(reasons.contains('1'), "{reasons}");
    let drawn = desk
        .client
        .execute(
            "const c = document.querySelector(\"[data-testid='chart-volume']\");
             return c && c.width > 0 && c.height > 0 && !!window.getComputedStyle(c);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(drawn, json!(true), "the volume chart has a drawn canvas");
    tokio::time::sleep(Duration::from_millis(300)).await;
    desk.screenshot("supervisor-charts-en").await.unwrap();

    // Spanish.
    desk.choose("language", "es").await.unwrap();
    desk.screenshot("supervisor-charts-es").await.unwrap();
    desk.click("tab-orders").await.unwrap();
    desk.find("order-filters").await.unwrap();
    wait_rows(&desk, 3).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    desk.screenshot("supervisor-orders-es").await.unwrap();

    let html = desk.page_html().await.unwrap();
    assert!(!html.contains(CANARY_PAN) && !html.contains(OTHER_PAN));
    let violations = desk.axe_violations().await.unwrap();
    assert!(violations.is_empty(), "accessibility: {violations:?}");
    desk.stop().await.unwrap();
}

#[tokio::test]
async fn a_teller_is_refused_by_rust_not_only_by_the_menu() {
    let (desk, _) = start(&["somebody-else-e2e"]).await.unwrap();
    desk.find("order-form").await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        desk.client
            .find(Locator::Css("[data-testid='screen-nav']"))
            .await
            .is_err(),
        "no supervisor navigation for a teller"
    );
    // Calling the commands directly (as a tampered window would) is refused in Rust.
    for (command, args) in [
        ("list_orders", json!({"filter": {}})),
        ("order_exceptions", json!({})),
        ("export_orders", json!({"filter": {}})),
        ("refresh_orders", json!({"cardIds": []})),
    ] {
        let answer = desk
            .client
            .execute_async(
                "const [command, args, done] = arguments;
                 window.__TAURI_INTERNALS__.invoke(command, args)
                   .then(v => done({ok: v}))
                   .catch(e => done({err: e}));",
                vec![json!(command), args],
            )
            .await
            .unwrap();
        assert_eq!(answer["err"]["kind"], "forbidden", "{command}: {answer}");
        assert_eq!(
            answer["err"]["code"], "not_supervisor",
            "{command}: {answer}"
        );
        assert!(
            answer["err"].get("message").is_none(),
            "words are the window's, not Rust's: {answer}"
        );
    }
    desk.screenshot("supervisor-refused-teller").await.unwrap();
    desk.stop().await.unwrap();
}
