use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use desk_config::{Config, LoadedConfig};
use order_workflow::{OrderDesk, WorkflowError};
use tokio::sync::watch;

use crate::IpcError;

/// Managed state. `Clone` and internally synchronized: commands never lock it.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Result<Arc<LoadedConfig>, IpcError>,
    started: Instant,
    ui_ready_after: OnceLock<Duration>,
    /// The order desk, once its D1 is ready (starting it must not delay the window).
    desk: watch::Sender<Option<Result<OrderDesk, IpcError>>>,
    /// The training D1, kept running for the app's lifetime.
    sandbox: OnceLock<d1_sandbox::SandboxHandle>,
    /// Practice mode: set only when the desk runs on the training D1.
    practice: OnceLock<order_workflow::Practice>,
}

impl AppState {
    pub fn new(config: Result<Arc<LoadedConfig>, IpcError>, started: Instant) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                started,
                ui_ready_after: OnceLock::new(),
                desk: watch::Sender::new(None),
                sandbox: OnceLock::new(),
                practice: OnceLock::new(),
            }),
        }
    }

    /// The loaded configuration, or why there is none.
    pub fn config(&self) -> Result<&Config, IpcError> {
        match &self.inner.config {
            Ok(loaded) => Ok(&loaded.config),
            Err(error) => Err(error.clone()),
        }
    }

    /// Records when the first screen became interactive; only the first call counts.
    pub fn mark_ui_ready(&self) -> Option<Duration> {
        let elapsed = self.inner.started.elapsed();
        self.inner
            .ui_ready_after
            .set(elapsed)
            .ok()
            .map(|()| elapsed)
    }

    pub fn keep_sandbox(&self, sandbox: d1_sandbox::SandboxHandle) {
        let _ = self.inner.sandbox.set(sandbox);
    }

    /// Practice mode of the training D1 (never called for another environment).
    pub fn keep_practice(&self, practice: order_workflow::Practice) {
        let _ = self.inner.practice.set(practice);
    }

    /// Practice mode, when the desk runs on the training D1.
    pub fn practice(&self) -> Option<&order_workflow::Practice> {
        self.inner.practice.get()
    }

    /// Makes the desk (or the reason there is none) available to commands.
    pub fn set_desk(&self, desk: Result<OrderDesk, IpcError>) {
        self.inner.desk.send_replace(Some(desk));
    }

    /// The order desk, waiting while it starts.
    pub async fn desk(&self) -> Result<OrderDesk, IpcError> {
        let mut receiver = self.inner.desk.subscribe();
        let ready = receiver
            .wait_for(Option::is_some)
            .await
            .map_err(|_| IpcError::from(WorkflowError::DeskStopped))?;
        match ready.as_ref() {
            Some(result) => result.clone(),
            None => Err(WorkflowError::DeskStopped.into()),
        }
    }
}
