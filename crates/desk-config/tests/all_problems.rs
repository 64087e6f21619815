//! `config check` names every problem in one run: a value that cannot be read (a type error, a
//! typo in a choice, an unknown key) no longer hides the other problems of its section or of
//! its list item.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

#[test]
fn type_errors_and_other_problems_of_one_section_are_reported_together() {
    let (_, result) = load_machine(
        r#"
[ui]
idle_clear_seconds = "ninety"
language = "fr"
colour = "blue"

[retry]
budget_seconds = "soon"
"#,
    );
    let problems = problems(result);
    let keys: Vec<&str> = problems
        .iter()
        .map(|p| p.split(' ').next().unwrap_or(""))
        .collect();
    for key in [
        "ui.idle_clear_seconds",
        "ui.language",
        "ui.colour",
        "retry.budget_seconds",
    ] {
        assert!(
            keys.contains(&key),
            "{key} missing from:\n{}",
            problems.join("\n")
        );
    }
    // Each key once: a value set aside is not reported again as missing.
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), keys.len(), "{}", problems.join("\n"));
}

#[test]
fn a_type_error_in_a_product_does_not_hide_its_other_problems() {
    let (_, result) = load_machine(
        r#"
[[products]]
id = "P1"
display_name = "One"
pan_lengths = [25]
bin_ranges = [{ from = "400000", to = "499999" }]
supplies_cvv2 = "yes please"
[products.payment_application]
config = "VIS_163"
"#,
    );
    let problems = problems(result);
    let text = problems.join("\n");
    assert!(text.contains("products[0].supplies_cvv2"), "{text}");
    assert!(text.contains("products[0].pan_lengths[0]"), "{text}");
}

#[test]
fn a_required_key_of_the_wrong_type_is_named_once() {
    let (_, result) = load_machine(
        r#"
[[stations]]
id = 42
name = "Printer"
"#,
    );
    let problems = problems(result);
    let at_id: Vec<&String> = problems
        .iter()
        .filter(|p| p.starts_with("stations[0].id"))
        .collect();
    assert_eq!(at_id.len(), 1, "{}", problems.join("\n"));
}
