//! `operations:production` and `productionStatus`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::api_error::ApiError;
use crate::auth::authorize;
use crate::carddata::{self, product_accepts_pan};
use crate::config::ProductConfig;
use crate::production::Operation;
use crate::server::ConnKill;
use crate::state::{Shared, lock};

fn id_chars(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Path patterns, the issuer's existence (404) and the token's issuer (403).
fn check_path(
    s: &Shared,
    token_issuer: &str,
    issuer_id: &str,
    card_id: &str,
) -> Result<(), ApiError> {
    if issuer_id.chars().count() != 10 {
        return Err(ApiError::invalid_format("issuerId"));
    }
    if !id_chars(card_id, 48) {
        return Err(ApiError::invalid_format("cardId"));
    }
    if !s.issuers.contains(issuer_id) {
        return Err(ApiError::not_found("issuerId not found"));
    }
    if token_issuer != issuer_id {
        return Err(ApiError::forbidden(
            "the access token does not allow access to this issuer",
        ));
    }
    Ok(())
}

pub(crate) async fn produce(
    State(s): State<Arc<Shared>>,
    Path((issuer_id, card_id)): Path<(String, String)>,
    kill: Option<Extension<ConnKill>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    s.orders_received.fetch_add(1, Ordering::Relaxed);
    let (drop_connection, gateway, hold) = {
        let mut faults = lock(&s.faults);
        let drop_connection = take_one(&mut faults.drop_after_read);
        let gateway = take_one(&mut faults.gateway_next)
            .then_some((faults.gateway_status, faults.gateway_forwards));
        let hold = take_one(&mut faults.hold_next).then_some(faults.hold);
        (drop_connection, gateway, hold)
    };
    if let Some((status, false)) = gateway {
        tracing::warn!(card_id = %card_id, status, "fault: a gateway answers without forwarding the order");
        return gateway_answer(status);
    }
    let result = match hold {
        None => accept(&s, &issuer_id, &card_id, &headers, &body),
        Some(hold) => {
            // D1 takes its time, and finishes the order even when the caller has gone: the work
            // runs in its own task, which a closed connection does not cancel.
            tracing::warn!(card_id = %card_id, hold_ms = hold.as_millis() as u64, "fault: holding the order");
            let shared = Arc::clone(&s);
            let card = card_id.clone();
            let work = tokio::spawn(async move {
                tokio::time::sleep(hold).await;
                accept(&shared, &issuer_id, &card, &headers, &body)
            });
            work.await.unwrap_or_else(|_| Err(ApiError::internal()))
        }
    };
    if let Some((status, true)) = gateway {
        tracing::warn!(card_id = %card_id, status, recorded = result.is_ok(), "fault: a gateway loses D1's answer");
        return gateway_answer(status);
    }
    if drop_connection && let Some(Extension(kill)) = kill {
        let outcome = if result.is_ok() {
            "recorded"
        } else {
            "rejected"
        };
        tracing::warn!(card_id = %card_id, outcome, "fault: dropping the connection without an answer");
        kill.0.notify_one();
        std::future::pending::<()>().await;
    }
    match result {
        Ok(operation_id) => (
            StatusCode::ACCEPTED,
            Json(json!({ "operationId": operation_id })),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

fn take_one(count: &mut usize) -> bool {
    let take = *count > 0;
    if take {
        *count -= 1;
    }
    take
}

/// What a gateway in front of D1 says when it fails: its own status and an HTML page.
fn gateway_answer(status: u16) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
        [(axum::http::header::CONTENT_TYPE, "text/html")],
        "<html><body><h1>Gateway error</h1></body></html>",
    )
        .into_response()
}

fn str_at<'a>(body: &'a Value, pointer: &str) -> Option<&'a str> {
    body.pointer(pointer).and_then(Value::as_str)
}

fn find_product<'a>(s: &'a Shared, id: &str) -> Option<&'a ProductConfig> {
    s.products.iter().find(|p| p.id == id)
}

/// Every check of an order, in D1's order; records and returns the operation id.
fn accept(
    s: &Shared,
    issuer_id: &str,
    card_id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, ApiError> {
    let token_issuer = authorize(s, headers)?;
    check_path(s, &token_issuer, issuer_id, card_id)?;
    let body: Value = serde_json::from_slice(body)
        .map_err(|_| ApiError::bad_request("the request body is not JSON"))?;
    if !body.is_object() {
        return Err(ApiError::bad_request(
            "the request body is not a JSON object",
        ));
    }
    match body.get("distributionChannel").and_then(Value::as_str) {
        Some("INSTANT") => {}
        Some("THALES" | "CENTRAL") => return Err(ApiError::not_allowed("distributionChannel")),
        _ => return Err(ApiError::invalid_format("distributionChannel")),
    }
    if let Some(field) = s.schema.first_error(&body) {
        return Err(ApiError::invalid_format(field));
    }
    let issuer_request_id = match body.get("issuerRequestId") {
        None => None,
        Some(Value::String(id)) if id_chars(id, 64) => Some(id.clone()),
        Some(_) => return Err(ApiError::invalid_format("issuerRequestId")),
    };

    let card = carddata::decrypt(
        str_at(&body, "/encryptedData").unwrap_or_default(),
        &s.decrypters,
    )?;

    let named_product = match str_at(&body, "/cardProductId") {
        Some(id) => {
            Some(find_product(s, id).ok_or_else(|| ApiError::invalid_value("cardProductId"))?)
        }
        None => None,
    };
    let station = str_at(&body, "/persoStation").unwrap_or_default();
    if !s.stations.contains(station) {
        return Err(ApiError::invalid_value("persoStation"));
    }
    let issuance = str_at(&body, "/services/issuance").unwrap_or_default();
    if !s.services.issuance.iter().any(|i| i == issuance) {
        return Err(ApiError::invalid_value("services.issuance"));
    }
    let optional_services = [
        ("priority", &s.services.priority),
        ("delivery", &s.services.delivery),
        ("packaging", &s.services.packaging),
        ("cardCarrier", &s.services.card_carrier),
    ];
    for (name, known) in optional_services {
        if let Some(value) = str_at(&body, &format!("/services/{name}"))
            && !known.iter().any(|k| k == value)
        {
            return Err(ApiError::invalid_value(format!("services.{name}")));
        }
    }
    let pan = card.pan()?;
    let product = match named_product {
        Some(p) => p,
        None => s
            .products
            .iter()
            .find(|p| product_accepts_pan(p, pan))
            .ok_or_else(|| ApiError::invalid_value("encryptedData.pan"))?,
    };
    if !product.issuance.iter().any(|i| i == issuance) {
        return Err(ApiError::not_allowed("services.issuance"));
    }
    let config = str_at(&body, "/paymentApplication/config").unwrap_or_default();
    if !product
        .payment_application_configs
        .iter()
        .any(|c| c == config)
    {
        return Err(ApiError::invalid_value("paymentApplication.config"));
    }
    card.check(product)?;
    drop(card);

    let mut operations = lock(&s.operations);
    let mut faults = lock(&s.faults);
    if take_one(&mut faults.refuse_next) {
        tracing::warn!(card_id = %card_id, field = %faults.refuse_field, "fault: refusing a field");
        return Err(ApiError::invalid_value(faults.refuse_field.clone()));
    }
    if let Some(existing) = operations.for_card_mut(issuer_id, card_id) {
        for op in existing.iter_mut() {
            op.settle(s.clock, &faults.stations_offline);
        }
        if existing.iter().any(Operation::is_blocking) {
            return Err(ApiError::not_allowed("cardId"));
        }
    }
    let data_exception = (faults.data_exception_next > 0).then(|| {
        faults.data_exception_next -= 1;
        faults.data_exception_reason.clone()
    });
    let mut op = Operation::new(
        card_id.to_owned(),
        issuer_request_id,
        station.to_owned(),
        data_exception,
    );
    if take_one(&mut faults.station_exception_next) {
        op.station_exception = Some(faults.station_exception_reason.clone());
    }
    op.settle(s.clock, &faults.stations_offline);
    let operation_id = op.operation_id.clone();
    operations.insert(issuer_id, op);
    s.orders_accepted.fetch_add(1, Ordering::Relaxed);
    let mut request = body;
    if let Some(fields) = request.as_object_mut() {
        fields.remove("encryptedData");
    }
    *lock(&s.last_accepted_request) = Some(request);
    tracing::info!(issuer_id, card_id, operation_id = %operation_id, "order accepted");
    Ok(operation_id)
}

pub(crate) async fn production_status(
    State(s): State<Arc<Shared>>,
    Path((issuer_id, card_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    match status(&s, &issuer_id, &card_id, &headers) {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

fn status(
    s: &Shared,
    issuer_id: &str,
    card_id: &str,
    headers: &HeaderMap,
) -> Result<Value, ApiError> {
    let token_issuer = authorize(s, headers)?;
    check_path(s, &token_issuer, issuer_id, card_id)?;
    let mut operations = lock(&s.operations);
    let faults = lock(&s.faults);
    let ops = operations
        .for_card_mut(issuer_id, card_id)
        .ok_or_else(|| ApiError::not_found("no operation for this cardId"))?;
    let list: Vec<Value> = ops
        .iter_mut()
        .map(|op| {
            op.settle(s.clock, &faults.stations_offline);
            op.to_json()
        })
        .collect();
    Ok(json!({ "operations": list }))
}
