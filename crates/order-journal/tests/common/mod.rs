#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use desk_domain::{CardId, ConsumerId, CorrelationId, IssuerRequestId, OperationId};
use order_journal::{Journal, NewOrder, PanLast4, Timestamp};

/// 2026-11-25T00:00:00Z
pub const T0: i64 = 1_795_564_800_000;
pub const HOUR: i64 = 3_600_000;
pub const DAY: i64 = 24 * HOUR;
pub const CANARY: &str = "4000056655665556";

/// A settable clock shared with the journal.
#[derive(Clone)]
pub struct TestClock(Arc<AtomicI64>);

impl TestClock {
    pub fn new(ms: i64) -> Self {
        Self(Arc::new(AtomicI64::new(ms)))
    }
    pub fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
    pub fn install(&self, j: Journal) -> Journal {
        let c = self.0.clone();
        j.with_clock(Arc::new(move || {
            Timestamp::from_millis(c.load(Ordering::SeqCst))
        }))
    }
}

pub fn mem() -> (Journal, TestClock) {
    let clock = TestClock::new(T0);
    let j = clock.install(Journal::open_in_memory().unwrap());
    (j, clock)
}

pub fn order(i: u32) -> NewOrder {
    NewOrder {
        operator: format!("teller{}", i % 3),
        consumer_id: ConsumerId::parse(format!("CUST{i:05}")).unwrap(),
        product_id: format!("PRODUCT_{}", i % 2),
        station_id: format!("STATION-{}", i % 4),
        issuance_type: if i.is_multiple_of(2) {
            "NEW"
        } else {
            "REPLACEMENT"
        }
        .to_owned(),
        pan_last4: PanLast4::new(&format!("{:04}", (i * 37) % 10_000)).unwrap(),
        card_id: card(i),
        issuer_request_id: IssuerRequestId::parse(format!("req-{i:05}")).unwrap(),
        correlation_id: CorrelationId::parse(format!("corr-{i:05}")).unwrap(),
    }
}

pub fn card(i: u32) -> CardId {
    cid(&format!("card-{i:05}"))
}

/// A card id for a test (D1's pattern).
pub fn cid(s: &str) -> CardId {
    CardId::parse(s).unwrap()
}

/// An operation id for a test (D1's pattern).
pub fn op(s: &str) -> OperationId {
    OperationId::parse(s).unwrap()
}
