//! Harness for end-to-end tests: starts `tauri-driver` in front of WebKitWebDriver,
//! opens a session on the real app binary, and stops both when dropped.
//!
//! Needs `ISSUANCE_DESK_BINARY` (set by `scripts/e2e.sh`) and an X display.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use tokio::process::{Child, Command};

pub mod external;
mod window;
pub use window::{IpcCall, found_phrases, locale, phrases_only_in, raw_message_keys};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub struct Desk {
    pub client: Client,
    driver: Child,
    /// The app's private data directory (journal, training keys).
    pub data_dir: tempfile::TempDir,
    /// The in-process training D1's control API.
    pub sandbox: SandboxControl,
    /// The environment the app was started with (beyond the inherited one).
    env: Vec<(String, String)>,
}

impl Desk {
    /// Starts the app under WebDriver, with a fresh data directory and a fast training D1.
    pub async fn start() -> Result<Self, BoxError> {
        Self::start_in(tempfile::tempdir()?).await
    }

    /// Starts the app on an existing data directory (e.g. after a crash).
    pub async fn start_in(data_dir: tempfile::TempDir) -> Result<Self, BoxError> {
        Self::start_with(data_dir, &[]).await
    }

    /// Starts the app with `toml` as its machine-wide configuration (written into `data_dir`).
    pub async fn start_with_machine_config(
        data_dir: tempfile::TempDir,
        toml: &str,
    ) -> Result<Self, BoxError> {
        let config = data_dir.path().join("machine.toml");
        std::fs::write(&config, toml)?;
        let config = config.display().to_string();
        Self::start_with(data_dir, &[("ISSUANCE_DESK_MACHINE_CONFIG", &config)]).await
    }

    /// Starts the app with extra environment variables (e.g. `ISSUANCE_DESK_MACHINE_CONFIG`).
    pub async fn start_with(
        data_dir: tempfile::TempDir,
        env: &[(&str, &str)],
    ) -> Result<Self, BoxError> {
        let binary = std::env::var_os("ISSUANCE_DESK_BINARY")
            .map(PathBuf::from)
            .ok_or("ISSUANCE_DESK_BINARY is not set: run the e2e tests through scripts/e2e.sh")?;
        if !binary.exists() {
            return Err(format!("the app binary {} does not exist", binary.display()).into());
        }
        let port = free_port()?;
        let native_port = free_port()?;
        for dir in ["xdg-data", "xdg-config", "xdg-cache"] {
            std::fs::create_dir_all(data_dir.path().join(dir))?;
        }
        let sandbox_port = free_port()?;
        let dir = |name: &str| data_dir.path().join(name).display().to_string();
        let mut app_env: Vec<(String, String)> = vec![
            (
                "ISSUANCE_DESK_DATA_DIR".into(),
                data_dir.path().display().to_string(),
            ),
            // The WebView's storage (e.g. the chosen language) is private to each run too.
            ("XDG_DATA_HOME".into(), dir("xdg-data")),
            ("XDG_CONFIG_HOME".into(), dir("xdg-config")),
            ("XDG_CACHE_HOME".into(), dir("xdg-cache")),
            ("MESA_SHADER_CACHE_DISABLE".into(), "true".into()),
            ("ISSUANCE_DESK_LOG_DIR".into(), dir("logs")),
        ];
        app_env.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        app_env.push((
            "ISSUANCE_DESK_SANDBOX_PORT".into(),
            sandbox_port.to_string(),
        ));
        if !env
            .iter()
            .any(|(k, _)| *k == "ISSUANCE_DESK_TRAINING_STEP_MS")
        {
            app_env.push(("ISSUANCE_DESK_TRAINING_STEP_MS".into(), "400".into()));
        }
        let driver = Command::new("tauri-driver")
            .envs(app_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native_port.to_string(),
            ])
            .args(["--native-driver", "/usr/bin/WebKitWebDriver"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            // Its own process group: WebKitWebDriver and the app it launches go with it.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("could not start tauri-driver: {e}"))?;
        let url = format!("http://127.0.0.1:{port}");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), "wry".into());
        capabilities.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": binary }),
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = loop {
            // A session request waits for the app's window: an app that died at start would
            // keep it waiting for ever, so the request has the same deadline.
            let attempt = tokio::time::timeout(
                deadline.saturating_duration_since(Instant::now()),
                ClientBuilder::rustls()?
                    .capabilities(capabilities.clone())
                    .connect(&url),
            )
            .await;
            match attempt {
                Ok(Ok(client)) => break client,
                Err(_) => {
                    kill_group(&driver);
                    return Err(
                        "no WebDriver session within 60 s: the app did not open its \
                                window (its standard error is above)"
                            .into(),
                    );
                }
                Ok(Err(error)) if Instant::now() > deadline => {
                    kill_group(&driver);
                    return Err(format!("no WebDriver session within 60 s: {error}").into());
                }
                Ok(Err(_)) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        // Without a window manager the fresh window has no input focus, and WebKit may spend
        // the first pointer click on taking it: give it focus before any test clicks.
        let _ = client.execute("window.focus();", vec![]).await;
        let sandbox = SandboxControl::new(sandbox_port)?;
        Ok(Self {
            client,
            driver,
            data_dir,
            sandbox,
            env: app_env,
        })
    }

    /// Launches the app binary a second time, directly (not through WebDriver), with the same
    /// environment, data directory and session: as a teller double-clicking the icon again.
    pub fn launch_again(&self) -> Result<std::process::Child, BoxError> {
        let binary = std::env::var_os("ISSUANCE_DESK_BINARY")
            .map(PathBuf::from)
            .ok_or("ISSUANCE_DESK_BINARY is not set")?;
        Ok(std::process::Command::new(binary)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?)
    }

    /// The process id of the app this session drives: the process whose environment holds this
    /// desk's data directory.
    pub fn app_pid(&self) -> Option<u32> {
        let needle = format!("ISSUANCE_DESK_DATA_DIR={}", self.data_dir.path().display());
        let binary = std::env::var_os("ISSUANCE_DESK_BINARY").map(PathBuf::from)?;
        std::fs::read_dir("/proc")
            .ok()?
            .flatten()
            .find_map(|entry| {
                let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
                let exe = std::fs::read_link(entry.path().join("exe")).ok()?;
                if exe != binary {
                    return None;
                }
                let environ = std::fs::read(entry.path().join("environ")).ok()?;
                environ
                    .split(|b| *b == 0)
                    .any(|var| var == needle.as_bytes())
                    .then_some(pid)
            })
    }

    /// Waits until the element `css` matches has `attr` among `values`; returns the value.
    pub async fn wait_css_attr(
        &self,
        css: &str,
        attr: &str,
        values: &[&str],
        within: Duration,
    ) -> Result<String, BoxError> {
        let deadline = Instant::now() + within;
        let mut last = None;
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                last = element.attr(attr).await.ok().flatten();
                if let Some(value) = &last
                    && values.contains(&value.as_str())
                {
                    return Ok(value.clone());
                }
            }
            if Instant::now() > deadline {
                let shot = self.screenshot("wait-failed").await?;
                return Err(format!(
                    "{css}[{attr}] is {last:?}, not one of {values:?} after {within:?} ({})",
                    shot.display()
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the order of `consumer` in the production list is in one of `phases`
    /// (`in_progress`, `done`, `failed`); returns the phase.
    pub async fn wait_order(&self, consumer: &str, phases: &[&str]) -> Result<String, BoxError> {
        self.wait_css_attr(
            &format!("[data-testid='result-panel'][data-consumer='{consumer}']"),
            "data-phase",
            phases,
            Duration::from_secs(90),
        )
        .await
    }

    /// Waits for an element by `data-testid`.
    pub async fn find(&self, test_id: &str) -> Result<fantoccini::elements::Element, BoxError> {
        let selector = format!("[data-testid='{test_id}']");
        Ok(self
            .client
            .wait()
            .at_most(Duration::from_secs(45))
            .for_element(Locator::Css(&selector))
            .await?)
    }

    /// Types into the input or textarea named `name`, replacing what was there.
    pub async fn type_into(&self, name: &str, text: &str) -> Result<(), BoxError> {
        let field = self
            .client
            .find(Locator::Css(&format!("[name='{name}']")))
            .await?;
        let typed: Result<(), BoxError> = async {
            self.scroll_to(&field).await?;
            field.clear().await?;
            if !text.is_empty() {
                field.send_keys(text).await?;
            }
            Ok(())
        }
        .await;
        match typed {
            Ok(()) => Ok(()),
            Err(error) => Err(format!(
                "typing into {name}: {error}; the window then: {}",
                self.describe(&format!("typing-{name}")).await
            )
            .into()),
        }
    }

    /// What the window shows, for a failure message: the panels on screen, the notice, focus
    /// and visibility, and a screenshot.
    pub async fn describe(&self, shot: &str) -> String {
        let state = self
            .client
            .execute(
                "return JSON.stringify({
                   panels: [...document.querySelectorAll('[data-testid$=\"-panel\"], [data-testid=\"order-form\"]')]
                     .map(e => e.dataset.testid),
                   notice: document.querySelector('[data-testid=\"notice\"]')?.textContent ?? null,
                   visibility: document.visibilityState,
                   focused: document.hasFocus(),
                 });",
                vec![],
            )
            .await
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .unwrap_or_else(|e| format!("(unreadable: {e})"));
        match self.screenshot(shot).await {
            Ok(path) => format!("{state} ({})", path.display()),
            Err(e) => format!("{state} (no screenshot: {e})"),
        }
    }

    /// Picks an option of the select named `name` by value.
    pub async fn choose(&self, name: &str, value: &str) -> Result<(), BoxError> {
        let select = self
            .client
            .find(Locator::Css(&format!("select[name='{name}']")))
            .await?;
        self.scroll_to(&select).await?;
        select.select_by_value(value).await?;
        let chosen = select.prop("value").await?;
        if chosen.as_deref() != Some(value) {
            return Err(format!("select {name} shows {chosen:?}, not {value}").into());
        }
        Ok(())
    }

    /// Scrolls `element` to the middle of the work area (WebKitWebDriver does not scroll the
    /// work area, which scrolls between the banner and the status bar, by itself).
    pub async fn scroll_to(&self, element: &fantoccini::elements::Element) -> Result<(), BoxError> {
        self.client
            .execute(
                "arguments[0].scrollIntoView({block: 'center'});",
                vec![serde_json::to_value(element)?],
            )
            .await?;
        Ok(())
    }

    /// Clicks an element by `data-testid`, scrolled into view first (the work area scrolls
    /// between the banner and the status bar). Retries briefly while it is not yet clickable.
    pub async fn click(&self, test_id: &str) -> Result<(), BoxError> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let element = self.find(test_id).await?;
            self.client
                .execute(
                    "arguments[0].scrollIntoView({block: 'center'});",
                    vec![serde_json::to_value(&element)?],
                )
                .await?;
            match element.click().await {
                Ok(()) => return Ok(()),
                Err(error) if Instant::now() < deadline => {
                    let _ = error;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => return Err(format!("clicking {test_id}: {error}").into()),
            }
        }
    }

    /// Opens the review; fails with the form's messages if the form refuses.
    pub async fn review(&self) -> Result<(), BoxError> {
        // The form reports its submit to the test, so a click that did submit is never repeated:
        // a second press would land on the review that has taken the form's place.
        self.client
            .execute(
                "window.__reviewSubmitted = false;
                 document.querySelector(\"[data-testid='order-form']\")
                   ?.addEventListener('submit', () => { window.__reviewSubmitted = true; }, {once: true});",
                vec![],
            )
            .await?;
        self.click("review-button").await?;
        let deadline = Instant::now() + Duration::from_secs(45);
        let mut clicked_again = false;
        loop {
            // A click swallowed by the window taking focus changes nothing at all: press again,
            // as a person would.
            let submitted = self
                .client
                .execute("return window.__reviewSubmitted === true;", vec![])
                .await?
                .as_bool()
                .unwrap_or(true);
            if !clicked_again && !submitted && Instant::now() > deadline - Duration::from_secs(42) {
                clicked_again = true;
                eprintln!(
                    "review: the first press did not submit the form within 3 s; pressing again"
                );
                if let Ok(button) = self
                    .client
                    .find(Locator::Css("[data-testid='review-button']"))
                    .await
                {
                    let _ = button.click().await;
                }
            }
            if self
                .client
                .find(Locator::Css("[data-testid='review-panel']"))
                .await
                .is_ok()
            {
                return Ok(());
            }
            if let Ok(summary) = self
                .client
                .find(Locator::Css("[data-testid='order-form']"))
                .await
            {
                let errors = summary.find_all(Locator::Css(".field-errors")).await?;
                if !errors.is_empty() && Instant::now() > deadline - Duration::from_secs(40) {
                    let mut texts = Vec::new();
                    for e in errors {
                        texts.push(e.text().await?);
                    }
                    let shot = self.screenshot("review-refused").await?;
                    return Err(format!(
                        "the form refused the review ({}): {texts:?}",
                        shot.display()
                    )
                    .into());
                }
            }
            if Instant::now() > deadline {
                let shot = self.screenshot("review-failed").await?;
                let text = self.client.find(Locator::Css("main")).await?.text().await?;
                return Err(
                    format!("no review panel within 45 s ({}): {text}", shot.display()).into(),
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the element's attribute has the value.
    pub async fn wait_attr(&self, test_id: &str, attr: &str, value: &str) -> Result<(), BoxError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let element = self.find(test_id).await?;
            let current = element.attr(attr).await?;
            if current.as_deref() == Some(value) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(
                    format!("{test_id}[{attr}] is {current:?}, not {value:?} after 60 s").into(),
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Fills a complete, valid training order (Luhn-valid canary PAN of the demo debit BIN).
    pub async fn fill_valid_order(&self, consumer: &str) -> Result<(), BoxError> {
        self.find("order-form").await?;
        self.type_into("consumerId", consumer).await?;
        self.choose("cardProductId", "DEMO_DEBIT").await?;
        self.type_into("pan", CANARY_PAN).await?;
        self.type_into("exp", "0730").await?;
        self.type_into("name", "ANA GARCIA").await?;
        Ok(())
    }

    /// Runs axe-core in the page; returns the violations (id: help) found.
    pub async fn axe_violations(&self) -> Result<Vec<String>, BoxError> {
        let source = std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../ui/node_modules/axe-core/axe.min.js"),
        )?;
        self.client.execute(&source, vec![]).await?;
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                    .then(r => done(r.violations.map(v => v.id + ': ' + v.help + ' (' + v.nodes.length + ')')))
                    .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await?;
        Ok(serde_json::from_value(result)?)
    }

    /// Every file under the app's data directory (journal, logs, keys, WebView storage) that
    /// contains `needle`.
    pub fn files_containing(&self, needle: &str) -> Vec<PathBuf> {
        fn walk(dir: &std::path::Path, needle: &[u8], found: &mut Vec<PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, needle, found);
                } else if let Ok(bytes) = std::fs::read(&path)
                    && bytes.windows(needle.len()).any(|w| w == needle)
                {
                    found.push(path);
                }
            }
        }
        let mut found = Vec::new();
        walk(self.data_dir.path(), needle.as_bytes(), &mut found);
        found
    }

    /// Everything the window shows, as HTML.
    pub async fn page_html(&self) -> Result<String, BoxError> {
        Ok(self.client.source().await?)
    }

    /// The visible text of an element found by `data-testid` (waiting for it).
    pub async fn text(&self, test_id: &str) -> Result<String, BoxError> {
        Ok(self.find(test_id).await?.text().await?)
    }

    /// Saves a screenshot under `tests/out/` for people to look at.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf, BoxError> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../out");
        std::fs::create_dir_all(&dir)?;
        // WebKitWebDriver takes the picture at the page's next paint. Painted without GPU
        // compositing (rendering.rs), a page where nothing changes never paints again and the
        // screenshot waits for ever: while it is taken, a transparent pixel comes and goes
        // every 50 ms, so a paint is always due and the picture shows the page as it is.
        self.client
            .execute(
                "const pixel = document.createElement('div');
                 pixel.style.cssText = 'position:fixed;left:0;top:0;width:1px;height:1px;pointer-events:none';
                 window.__screenshotPixel = pixel;
                 window.__screenshotPaints = setInterval(
                   () => (pixel.isConnected ? pixel.remove() : document.body.append(pixel)), 50);",
                vec![],
            )
            .await?;
        let taken = tokio::time::timeout(Duration::from_secs(30), self.client.screenshot()).await;
        self.client
            .execute(
                "clearInterval(window.__screenshotPaints); window.__screenshotPixel.remove();",
                vec![],
            )
            .await?;
        let png =
            taken.map_err(|_| format!("the screenshot {name} was not taken within 30 s"))??;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png)?;
        Ok(path)
    }

    /// Ends the WebDriver session and the driver after the app was killed, keeping the data
    /// directory for the next start.
    pub async fn abandon_after_crash(mut self) -> tempfile::TempDir {
        let _ = self.client.clone().close().await;
        kill_group(&self.driver);
        let _ = self.driver.kill().await;
        self.data_dir
    }

    pub async fn stop(mut self) -> Result<(), BoxError> {
        let closed = self.client.close().await;
        kill_group(&self.driver);
        let _ = self.driver.kill().await;
        closed?;
        Ok(())
    }
}

/// Kills tauri-driver's process group: tauri-driver, WebKitWebDriver and the app it launched
/// (killing tauri-driver alone leaves WebKitWebDriver running, one more per test).
fn kill_group(driver: &Child) {
    if let Some(pid) = driver.id() {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The training desk's journal in a data directory (one journal per D1).
pub fn training_journal(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("journals/training-TRAINING01.sqlite3")
}

/// A Luhn-valid PAN in the training debit BIN, planted to prove it never leaks.
pub const CANARY_PAN: &str = "4000056655665556";

/// The training sandbox's `/_sandbox/…` control API, over its loopback TLS.
pub struct SandboxControl {
    http: reqwest::Client,
    base: String,
}

impl SandboxControl {
    /// The control API at `base` (e.g. `http://127.0.0.1:PORT/_sandbox`).
    pub fn at(base: impl Into<String>) -> Result<Self, BoxError> {
        let http = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .build()?;
        Ok(Self {
            http,
            base: base.into(),
        })
    }

    fn new(port: u16) -> Result<Self, BoxError> {
        // The training sandbox's CA is made fresh by the app at each start; this client only
        // ever talks to loopback.
        let http = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .build()?;
        Ok(Self {
            http,
            base: format!("https://127.0.0.1:{port}/_sandbox"),
        })
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> Result<(), BoxError> {
        let response = self
            .http
            .post(format!("{}/{path}", self.base))
            .json(&body)
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(format!("sandbox control {path}: {}", response.status()).into());
        }
        Ok(())
    }

    /// The body of the last order D1 accepted, without its `encryptedData`.
    pub async fn last_accepted(&self) -> Result<serde_json::Value, BoxError> {
        Ok(self
            .http
            .get(format!("{}/orders/last-accepted", self.base))
            .send()
            .await?
            .json()
            .await?)
    }

    /// Order requests that reached D1 so far (accepted or not, answered or still held).
    pub async fn received(&self) -> Result<u64, BoxError> {
        let value: serde_json::Value = self
            .http
            .get(format!("{}/counters", self.base))
            .send()
            .await?
            .json()
            .await?;
        Ok(value["ordersReceived"].as_u64().unwrap_or_default())
    }

    /// `(tokens issued, orders accepted)` so far.
    pub async fn counters(&self) -> Result<(u64, u64), BoxError> {
        let value: serde_json::Value = self
            .http
            .get(format!("{}/counters", self.base))
            .send()
            .await?
            .json()
            .await?;
        Ok((
            value["tokensIssued"].as_u64().unwrap_or_default(),
            value["ordersAccepted"].as_u64().unwrap_or_default(),
        ))
    }
}

fn free_port() -> Result<u16, BoxError> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
