//! A `Sensitive<T>` cannot be serialized, formatted with `{}`, logged as a `tracing` field
//! (`%` or by value) or read through a field: each file under `compile_fail/` tries one of them,
//! and its `.stderr` pins the compiler's error, so none can fail for an unrelated reason.
//! (`tracing::info!(x = ?s)` does compile: `Debug` prints `<redacted>`; see the crate docs.)

#[test]
fn sensitive_data_refuses_every_way_out() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/compile_fail/*.rs");
}
