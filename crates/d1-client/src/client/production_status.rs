//! `GET …/physicalCards/{cardId}/productionStatus`: the latest production operation of a card.

use desk_domain::{CardId, CorrelationId};
use reqwest::StatusCode;
use serde::Deserialize;

use super::D1Client;
use super::models::ProductionOperation;
use super::transport::{Exchange, ensure_success};
use crate::error::{D1Error, Endpoint};

#[derive(Deserialize)]
struct StatusBody {
    operations: Vec<ProductionOperation>,
}

impl D1Client {
    /// The latest production operation of `card_id` (`GET …/productionStatus`). Unknown status
    /// values are preserved ([`DetailsStatus::Other`]). A 404 means D1 has no operation for it.
    pub async fn production_status(
        &self,
        card_id: &CardId,
        correlation_id: &CorrelationId,
    ) -> Result<ProductionOperation, D1Error> {
        let url = self.card_url(card_id, "productionStatus");
        let token = self.token().await?;
        let exchange = self
            .exchange(Endpoint::Status, correlation_id, true, Some(token), |t| {
                Ok(self.authorized(self.inner.http.get(&url), t))
            })
            .await?;
        let (status, body) = match exchange {
            Exchange::Answer { status, body, .. } => (status, body),
            Exchange::Unknown(_) => {
                return Err(D1Error::Transport {
                    correlation_id: correlation_id.clone(),
                    endpoint: Endpoint::Status,
                });
            }
        };
        if status != StatusCode::OK {
            return Err(ensure_success(
                status,
                body.as_deref(),
                correlation_id.clone(),
                Endpoint::Status,
            ));
        }
        let invalid = || D1Error::InvalidResponse {
            correlation_id: correlation_id.clone(),
            endpoint: Endpoint::Status,
        };
        let parsed: StatusBody = body
            .as_deref()
            .and_then(|b| serde_json::from_slice(b).ok())
            .ok_or_else(invalid)?;
        // The most recent operation: latest startTime (ISO 8601), the last listed on ties.
        let mut latest: Option<ProductionOperation> = None;
        for op in parsed.operations {
            if latest
                .as_ref()
                .is_none_or(|l| op.start_time >= l.start_time)
            {
                latest = Some(op);
            }
        }
        latest.ok_or(D1Error::NotFound {
            correlation_id: correlation_id.clone(),
            endpoint: Endpoint::Status,
        })
    }
}
