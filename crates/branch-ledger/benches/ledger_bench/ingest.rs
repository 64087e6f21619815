//! Sustained ingest from many desk connections: first as fast as they can (each append one
//! order's four events), then paced at a fixed total rate with an outbox's behaviour (each desk
//! sends every event that is due, in one append) to measure the sync lag: the time from an
//! event's creation to the ledger's acknowledgement.

use desk_domain::{CardId, ConsumerId, CorrelationId, IssuerRequestId, OperationId};
use std::time::{Duration, Instant};

use branch_ledger::{Event, Ledger};
use order_journal::{NewOrder, OrderState, PanLast4, Timestamp};

use crate::{Setup, load, summary};

/// One desk's stream of new orders: intent, sending, accepted, done; again.
struct Stream {
    desk: String,
    /// The first seq of this run: makes card ids unique when the benchmark runs again.
    run: i64,
    next_seq: i64,
    step: i64,
}

impl Stream {
    fn next(&mut self, at: Timestamp) -> Event {
        let order = self.step / 4;
        let card =
            &CardId::parse(format!("ing-{}-{}-{order}", self.desk, self.run)).expect("card id");
        let seq = self.next_seq;
        self.next_seq += 1;
        let phase = self.step % 4;
        self.step += 1;
        match phase {
            0 => Event::intent(
                seq,
                at,
                &NewOrder {
                    operator: "bench.teller".into(),
                    consumer_id: ConsumerId::parse(format!("CONS-ING-{order}"))
                        .expect("consumer id"),
                    product_id: "VISA_CLASSIC".into(),
                    station_id: "ST-1".into(),
                    issuance_type: "CREATION".into(),
                    pan_last4: PanLast4::new("4242").expect("last 4"),
                    card_id: card.clone(),
                    issuer_request_id: IssuerRequestId::parse(format!("req-ing-{order}"))
                        .expect("issuer request id"),
                    correlation_id: CorrelationId::parse(format!("corr-ing-{order}"))
                        .expect("correlation id"),
                },
            ),
            1 => Event::transition(seq, at, card, "bench.teller", OrderState::Sending),
            2 => Event::transition(seq, at, card, "bench.teller", OrderState::Accepted).with(|t| {
                t.operation_id =
                    Some(OperationId::parse(format!("op-ing-{order}")).expect("operation id"))
            }),
            _ => Event::transition(seq, at, card, "bench.teller", OrderState::Done)
                .with(|t| t.d1_status = Some("CARD_PROD_DONE".into())),
        }
    }
}

async fn connect_desks(setup: &Setup) -> Vec<(Ledger, Stream)> {
    let started = Instant::now();
    let mut handles = Vec::new();
    for i in 0..setup.connections as i64 {
        let b = (i * 7 + 3) % setup.branches;
        let desk = load::desk(b, (i / setup.branches) % load::DESKS_PER_BRANCH);
        let options = setup.desk_options(&desk);
        handles.push(tokio::spawn(async move {
            let ledger = Ledger::connect(&options).await.expect("desk connects");
            let last = ledger.last_seq().await.expect("last seq");
            (
                ledger,
                Stream {
                    desk,
                    run: last + 1,
                    next_seq: last + 1,
                    step: 0,
                },
            )
        }));
    }
    let mut desks = Vec::new();
    for h in handles {
        desks.push(h.await.expect("connect task"));
    }
    println!(
        "\n## Ingest: {} desk connections (TLS + certificate) opened in {:.1} s",
        desks.len(),
        started.elapsed().as_secs_f64()
    );
    desks
}

/// Every desk appends one order (4 events) per call, back to back, for `seconds`.
async fn flat_out(desks: Vec<(Ledger, Stream)>, seconds: u64) -> Vec<(Ledger, Stream)> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (ledger, mut stream) in desks {
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut events = 0u64;
            while Instant::now() < deadline {
                let now = Timestamp::now();
                let batch: Vec<Event> = (0..4).map(|_| stream.next(now)).collect();
                let t = Instant::now();
                ledger.append(&batch).await.expect("append");
                latencies.push(t.elapsed());
                events += 4;
            }
            (ledger, stream, latencies, events)
        }));
    }
    let mut all = Vec::new();
    let mut total = 0;
    let mut desks = Vec::new();
    for t in tasks {
        let (ledger, stream, latencies, events) = t.await.expect("task");
        all.extend(latencies);
        total += events;
        desks.push((ledger, stream));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (p50, p95, max) = summary(all);
    println!(
        "flat out, 4 events per append: {total} events in {elapsed:.1} s = **{:.0} events/s** \
         ({:.0} appends/s); append latency p50 {p50:.1} ms, p95 {p95:.1} ms, max {max:.1} ms",
        total as f64 / elapsed,
        total as f64 / 4.0 / elapsed
    );
    desks
}

/// Events are created at `rate` per second in total (evenly over the desks); each desk sends
/// whatever is due in one append, like an outbox. Lag = acknowledgement − creation.
async fn paced(desks: Vec<(Ledger, Stream)>, rate: u64, seconds: u64) {
    let n = desks.len() as u64;
    let interval = Duration::from_secs_f64(n as f64 / rate as f64);
    let start = Instant::now() + Duration::from_millis(200);
    let end = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for (i, (ledger, mut stream)) in desks.into_iter().enumerate() {
        let offset = interval.mul_f64(i as f64 / n as f64);
        tasks.push(tokio::spawn(async move {
            let mut lags = Vec::new();
            let mut next = start + offset;
            let mut appends = 0u64;
            while next < end {
                tokio::time::sleep_until(next.into()).await;
                // Everything created up to now is in the outbox.
                let now = Instant::now();
                let mut due = Vec::new();
                while next <= now && next < end {
                    due.push(next);
                    next += interval;
                }
                let stamp = Timestamp::now();
                let batch: Vec<Event> = due.iter().map(|_| stream.next(stamp)).collect();
                ledger.append(&batch).await.expect("append");
                appends += 1;
                let acked = Instant::now();
                lags.extend(due.iter().map(|created| acked - *created));
            }
            (lags, appends)
        }));
    }
    let mut lags = Vec::new();
    let mut appends = 0;
    for t in tasks {
        let (l, a) = t.await.expect("task");
        lags.extend(l);
        appends += a;
    }
    let events = lags.len();
    let (p50, p95, max) = summary(lags);
    println!(
        "paced at {rate} events/s over {n} desks ({:.0} ms between a desk's events) for {seconds} s: \
         {events} events in {appends} appends ({:.0} events/s); sync lag p50 {p50:.1} ms, \
         **p95 {p95:.1} ms**, max {max:.1} ms (target ≤ 2000 ms)",
        interval.as_secs_f64() * 1000.0,
        events as f64 / seconds as f64
    );
}

pub async fn run(setup: &Setup) {
    let desks = connect_desks(setup).await;
    let desks = flat_out(desks, setup.seconds).await;
    paced(desks, setup.rate, setup.seconds).await;
}
