use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::Environment;

/// Managed state. `Clone` and internally synchronized: commands never lock it.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    environment: Environment,
    started: Instant,
    ui_ready_after: OnceLock<Duration>,
}

impl AppState {
    pub fn new(environment: Environment, started: Instant) -> Self {
        Self {
            inner: Arc::new(Inner {
                environment,
                started,
                ui_ready_after: OnceLock::new(),
            }),
        }
    }

    pub fn environment(&self) -> Environment {
        self.inner.environment
    }

    /// Records when the first screen became interactive; only the first call counts.
    pub fn mark_ui_ready(&self) -> Option<Duration> {
        let elapsed = self.inner.started.elapsed();
        self.inner.ui_ready_after.set(elapsed).ok().map(|()| elapsed)
    }
}
