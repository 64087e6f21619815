//! The app's own work per order, as the target counts it ("validate + encrypt + sign + journal",
//! network excluded), and its parts: the JWE, the request checks, the ES256 assertion, and the
//! journal commits before the send (`record_intent`, then `mark_sending`, fsynced in the app) on
//! a journal file on this machine's disk, beside the alternatives (both fsynced, neither).
//!
//! ```text
//! cargo bench -p d1-client --bench order                 # every row (≈ 1 min)
//! cargo bench -p d1-client --bench order -- jwe 3000     # the JWE only (bench-all's pairs)
//! cargo bench -p d1-client --bench order -- export-tokens FILE 200
//! ```
//!
//! Rows print as `name: n=… median=…µs p95=…µs min=…µs max=…µs` plus one machine-readable
//! `RESULT|name|n|median|p95|min|max` line (µs) that `scripts/bench-all.sh` collects. The three
//! journal variants run interleaved (one of each per round) so disk noise hits them alike.
//! `export-tokens` writes a throw-away private JWK, tokens and their plaintexts for the
//! independent check by Python jwcrypto (`jwe_jwcrypto.py --check FILE`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::panic
)]

use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

use d1_client::{
    CardData, CardDataInput, CardRequestInstant, EncryptionKey, IssuerId, OrderIds,
    PaymentApplication, PreparedOrder, ProductRules, Services, SigningKey, bench_support,
    encrypt_card_data, validate_request,
};
use josekit::jwe::ECDH_ES;
use josekit::jwk::Jwk;
use josekit::jwk::alg::ec::EcCurve;
use josekit::jws::ES256;
use order_journal::{Journal, NewOrder, OrderState, PanLast4, PreSendSync};
use zeroize::Zeroizing;

fn encryption_pair() -> (EncryptionKey, Jwk) {
    let pair = ECDH_ES.generate_ec_key_pair(EcCurve::P256).unwrap();
    let mut public = pair.to_jwk_public_key();
    public.set_key_id("enc-1");
    let mut private = pair.to_jwk_key_pair();
    private.set_key_id("enc-1");
    (
        EncryptionKey::from_jwk_json(&public.to_string()).unwrap(),
        private,
    )
}

fn signing_key() -> SigningKey {
    let mut private = ES256.generate_key_pair().unwrap().to_jwk_private_key();
    private.set_key_id("sig-1");
    SigningKey::from_jwk_json(Zeroizing::new(private.to_string())).unwrap()
}

fn input() -> CardDataInput {
    let mut i = CardDataInput::new("4000056655665556", "12/39", "JANE Q DOE");
    i.cvv2 = Some("123".into());
    i.pan_sequence_number = Some("01".into());
    i
}

fn request() -> CardRequestInstant {
    CardRequestInstant {
        consumer_id: Some("CUST-000123".into()),
        card_product_id: Some("DEMO_DEBIT".into()),
        perso_station: "BRANCH-PS-01".into(),
        services: Services {
            issuance: "CREATION".into(),
            priority: Some("STANDARD".into()),
            ..Default::default()
        },
        payment_application: PaymentApplication {
            config: "VIS_163".into(),
            oda_key_index: Some("01".into()),
            ..Default::default()
        },
        card_design: Some(d1_client::CardDesign {
            custom_lines: vec!["Zoë Ångström".into(), "Member since 2026".into()],
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// What the app does before the journal, once a token is cached: schema validation, card rules,
/// JWE, body (`prepare` validates again, as the app does).
fn prepare(key: &EncryptionKey, rules: &ProductRules, input: &CardDataInput) -> PreparedOrder {
    let request = request();
    assert!(validate_request(&request).is_empty());
    let card = CardData::from_input(input, rules).unwrap();
    PreparedOrder::prepare(request, card, key, OrderIds::generate()).unwrap()
}

/// The journal's part of `OrderDesk::submit` before the send: the intent, then (token in hand)
/// the state check and the `Sending` mark.
fn journal_before_send(journal: &Journal, order: &PreparedOrder) {
    let card_id = order.card_id();
    journal
        .record_intent(&NewOrder {
            operator: "branch\\teller01".into(),
            consumer_id: d1_client::ConsumerId::parse("CUST-000123").unwrap(),
            product_id: "DEMO_DEBIT".into(),
            station_id: "BRANCH-PS-01".into(),
            issuance_type: "CREATION".into(),
            pan_last4: PanLast4::new("5556").unwrap(),
            card_id: card_id.clone(),
            issuer_request_id: order.issuer_request_id().clone(),
            correlation_id: order.correlation_id().clone(),
        })
        .unwrap();
    assert_eq!(
        journal.detail(card_id).unwrap().order.state,
        OrderState::Intent
    );
    journal.mark_sending(card_id).unwrap();
}

struct Samples {
    name: &'static str,
    times: Vec<Duration>,
}

impl Samples {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            times: Vec::new(),
        }
    }

    fn time<T>(&mut self, f: impl FnOnce() -> T) {
        let t = Instant::now();
        black_box(f());
        self.times.push(t.elapsed());
    }

    fn print(mut self) {
        self.times.sort();
        let n = self.times.len();
        let at = |q: f64| self.times[((n as f64 - 1.0) * q).round() as usize];
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        let (med, p95, min, max) = (us(at(0.5)), us(at(0.95)), us(at(0.0)), us(at(1.0)));
        println!(
            "{}: n={n} median={med:.1}µs p95={p95:.1}µs min={min:.1}µs max={max:.1}µs",
            self.name
        );
        println!(
            "RESULT|{}|{n}|{med:.1}|{p95:.1}|{min:.1}|{max:.1}",
            self.name
        );
    }
}

fn repeat(name: &'static str, n: usize, mut f: impl FnMut()) {
    for _ in 0..n / 10 {
        f();
    }
    let mut s = Samples::new(name);
    for _ in 0..n {
        s.time(&mut f);
    }
    s.print();
}

/// One 4 KiB append + `fdatasync` in the journal's folder: the disk's floor for one commit.
fn fdatasync_floor(dir: &std::path::Path, n: usize) {
    let path = dir.join("fdatasync-probe");
    let mut file = std::fs::File::create(&path).unwrap();
    let page = [0u8; 4096];
    repeat("fdatasync_4k_append", n, || {
        file.write_all(&page).unwrap();
        file.sync_data().unwrap();
    });
    drop(file);
    std::fs::remove_file(path).unwrap();
}

fn journals(dir: &std::path::Path) -> [(&'static str, Journal); 3] {
    let open = |name: &str, sync| {
        Journal::open(dir.join(name))
            .unwrap()
            .with_pre_send_sync(sync)
    };
    [
        (
            "per_order_journal_2_fsyncs",
            open("both.sqlite", PreSendSync::Both),
        ),
        (
            "per_order_validate_encrypt_sign_journal",
            open("sending.sqlite", PreSendSync::SendingOnly),
        ),
        (
            "per_order_journal_no_fsync",
            open("none.sqlite", PreSendSync::Neither),
        ),
    ]
}

fn everything(n_cpu: usize, n_disk: usize) {
    let (key, _) = encryption_pair();
    let rules = ProductRules::default();
    let input = input();
    let card = CardData::from_input(&input, &rules).unwrap();
    let sk = signing_key();
    let issuer = IssuerId::parse("ISSUER0001").unwrap();

    repeat("jwe_encrypt_card_data", n_cpu, || {
        black_box(encrypt_card_data(&card, &key).unwrap());
    });
    repeat("validate_request", n_cpu, || {
        black_box(validate_request(black_box(&request())));
    });
    repeat("es256_assertion_sign", n_cpu, || {
        black_box(bench_support::sign_assertion(&sk, &issuer).unwrap());
    });
    repeat("per_order_app_work_no_journal", n_cpu, || {
        black_box(prepare(&key, &rules, &input));
    });
    let memory = Journal::open_in_memory().unwrap();
    repeat("per_order_journal_in_memory_cpu", n_cpu, || {
        journal_before_send(&memory, &prepare(&key, &rules, &input));
    });

    // The whole target on disk — validate + encrypt + sign + journal — with each fsync variant,
    // interleaved round by round (rotating which goes first) so disk noise hits them alike. The
    // first variant is the app's. The signature is made per order here although the app signs
    // only when it fetches a token: the target counts it.
    let dir = tempfile::Builder::new()
        .prefix("order-bench-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    fdatasync_floor(dir.path(), n_disk);
    let variants = journals(dir.path());
    let mut samples: Vec<Samples> = variants.iter().map(|(n, _)| Samples::new(n)).collect();
    for round in 0..n_disk + n_disk / 10 {
        let warm = round < n_disk / 10;
        for k in 0..variants.len() {
            let k = (k + round) % variants.len();
            let t = Instant::now();
            black_box(bench_support::sign_assertion(&sk, &issuer).unwrap());
            journal_before_send(&variants[k].1, &prepare(&key, &rules, &input));
            if !warm {
                samples[k].times.push(t.elapsed());
            }
        }
    }
    for s in samples {
        s.print();
    }
}

fn export_tokens(path: &str, n: usize) {
    let (key, private) = encryption_pair();
    let rules = ProductRules::default();
    let mut tokens = Vec::with_capacity(n);
    let mut plaintexts = Vec::with_capacity(n);
    for i in 0..n {
        let mut input = input();
        input.name = format!("HOLDER {i}").into();
        input.cvv2 = Some(format!("{:03}", i % 1000).into());
        let card = CardData::from_input(&input, &rules).unwrap();
        tokens.push(encrypt_card_data(&card, &key).unwrap().as_str().to_owned());
        plaintexts.push(serde_json::json!({
            "pan": input.pan.expose(), "exp": "3912", "name": input.name.expose(),
            "cvv2": input.cvv2.as_ref().map(|c| c.expose()),
            "panSequenceNumber": "01"
        }));
    }
    let doc = serde_json::json!({
        "private_jwk": serde_json::Value::Object(private.into()),
        "tokens": tokens,
        "plaintexts": plaintexts,
    });
    std::fs::write(path, doc.to_string()).unwrap();
    println!("wrote {n} tokens and their throw-away private key to {path}");
}

fn main() {
    // `cargo bench` passes `--bench`; everything else is ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let number =
        |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    match args.first().map(String::as_str) {
        Some("jwe") => {
            let (key, _) = encryption_pair();
            let card = CardData::from_input(&input(), &ProductRules::default()).unwrap();
            repeat("jwe_encrypt_card_data", number(1, 3000), || {
                black_box(encrypt_card_data(&card, &key).unwrap());
            });
        }
        Some("export-tokens") => {
            let path = args.get(1).expect("export-tokens FILE [N]");
            export_tokens(path, number(2, 200));
        }
        Some(other) => panic!("unknown mode {other:?}: jwe [N] | export-tokens FILE [N]"),
        None => everything(5000, 1000),
    }
}
