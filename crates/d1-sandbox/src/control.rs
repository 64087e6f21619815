//! Faults and counters, in process ([`SandboxControl`]) and over HTTP (`/_sandbox/…`).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::state::{Shared, lock};

/// Handle on a running sandbox's faults and counters. Cheap to clone; all clones act on the
/// same sandbox.
#[derive(Clone)]
pub struct SandboxControl {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SandboxControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxControl").finish_non_exhaustive()
    }
}

impl SandboxControl {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// The next `n` banking calls (orders and status reads) answer `status` at once: 503 with
    /// no body, 500 with `INTERNAL_ERROR`, any other status with no body. Nothing is recorded.
    pub fn fail_next(&self, n: usize, status: u16) {
        let mut f = lock(&self.shared.faults);
        f.fail_next = n;
        f.fail_status = status;
    }

    /// Like [`Self::fail_next`], with a `Retry-After: seconds` header on each answer.
    pub fn fail_next_retry_after(&self, n: usize, status: u16, retry_after_seconds: u64) {
        let mut f = lock(&self.shared.faults);
        f.fail_next = n;
        f.fail_status = status;
        f.fail_retry_after = Some(retry_after_seconds);
    }

    /// The next `n` order requests meet a failing gateway that answers `status` (e.g. 502, 504)
    /// with an HTML page: after D1 processed the order (`forwards`: an acceptable order IS
    /// recorded, the answer is lost) or without forwarding it at all.
    pub fn gateway_next(&self, n: usize, status: u16, forwards: bool) {
        let mut f = lock(&self.shared.faults);
        f.gateway_next = n;
        f.gateway_status = status;
        f.gateway_forwards = forwards;
    }

    /// The next `n` order requests are held for `hold` before D1 processes them. D1 finishes
    /// the order even when the caller has given up or died meanwhile.
    pub fn hold_orders_next(&self, n: usize, hold: Duration) {
        let mut f = lock(&self.shared.faults);
        f.hold_next = n;
        f.hold = hold;
    }

    /// The next `n` order requests are read and processed (an acceptable order IS recorded),
    /// then the connection is closed without an answer: the client's outcome is unknown.
    pub fn drop_after_read_next(&self, n: usize) {
        lock(&self.shared.faults).drop_after_read = n;
    }

    /// Latency added before every D1 answer (token, order, status).
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.shared.faults).latency = latency;
    }

    /// Orders for this station end in CARD_PROD_EXCEPTION with `reason` when they reach the
    /// station (the READY → DONE step), until [`Self::station_online`].
    pub fn station_offline(&self, station_id: impl Into<String>, reason: impl Into<String>) {
        lock(&self.shared.faults)
            .stations_offline
            .insert(station_id.into(), reason.into());
    }

    /// Brings a station back.
    pub fn station_online(&self, station_id: &str) {
        lock(&self.shared.faults)
            .stations_offline
            .remove(station_id);
    }

    /// The next `n` accepted orders end in DATA_EXCEPTION with `reason` at their first step.
    pub fn data_exception_next(&self, n: usize, reason: impl Into<String>) {
        let mut f = lock(&self.shared.faults);
        f.data_exception_next = n;
        f.data_exception_reason = reason.into();
    }

    /// The next `n` accepted orders end in CARD_PROD_EXCEPTION with `reason` when they reach
    /// their station (the READY → DONE step), whatever the station; later orders are made.
    pub fn station_exception_next(&self, n: usize, reason: impl Into<String>) {
        let mut f = lock(&self.shared.faults);
        f.station_exception_next = n;
        f.station_exception_reason = reason.into();
    }

    /// The next `n` orders that pass every check are refused with 400 FIELD_INVALID_VALUE
    /// naming `field` (e.g. `consumerId`). Nothing is recorded.
    pub fn refuse_next(&self, n: usize, field: impl Into<String>) {
        let mut f = lock(&self.shared.faults);
        f.refuse_next = n;
        f.refuse_field = field.into();
    }

    /// Every token issued so far becomes invalid (the next banking call gets 401).
    pub fn expire_tokens(&self) {
        lock(&self.shared.tokens).clear();
    }

    /// Every pending operation moves one production step (for the stepped clock; works with
    /// any clock).
    pub fn advance_production(&self) {
        let mut operations = lock(&self.shared.operations);
        let faults = lock(&self.shared.faults);
        operations.advance_all(&faults.stations_offline);
    }

    /// Clears every fault (latency, failures, drops, offline stations, data exceptions).
    pub fn clear_faults(&self) {
        let mut f = lock(&self.shared.faults);
        let token_actual_lifetime = f.token_actual_lifetime;
        *f = crate::state::Faults {
            fail_status: 503,
            token_actual_lifetime,
            ..Default::default()
        };
    }

    /// Access tokens issued since start.
    pub fn tokens_issued(&self) -> usize {
        self.shared.tokens_issued.load(Ordering::Relaxed)
    }

    /// Order requests that reached D1 since start, before any check (accepted or not).
    pub fn orders_received(&self) -> usize {
        self.shared.orders_received.load(Ordering::Relaxed)
    }

    /// Orders accepted (202, or recorded before a dropped connection) since start.
    pub fn orders_accepted(&self) -> usize {
        self.shared.orders_accepted.load(Ordering::Relaxed)
    }

    /// The request body of the last accepted order, without its `encryptedData`.
    pub fn last_accepted_request(&self) -> Option<serde_json::Value> {
        lock(&self.shared.last_accepted_request).clone()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FailNext {
    count: usize,
    status: u16,
    #[serde(default)]
    retry_after_seconds: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Gateway {
    count: usize,
    status: u16,
    forwards: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Hold {
    count: usize,
    millis: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Count {
    count: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Latency {
    millis: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reason {
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefuseField {
    count: usize,
    field: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DataException {
    count: usize,
    reason: String,
}

fn control(s: &Arc<Shared>) -> SandboxControl {
    SandboxControl::new(Arc::clone(s))
}

fn done() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// The `/_sandbox/…` routes (JSON bodies, 204 on success).
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/_sandbox/faults/fail-next",
            post(
                |State(s): State<Arc<Shared>>, Json(b): Json<FailNext>| async move {
                    if !(400..=599).contains(&b.status) {
                        return (
                        StatusCode::BAD_REQUEST,
                        Json(json!({"error": "status must be an HTTP error status (500 or 503)"})),
                    )
                        .into_response();
                    }
                    match b.retry_after_seconds {
                        Some(seconds) => control(&s).fail_next_retry_after(b.count, b.status, seconds),
                        None => control(&s).fail_next(b.count, b.status),
                    }
                    done()
                },
            ),
        )
        .route(
            "/_sandbox/faults/gateway",
            post(
                |State(s): State<Arc<Shared>>, Json(b): Json<Gateway>| async move {
                    if !(400..=599).contains(&b.status) {
                        return (
                            StatusCode::BAD_REQUEST,
                            Json(json!({"error": "status must be an HTTP error status (e.g. 502, 504)"})),
                        )
                            .into_response();
                    }
                    control(&s).gateway_next(b.count, b.status, b.forwards);
                    done()
                },
            ),
        )
        .route(
            "/_sandbox/faults/hold",
            post(
                |State(s): State<Arc<Shared>>, Json(b): Json<Hold>| async move {
                    control(&s).hold_orders_next(b.count, Duration::from_millis(b.millis));
                    done()
                },
            ),
        )
        .route(
            "/_sandbox/faults/drop-after-read",
            post(
                |State(s): State<Arc<Shared>>, Json(b): Json<Count>| async move {
                    control(&s).drop_after_read_next(b.count);
                    done()
                },
            ),
        )
        .route(
            "/_sandbox/faults/latency",
            post(
                |State(s): State<Arc<Shared>>, Json(b): Json<Latency>| async move {
                    control(&s).set_latency(Duration::from_millis(b.millis));
                    done()
                },
            ),
        )
        .route(
            "/_sandbox/faults/data-exception",
            post(
                |State(s): State<Arc<Shared>>, Json(b): Json<DataException>| async move {
                    control(&s).data_exception_next(b.count, b.reason);
                    done()
                },
            ),
        )
        .route(
            "/_sandbox/faults/station-exception",
            post(
                |State(s): State<Arc<Shared>>, Json(b): Json<DataException>| async move {
                    control(&s).station_exception_next(b.count, b.reason);
                    done()
                },
            ),
        )
        .route(
            "/_sandbox/faults/refuse-field",
            post(
                |State(s): State<Arc<Shared>>, Json(b): Json<RefuseField>| async move {
                    control(&s).refuse_next(b.count, b.field);
                    done()
                },
            ),
        )
        .route(
            "/_sandbox/faults/clear",
            post(|State(s): State<Arc<Shared>>| async move {
                control(&s).clear_faults();
                done()
            }),
        )
        .route(
            "/_sandbox/stations/{station}/offline",
            post(
                |State(s): State<Arc<Shared>>,
                 Path(station): Path<String>,
                 Json(b): Json<Reason>| async move {
                    control(&s).station_offline(station, b.reason);
                    done()
                },
            ),
        )
        .route(
            "/_sandbox/stations/{station}/online",
            post(
                |State(s): State<Arc<Shared>>, Path(station): Path<String>| async move {
                    control(&s).station_online(&station);
                    done()
                },
            ),
        )
        .route(
            "/_sandbox/tokens/expire",
            post(|State(s): State<Arc<Shared>>| async move {
                control(&s).expire_tokens();
                done()
            }),
        )
        .route(
            "/_sandbox/production/advance",
            post(|State(s): State<Arc<Shared>>| async move {
                control(&s).advance_production();
                done()
            }),
        )
        .route(
            "/_sandbox/counters",
            get(|State(s): State<Arc<Shared>>| async move {
                let c = control(&s);
                Json(json!({
                    "tokensIssued": c.tokens_issued(),
                    "ordersAccepted": c.orders_accepted(),
                    "ordersReceived": c.orders_received(),
                }))
            }),
        )
        .route(
            "/_sandbox/orders/last-accepted",
            get(|State(s): State<Arc<Shared>>| async move {
                Json(control(&s).last_accepted_request())
            }),
        )
}
