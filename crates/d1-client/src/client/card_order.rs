//! `POST …/physicalCards/{cardId}/operations:production`: orders one card.

use reqwest::StatusCode;
use serde::Deserialize;

use super::D1Client;
use super::models::{OrderOutcome, UnknownReason};
use super::transport::{Exchange, ensure_success};
use crate::error::{D1Error, Endpoint};
use crate::order::PreparedOrder;
use desk_domain::OperationId;

#[derive(Deserialize)]
struct AcceptedBody {
    #[serde(rename = "operationId")]
    operation_id: OperationId,
}

impl D1Client {
    /// Orders the card (`POST …/operations:production`). The same body (ids and JWE) is sent on
    /// every retry. Returns [`OrderOutcome::Unknown`] when the request may have reached D1 but no
    /// answer came: reconcile with [`D1Client::production_status`], never resend blindly.
    pub async fn order_card(&self, order: &PreparedOrder) -> Result<OrderOutcome, D1Error> {
        let url = self.card_url(order.card_id(), "operations:production");
        let correlation_id = order.correlation_id();
        let token = self.token().await?;
        tracing::info!(correlation_id = %correlation_id, card_id = %order.card_id(), "d1 order sending");
        let exchange = self
            .exchange(Endpoint::Order, correlation_id, false, Some(token), |t| {
                Ok(self
                    .authorized(self.inner.http.post(&url), t)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(order.body().to_vec()))
            })
            .await?;
        let unknown = |reason| OrderOutcome::Unknown {
            card_id: order.card_id().clone(),
            issuer_request_id: order.issuer_request_id().clone(),
            correlation_id: correlation_id.clone(),
            reason,
        };
        match exchange {
            Exchange::Unknown(reason) => Ok(unknown(reason)),
            Exchange::Answer {
                status,
                body,
                attempts,
            } if status == StatusCode::ACCEPTED => {
                match body
                    .as_deref()
                    .and_then(|b| serde_json::from_slice::<AcceptedBody>(b).ok())
                {
                    Some(accepted) => Ok(OrderOutcome::Accepted {
                        operation_id: accepted.operation_id,
                        correlation_id: correlation_id.clone(),
                        attempts,
                    }),
                    None => Ok(unknown(UnknownReason::UnreadableAcceptance)),
                }
            }
            Exchange::Answer { status, body, .. } => Err(ensure_success(
                status,
                body.as_deref(),
                correlation_id.clone(),
                Endpoint::Order,
            )),
        }
    }
}
