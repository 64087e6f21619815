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

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub struct Desk {
    pub client: Client,
    driver: Child,
}

impl Desk {
    /// Starts the app under WebDriver.
    pub async fn start() -> Result<Self, BoxError> {
        let binary = std::env::var_os("ISSUANCE_DESK_BINARY")
            .map(PathBuf::from)
            .ok_or("ISSUANCE_DESK_BINARY is not set: run the e2e tests through scripts/e2e.sh")?;
        if !binary.exists() {
            return Err(format!("the app binary {} does not exist", binary.display()).into());
        }
        let port = free_port()?;
        let native_port = free_port()?;
        let driver = Command::new("tauri-driver")
            .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
            .args(["--native-driver", "/usr/bin/WebKitWebDriver"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
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
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            match ClientBuilder::rustls()?
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(error) if Instant::now() > deadline => {
                    return Err(format!("no WebDriver session within 30 s: {error}").into());
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        Ok(Self { client, driver })
    }

    /// Waits for an element by `data-testid`.
    pub async fn find(&self, test_id: &str) -> Result<fantoccini::elements::Element, BoxError> {
        let selector = format!("[data-testid='{test_id}']");
        Ok(self
            .client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(&selector))
            .await?)
    }

    /// Saves a screenshot under `tests/out/` for people to look at.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf, BoxError> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../out");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, self.client.screenshot().await?)?;
        Ok(path)
    }

    pub async fn stop(mut self) -> Result<(), BoxError> {
        let closed = self.client.close().await;
        let _ = self.driver.kill().await;
        closed?;
        Ok(())
    }
}

fn free_port() -> Result<u16, BoxError> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
