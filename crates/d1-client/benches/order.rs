//! App-side work per order (cached token: validate + card rules + JWE + body), the JWE alone,
//! and ES256 assertion signing. Criterion reports medians; a plain loop at the start prints the
//! median and p99 of the per-order work and of the JWE.
//!
//! `cargo bench -p d1-client --bench order`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use d1_client::{
    CardData, CardDataInput, CardRequestInstant, EncryptionKey, IssuerId, OrderIds,
    PaymentApplication, PreparedOrder, ProductRules, Services, SigningKey, bench_support,
    encrypt_card_data, validate_request,
};
use josekit::jwe::ECDH_ES;
use josekit::jwk::alg::ec::EcCurve;
use josekit::jws::ES256;
use zeroize::Zeroizing;

fn encryption_key() -> EncryptionKey {
    let pair = ECDH_ES.generate_ec_key_pair(EcCurve::P256).unwrap();
    let mut public = pair.to_jwk_public_key();
    public.set_key_id("enc-1");
    EncryptionKey::from_jwk_json(&public.to_string()).unwrap()
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

/// Everything the app does per order once a token is cached: card rules, schema validation,
/// JWE, body serialization (`prepare` validates again, as the app does).
fn per_order(key: &EncryptionKey, rules: &ProductRules, input: &CardDataInput) -> PreparedOrder {
    let request = request();
    assert!(validate_request(&request).is_empty());
    let card = CardData::from_input(input, rules).unwrap();
    PreparedOrder::prepare(request, card, key, OrderIds::generate()).unwrap()
}

fn percentiles(name: &str, n: usize, mut f: impl FnMut()) {
    for _ in 0..n / 10 {
        f();
    }
    let mut samples: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    println!(
        "{name}: n={n} median={:?} p99={:?} max={:?}",
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

fn benches(c: &mut Criterion) {
    let key = encryption_key();
    let rules = ProductRules::default();
    let input = input();
    let card = CardData::from_input(&input, &rules).unwrap();
    let sk = signing_key();
    let issuer = IssuerId::parse("ISSUER0001").unwrap();
    c.bench_function("jwe_encrypt_card_data", |b| {
        b.iter(|| encrypt_card_data(black_box(&card), &key).unwrap())
    });
    c.bench_function("per_order_app_work", |b| {
        b.iter(|| per_order(&key, &rules, black_box(&input)))
    });
    c.bench_function("validate_request", |b| {
        b.iter(|| validate_request(black_box(&request())))
    });
    c.bench_function("es256_assertion_sign", |b| {
        b.iter(|| bench_support::sign_assertion(&sk, &issuer).unwrap())
    });
}

criterion_group!(group, benches);

fn main() {
    let key = encryption_key();
    let rules = ProductRules::default();
    let input = input();
    let card = CardData::from_input(&input, &rules).unwrap();
    percentiles("per_order_app_work", 5000, || {
        black_box(per_order(&key, &rules, &input));
    });
    percentiles("jwe_encrypt_card_data", 5000, || {
        black_box(encrypt_card_data(&card, &key).unwrap());
    });
    group();
    Criterion::default().configure_from_args().final_summary();
}
