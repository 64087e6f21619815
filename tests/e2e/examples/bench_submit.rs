//! Click on "Order the card" → "Order accepted" shown, over N orders against the training D1,
//! measured inside the page (performance.now() and a MutationObserver), so WebDriver's own
//! round trips are not counted. Run through `scripts/bench-submit.sh`.

use desk_e2e::{BoxError, Desk};

const MEASURE: &str = r#"
const done = arguments[arguments.length - 1];
const start = performance.now();
const observer = new MutationObserver(() => {
  if (document.querySelector("[data-testid='result-panel']")) {
    observer.disconnect();
    done(performance.now() - start);
  }
});
observer.observe(document.body, { childList: true, subtree: true });
document.querySelector("[data-testid='confirm-button']").click();
"#;

/// Waits for the production of the order shown to finish, reading the page by script (no
/// element handle that a re-render could make stale).
#[tokio::main]
#[allow(clippy::print_stdout)] // printing the numbers is what this benchmark is for
async fn main() -> Result<(), BoxError> {
    let orders: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(50);
    let desk = Desk::start().await?;
    let mut millis = Vec::with_capacity(orders);
    for i in 0..orders {
        // Filling and reviewing touch nothing outside the page: a WebDriver hiccup (an element
        // re-rendered between find and use) is retried. What follows the click is not.
        let mut attempt = 0;
        loop {
            let prepared = async {
                desk.fill_valid_order(&format!("BENCH-{i:04}")).await?;
                desk.review().await
            };
            match prepared.await {
                Ok(()) => break,
                Err(error) if attempt < 3 => {
                    attempt += 1;
                    eprintln!("order {i}: preparing again after: {error}");
                }
                Err(error) => return Err(error),
            }
        }
        let elapsed = desk.client.execute_async(MEASURE, vec![]).await?;
        millis.push(elapsed.as_f64().ok_or("no measurement")?);
        desk.find("result-panel").await?;
        desk.wait_attr("result-panel", "data-phase", "done").await?;
        // The form is free at once; the finished order leaves the list so the next one is the
        // only item the measurement waits for.
        desk.click("dismiss-order").await?;
    }
    desk.stop().await?;
    millis.sort_by(f64::total_cmp);
    let pick = |q: f64| millis[((millis.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "click → 202 shown over {orders} orders: median {:.1} ms, p95 {:.1} ms, min {:.1} ms, max {:.1} ms",
        pick(0.5),
        pick(0.95),
        pick(0.0),
        pick(1.0)
    );
    // For scripts/bench-all.sh: name, n, median, p95, min, max (ms).
    println!(
        "RESULT|submit_to_accepted|{orders}|{:.1}|{:.1}|{:.1}|{:.1}",
        pick(0.5),
        pick(0.95),
        pick(0.0),
        pick(1.0)
    );
    Ok(())
}
