//! Every supervisor filter is answered from the index chosen for it, never by a table scan
//! (checked with EXPLAIN QUERY PLAN on a generated journal with planner statistics).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use std::time::Duration;

use order_journal::synthetic;
use order_journal::{Cursor, Journal, MatchMode, OrderQuery, OrderState, Search, Timestamp};

const END: i64 = 1_795_564_800_000;
const DAY: i64 = 86_400_000;

fn journal() -> (tempfile::TempDir, Journal) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let j = Journal::open(&path).unwrap();
    synthetic::generate(
        &j,
        20_000,
        1,
        Timestamp::from_millis(END),
        Duration::from_secs(400 * 86_400),
    )
    .unwrap();
    drop(j);
    // Reopening computes the planner statistics, as the app's next start would.
    (dir, Journal::open(path).unwrap())
}

fn search(text: &str, mode: MatchMode) -> OrderQuery {
    OrderQuery {
        search: Some(Search {
            text: text.into(),
            mode,
        }),
        ..OrderQuery::default()
    }
}

#[test]
fn each_filter_walks_its_own_index() {
    let (_dir, j) = journal();
    let base = OrderQuery::default();
    let cases: Vec<(&str, OrderQuery, &[&str])> = vec![
        ("first page", base.clone(), &["orders_created"]),
        (
            "next page",
            OrderQuery {
                after: Some(Cursor::from_token(&format!("{}.5000", END - 100 * DAY)).unwrap()),
                ..base.clone()
            },
            &["orders_created"],
        ),
        (
            "date range",
            OrderQuery {
                from: Some(Timestamp::from_millis(END - 7 * DAY)),
                to: Some(Timestamp::from_millis(END)),
                ..base.clone()
            },
            &["orders_created"],
        ),
        (
            "states",
            OrderQuery {
                states: vec![OrderState::Failed, OrderState::Done],
                ..base.clone()
            },
            &["orders_state"],
        ),
        (
            "station",
            OrderQuery {
                station_id: Some(synthetic::station(1)),
                ..base.clone()
            },
            &["orders_station"],
        ),
        (
            "operator",
            OrderQuery {
                operator: Some(synthetic::operator(1)),
                ..base.clone()
            },
            &["orders_operator"],
        ),
        (
            "product",
            OrderQuery {
                product_id: Some(synthetic::product(1)),
                ..base.clone()
            },
            &["orders_product"],
        ),
        (
            "issuance type",
            OrderQuery {
                issuance_type: Some("NEW".into()),
                ..base.clone()
            },
            &["orders_issuance"],
        ),
        (
            "all four labels",
            OrderQuery {
                station_id: Some(synthetic::station(1)),
                operator: Some(synthetic::operator(1)),
                product_id: Some(synthetic::product(1)),
                issuance_type: Some("NEW".into()),
                ..base.clone()
            },
            &["orders_station_operator"],
        ),
        (
            "search prefix matching few orders",
            search("C00001", MatchMode::Prefix),
            &["orders_consumer_suffix"],
        ),
        (
            "search prefix matching few orders, one station",
            OrderQuery {
                station_id: Some(synthetic::station(1)),
                ..search("C00001", MatchMode::Prefix)
            },
            &["orders_consumer_suffix"],
        ),
        (
            "search prefix matching many orders, one station",
            OrderQuery {
                station_id: Some(synthetic::station(1)),
                ..search("C000", MatchMode::Prefix)
            },
            &["orders_station", "orders_consumer_suffix"],
        ),
        (
            "search prefix matching many orders",
            search("C000", MatchMode::Prefix),
            &["COVERING INDEX orders_created"],
        ),
        (
            "search exact",
            search("C00000001", MatchMode::Exact),
            &[
                "orders_consumer_suffix",
                "sqlite_autoindex_orders_1",
                "orders_operation",
            ],
        ),
        (
            "search prefix with digits",
            search("0123", MatchMode::Prefix),
            &[
                "orders_consumer_suffix",
                "sqlite_autoindex_orders_1",
                "orders_operation",
                "orders_last4",
            ],
        ),
    ];
    for (name, q, wanted) in cases {
        let plan = j.explain_list(&q).unwrap();
        let text = plan.join(" | ");
        for index in wanted {
            assert!(
                plan.iter().any(|l| l.contains(index)),
                "{name}: {index} not used: {text}"
            );
        }
        // Only the plain newest-first walks may SCAN (an ordered index walk that stops after a
        // page); everything else SEARCHes an index range.
        for line in plan.iter().filter(|l| l.starts_with("SCAN")) {
            assert!(
                name.ends_with("page") && line.contains("orders_created")
                    // A broad prefix walks the time index newest first, inside the index.
                    || name.ends_with("many orders")
                        && line.contains("COVERING INDEX orders_created")
                    || line.contains("SUBQUERY")
                    || line.starts_with("SCAN (subquery"),
                "{name} scans: {text}"
            );
        }
        if name == "search prefix matching many orders, one station" {
            assert!(!text.contains("orders_created"), "{name}: {text}");
        }
        // Single filters never sort: they come out of the index in order.
        if !name.starts_with("search") && name != "states" {
            assert!(!text.contains("TEMP B-TREE"), "{name} sorts: {text}");
        }
    }
}

#[test]
fn a_consumer_search_without_labels_finds_its_page_in_the_suffix_index_alone() {
    let (_dir, j) = journal();
    let plan_of = |q: &OrderQuery| {
        let plan = j.explain_list(q).unwrap();
        let at = plan
            .iter()
            .position(|l| l.contains("orders_consumer_suffix"))
            .unwrap_or_else(|| panic!("suffix index unused: {plan:?}"));
        (plan[at - 1].clone(), plan.join(" | "))
    };
    // Read as a source of (created_at, id) pairs: only the page's order rows are read...
    for q in [
        search("C00001", MatchMode::Prefix),
        OrderQuery {
            from: Some(Timestamp::from_millis(END - 200 * DAY)),
            after: Some(Cursor::from_token(&format!("{}.5000", END - 100 * DAY)).unwrap()),
            ..search("c00001", MatchMode::Exact)
        },
    ] {
        let (parent, plan) = plan_of(&q);
        assert!(parent.starts_with("CO-ROUTINE"), "{plan}");
    }
    // ...while a label or a state needs each match's row.
    for q in [
        OrderQuery {
            operator: Some(synthetic::operator(2)),
            ..search("C00001", MatchMode::Prefix)
        },
        OrderQuery {
            states: vec![OrderState::Done],
            ..search("C00001", MatchMode::Prefix)
        },
    ] {
        let (parent, plan) = plan_of(&q);
        assert!(parent.starts_with("LIST SUBQUERY"), "{plan}");
    }
}

fn newest_first(j: &Journal, q: &OrderQuery, pages: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut q = q.clone();
    for _ in 0..pages {
        let page = j.list(&q).unwrap();
        out.extend(page.items.iter().map(|o| o.card_id.to_string()));
        match page.next {
            Some(next) => q.after = Some(next),
            None => break,
        }
    }
    out
}

#[test]
fn prefix_searches_return_the_newest_matches_whichever_index_they_walk() {
    let (_dir, j) = journal();
    let c = rusqlite::Connection::open(j.path().unwrap()).unwrap();
    let expected = |sql_where: &str| -> Vec<String> {
        let mut st = c
            .prepare(&format!(
                "SELECT card_id FROM orders WHERE {sql_where} \
                 ORDER BY created_at DESC, id DESC LIMIT 150"
            ))
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    // 20,000 orders over 200,000 consumers: "C000" matches about half (walks the time index),
    // "C00001" about 5 % (sorted inside the consumer index), "0" a tenth of the last 4s.
    for (text, sql_where) in [
        ("C000", "consumer_id LIKE 'C000%'"),
        ("C00001", "consumer_id LIKE 'C00001%'"),
        ("0", "pan_last4 LIKE '0%'"),
        ("12", "pan_last4 LIKE '12%'"),
    ] {
        let want = expected(sql_where);
        assert!(want.len() > 50, "{text}: the case needs more than a page");
        let got = newest_first(&j, &search(text, MatchMode::Prefix), 3);
        assert_eq!(got, want, "{text}");
    }
    // With a filter and a date range on top of a broad prefix (the filter's index walked, each
    // entry tested against the suffix index's set), and with a state.
    let q = OrderQuery {
        station_id: Some(synthetic::station(3)),
        from: Some(Timestamp::from_millis(END - 200 * DAY)),
        ..search("C000", MatchMode::Prefix)
    };
    let want = expected(&format!(
        "consumer_id LIKE 'C000%' AND station_id = '{}' AND created_at >= {}",
        synthetic::station(3),
        END - 200 * DAY
    ));
    assert_eq!(newest_first(&j, &q, 3), want);
    let q = OrderQuery {
        states: vec![OrderState::Failed, OrderState::Rejected],
        page_size: 10,
        ..search("c000", MatchMode::Prefix)
    };
    let want = expected("consumer_id LIKE 'C000%' AND state IN ('failed', 'rejected')");
    assert!(want.len() > 10, "the case needs more than a page");
    assert_eq!(newest_first(&j, &q, 15), want);
    // A narrow text, read in the suffix index alone (a period) or with the rows (a station).
    for (q, label) in [
        (
            OrderQuery {
                from: Some(Timestamp::from_millis(END - 300 * DAY)),
                page_size: 10,
                ..search("c0001", MatchMode::Prefix)
            },
            String::new(),
        ),
        (
            OrderQuery {
                station_id: Some(synthetic::station(3)),
                from: Some(Timestamp::from_millis(END - 300 * DAY)),
                page_size: 10,
                ..search("c0001", MatchMode::Prefix)
            },
            format!(" AND station_id = '{}'", synthetic::station(3)),
        ),
    ] {
        let want = expected(&format!(
            "consumer_id LIKE 'C0001%' AND created_at >= {}{label}",
            END - 300 * DAY
        ));
        assert!(want.len() > 10, "{label}: the case needs more than a page");
        assert_eq!(newest_first(&j, &q, 15), want, "{label}");
    }
}
