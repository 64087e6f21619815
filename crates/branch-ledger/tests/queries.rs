//! The supervisor's queries on the ledger: list with every filter, search, keyset paging,
//! statistics and exceptions — across the branches a desk sees, and only those.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use branch_ledger::{
    BranchId, DeskKind, Event, Ledger, LedgerError, OrderQuery, Scope, Search, SearchMode,
};
use common::{Server, TestDesk, at, cid, full_order, opid, order};
use order_journal::{Bucket, ExceptionQuery, OrderState, TimeRange};

/// Appends, on `desk`, orders `card-<prefix>-<i>` at minute `i * 10`, with a mix of products,
/// stations, operators, issuance types and outcomes.
async fn fill(desk: &TestDesk, prefix: &str, n: i64) -> Ledger {
    let api = desk.connect().await;
    let mut events = Vec::new();
    let mut seq = api.last_seq().await.unwrap() + 1;
    for i in 0..n {
        let name = format!("card-{prefix}-{i}");
        let card = cid(&name);
        let mut o = order(&name);
        o.product_id = if i % 2 == 0 { "VISA" } else { "MC" }.into();
        o.station_id = format!("ST-{}", i % 3);
        o.operator = if i % 4 == 0 { "bob" } else { "jane" }.into();
        o.issuance_type = if i % 5 == 0 {
            "REPLACEMENT"
        } else {
            "CREATION"
        }
        .into();
        o.pan_last4 = order_journal::PanLast4::new(&format!("{:04}", 1000 + i)).unwrap();
        o.consumer_id = desk_domain::ConsumerId::parse(format!("Cust-{prefix}-{i}")).unwrap();
        let minute = i * 10;
        events.push(Event::intent(seq, at(minute), &o));
        events.push(Event::transition(
            seq + 1,
            at(minute),
            &card,
            &o.operator,
            OrderState::Sending,
        ));
        seq += 2;
        let last = match i % 7 {
            0 => Event::transition(seq, at(minute + 1), &card, &o.operator, OrderState::Failed)
                .with(|t| {
                    t.d1_status = Some("CARD_PROD_EXCEPTION".into());
                    t.error_code = Some("CARD_PROD_EXCEPTION".into());
                }),
            1 => Event::transition(
                seq,
                at(minute + 1),
                &card,
                &o.operator,
                OrderState::Rejected,
            )
            .with(|t| t.error_code = Some("FIELD_INVALID_FORMAT".into())),
            2 => Event::transition(
                seq,
                at(minute + 1),
                &card,
                &o.operator,
                OrderState::Accepted,
            )
            .with(|t| t.operation_id = Some(opid(&format!("OP-{prefix}-{i}")))),
            _ => Event::transition(seq, at(minute + 1), &card, &o.operator, OrderState::Done)
                .with(|t| t.operation_id = Some(opid(&format!("OP-{prefix}-{i}")))),
        };
        events.push(last);
        seq += 1;
    }
    for chunk in events.chunks(500) {
        api.append(chunk).await.unwrap();
    }
    api
}

fn cards(page: &branch_ledger::Page) -> Vec<String> {
    page.items.iter().map(|o| o.card_id.to_string()).collect()
}

#[tokio::test]
async fn the_list_is_newest_first_with_keyset_paging_over_every_visible_branch() {
    let mut ledger = Server::from_env().ledger().await;
    let b1 = ledger
        .desk_with("b1", "B1", Some("N"), DeskKind::Teller)
        .await;
    let b2 = ledger
        .desk_with("b2", "B2", Some("N"), DeskKind::Teller)
        .await;
    let regional = ledger
        .desk_with("reg", "B1", Some("N"), DeskKind::Regional)
        .await;
    let api1 = fill(&b1, "a", 30).await;
    fill(&b2, "b", 30).await;

    // A teller desk pages through its branch only, newest first, without gaps or repeats.
    let mut q = OrderQuery {
        page_size: 7,
        ..OrderQuery::default()
    };
    let mut seen = Vec::new();
    loop {
        let page = api1.list(&q).await.unwrap();
        assert!(page.items.len() <= 7);
        assert!(page.items.iter().all(|o| o.branch_id.as_str() == "B1"));
        seen.extend(cards(&page));
        match page.next {
            Some(next) => {
                // The cursor survives a trip through the UI as a string.
                q.after = Some(branch_ledger::Cursor::from_token(&next.to_token()).unwrap())
            }
            None => break,
        }
    }
    let expected: Vec<String> = (0..30).rev().map(|i| format!("card-a-{i}")).collect();
    assert_eq!(seen, expected);

    // The regional desk merges both branches; a branch filter narrows to one.
    let reg = regional.connect().await;
    let page = reg
        .list(&OrderQuery {
            page_size: 4,
            ..OrderQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        cards(&page),
        ["card-b-29", "card-a-29", "card-b-28", "card-a-28"]
    );
    let mut all = Vec::new();
    let mut q = OrderQuery {
        page_size: 9,
        ..OrderQuery::default()
    };
    loop {
        let page = reg.list(&q).await.unwrap();
        all.extend(cards(&page));
        match page.next {
            Some(next) => q.after = Some(next),
            None => break,
        }
    }
    assert_eq!(all.len(), 60);
    let only_b2 = reg
        .list(&OrderQuery {
            branch: Some(BranchId::parse("B2").unwrap()),
            page_size: 100,
            ..OrderQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(only_b2.items.len(), 30);
    assert!(only_b2.items.iter().all(|o| o.branch_id.as_str() == "B2"));

    // A teller desk asking for another branch gets nothing.
    let other = api1
        .list(&OrderQuery {
            branch: Some(BranchId::parse("B2").unwrap()),
            ..OrderQuery::default()
        })
        .await
        .unwrap();
    assert!(other.items.is_empty() && other.next.is_none());
}

#[tokio::test]
async fn every_filter_and_the_desk_filter_narrow_the_list() {
    let mut ledger = Server::from_env().ledger().await;
    let d1 = ledger.desk("d1", "B1").await;
    let d2 = ledger.desk("d2", "B1").await;
    let api = fill(&d1, "a", 35).await;
    fill(&d2, "b", 5).await;
    let all = |q: OrderQuery| {
        let api = api.clone();
        async move {
            api.list(&OrderQuery {
                page_size: 500,
                ..q
            })
            .await
            .unwrap()
            .items
        }
    };
    let base = OrderQuery::default();
    assert_eq!(all(base.clone()).await.len(), 40);
    let by_desk = all(OrderQuery {
        desk: Some(d2.desk_id.clone()),
        ..base.clone()
    })
    .await;
    assert_eq!(by_desk.len(), 5);
    assert!(by_desk.iter().all(|o| o.desk_id == d2.desk_id));

    let failed = all(OrderQuery {
        states: vec![OrderState::Failed],
        ..base.clone()
    })
    .await;
    assert_eq!(failed.len(), 5 + 1, "i % 7 == 0 in both fills");
    assert!(failed.iter().all(|o| o.state == OrderState::Failed));
    let two = all(OrderQuery {
        states: vec![OrderState::Failed, OrderState::Rejected, OrderState::Failed],
        ..base.clone()
    })
    .await;
    assert_eq!(two.len(), 6 + 6);

    let visa = all(OrderQuery {
        product_id: Some("VISA".into()),
        ..base.clone()
    })
    .await;
    assert!(!visa.is_empty() && visa.iter().all(|o| o.product_id == "VISA"));
    let st = all(OrderQuery {
        station_id: Some("ST-1".into()),
        ..base.clone()
    })
    .await;
    assert!(!st.is_empty() && st.iter().all(|o| o.station_id == "ST-1"));
    let bob = all(OrderQuery {
        operator: Some("bob".into()),
        ..base.clone()
    })
    .await;
    assert!(!bob.is_empty() && bob.iter().all(|o| o.operator == "bob"));
    let repl = all(OrderQuery {
        issuance_type: Some("REPLACEMENT".into()),
        ..base.clone()
    })
    .await;
    assert!(!repl.is_empty() && repl.iter().all(|o| o.issuance_type == "REPLACEMENT"));
    let none = all(OrderQuery {
        station_id: Some("NOWHERE".into()),
        ..base.clone()
    })
    .await;
    assert!(none.is_empty());

    // Date range [from, to): minutes 100..200 hold orders 10..19 of each fill that has them.
    let range = all(OrderQuery {
        from: Some(at(100)),
        to: Some(at(200)),
        ..base.clone()
    })
    .await;
    assert_eq!(range.len(), 10);
    assert!(
        range
            .iter()
            .all(|o| o.created_at >= at(100) && o.created_at < at(200))
    );
    let combined = all(OrderQuery {
        from: Some(at(0)),
        to: Some(at(350)),
        desk: Some(d1.desk_id.clone()),
        product_id: Some("VISA".into()),
        operator: Some("bob".into()),
        ..base.clone()
    })
    .await;
    let expected: Vec<String> = (0..35)
        .rev()
        .filter(|i| i % 2 == 0 && i % 4 == 0)
        .map(|i| format!("card-a-{i}"))
        .collect();
    assert_eq!(
        combined
            .iter()
            .map(|o| o.card_id.clone())
            .collect::<Vec<_>>(),
        expected
    );

    // Invalid queries are refused with a reason.
    for bad in [
        OrderQuery {
            page_size: 0,
            ..base.clone()
        },
        OrderQuery {
            from: Some(at(5)),
            to: Some(at(5)),
            ..base.clone()
        },
        OrderQuery {
            operator: Some(String::new()),
            ..base.clone()
        },
    ] {
        assert!(matches!(
            api.list(&bad).await.unwrap_err(),
            LedgerError::InvalidQuery(_)
        ));
    }
}

#[tokio::test]
async fn search_finds_ids_exactly_or_partly_ignoring_case_and_the_last_4() {
    let mut ledger = Server::from_env().ledger().await;
    let desk = ledger.desk("d", "B1").await;
    let api = fill(&desk, "q", 20).await;
    let find = |text: &str, mode: SearchMode| {
        let api = api.clone();
        let q = OrderQuery {
            search: Some(Search {
                text: text.into(),
                mode,
            }),
            page_size: 100,
            ..OrderQuery::default()
        };
        async move { cards(&api.list(&q).await.unwrap()) }
    };
    assert_eq!(find("card-q-7", SearchMode::Exact).await, ["card-q-7"]);
    assert_eq!(find("Cust-q-7", SearchMode::Exact).await, ["card-q-7"]);
    assert_eq!(find("OP-q-9", SearchMode::Exact).await, ["card-q-9"]);
    assert_eq!(find("1007", SearchMode::Exact).await, ["card-q-7"]);
    assert_eq!(
        find(" 1007 ", SearchMode::Exact).await,
        ["card-q-7"],
        "spaces trimmed"
    );
    assert!(
        find("cust-q-7", SearchMode::Exact).await.is_empty(),
        "exact is exact"
    );
    // Partial and case-insensitive: "CUST-Q-1" is in Cust-q-1 and Cust-q-10..19.
    let partial = find("CUST-Q-1", SearchMode::Partial).await;
    assert_eq!(partial.len(), 11);
    assert_eq!(partial[0], "card-q-19");
    // "_" is a character, not a wildcard.
    assert!(find("card_q", SearchMode::Partial).await.is_empty());
    // 1–4 digits search the last 4 only.
    assert_eq!(find("1019", SearchMode::Partial).await, ["card-q-19"]);
    assert_eq!(find("19", SearchMode::Partial).await, ["card-q-19"]);
    assert_eq!(
        find("01", SearchMode::Partial).await.len(),
        11,
        "1001, 1010-1019"
    );
    assert!(
        find("", SearchMode::Partial).await.len() == 20,
        "empty = no search"
    );
    for bad in ["ab", "a b", "x'--", &"x".repeat(65)] {
        let q = OrderQuery {
            search: Some(Search {
                text: bad.into(),
                mode: SearchMode::Partial,
            }),
            ..OrderQuery::default()
        };
        assert!(
            matches!(
                api.list(&q).await.unwrap_err(),
                LedgerError::InvalidQuery(_)
            ),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn statistics_count_orders_and_failures_per_bucket_reason_and_station() {
    let mut ledger = Server::from_env().ledger().await;
    let d1 = ledger.desk("d1", "B1").await;
    let d2 = ledger.desk("d2", "B1").await;
    let elsewhere = ledger.desk("x", "B9").await;
    let api = fill(&d1, "a", 14).await; // minutes 0..130: hours 8:00–10:10
    fill(&d2, "b", 7).await;
    fill(&elsewhere, "z", 14).await;
    let range = TimeRange::new(at(0), at(180)).unwrap();
    let stats = api
        .stats(range, Bucket::Hour, &Default::default())
        .await
        .unwrap();
    assert_eq!(stats.buckets.len(), 3);
    let orders: Vec<u64> = stats.buckets.iter().map(|b| b.orders).collect();
    // d1: minutes 0..50 (6), 60..110 (6), 120..130 (2); d2: 0..50 (6), 60 (1).
    assert_eq!(orders, [12, 7, 2]);
    let failures: u64 = stats.buckets.iter().map(|b| b.failures).sum();
    // failed: i%7==0, rejected: i%7==1 → d1: 0,1,7,8 ; d2: 0,1
    assert_eq!(failures, 6);
    assert_eq!(stats.failures_by_reason[0].label, "CARD_PROD_EXCEPTION");
    assert_eq!(
        stats
            .failures_by_reason
            .iter()
            .map(|l| l.count)
            .sum::<u64>(),
        6
    );
    assert_eq!(
        stats
            .failures_by_station
            .iter()
            .map(|l| l.count)
            .sum::<u64>(),
        6
    );

    let only_d2 = api
        .stats(
            range,
            Bucket::Day,
            &Scope {
                desk: Some(d2.desk_id.clone()),
                branch: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(only_d2.buckets.len(), 1);
    assert_eq!(only_d2.buckets[0].orders, 7);

    let empty = api
        .stats(
            TimeRange::new(at(-600), at(-1)).unwrap(),
            Bucket::Hour,
            &Default::default(),
        )
        .await
        .unwrap();
    assert!(empty.buckets.iter().all(|b| b.orders == 0));
    assert!(empty.failures_by_reason.is_empty());
    let too_long = TimeRange::new(at(0), at(60 * 24 * 500)).unwrap();
    assert!(matches!(
        api.stats(too_long, Bucket::Hour, &Default::default())
            .await
            .unwrap_err(),
        LedgerError::InvalidQuery(_)
    ));
}

#[tokio::test]
async fn exceptions_list_failures_unknown_outcomes_and_stuck_orders() {
    let mut ledger = Server::from_env().ledger().await;
    let d1 = ledger.desk("d1", "B1").await;
    let d2 = ledger.desk("d2", "B1").await;
    let api = fill(&d1, "a", 14).await;
    let other = d2.connect().await;
    other
        .append(&[
            Event::intent(1, at(0), &order("card-unknown")),
            Event::transition(2, at(0), &cid("card-unknown"), "jane", OrderState::Sending),
            Event::transition(
                3,
                at(1),
                &cid("card-unknown"),
                "jane",
                OrderState::OutcomeUnknown,
            ),
        ])
        .await
        .unwrap();
    other.append(&full_order(4, "card-fine", 2)).await.unwrap();

    let q = ExceptionQuery {
        since: None,
        stuck_after: Duration::from_secs(60),
        limit: 100,
    };
    let found = api.exceptions(&q, &Default::default()).await.unwrap();
    let mut names: Vec<String> = found.iter().map(|o| o.card_id.to_string()).collect();
    names.sort();
    // failed 0,7; rejected 1,8; accepted (stuck: at() is in the past) 2,9; outcome unknown.
    assert_eq!(
        names,
        [
            "card-a-0",
            "card-a-1",
            "card-a-2",
            "card-a-7",
            "card-a-8",
            "card-a-9",
            "card-unknown"
        ]
    );
    assert!(found.windows(2).all(|w| w[0].created_at >= w[1].created_at));

    let not_stuck = ExceptionQuery {
        stuck_after: Duration::from_secs(3600 * 24 * 3650),
        ..q
    };
    assert_eq!(
        api.exceptions(&not_stuck, &Default::default())
            .await
            .unwrap()
            .len(),
        5
    );
    let scoped = api
        .exceptions(
            &q,
            &Scope {
                desk: Some(d2.desk_id.clone()),
                branch: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(scoped.len(), 1);
    let since = ExceptionQuery {
        since: Some(at(70)),
        ..q
    };
    assert_eq!(
        api.exceptions(&since, &Default::default())
            .await
            .unwrap()
            .len(),
        3
    );
    let limited = ExceptionQuery { limit: 2, ..q };
    assert_eq!(
        api.exceptions(&limited, &Default::default())
            .await
            .unwrap()
            .len(),
        2
    );
    for limit in [0, order_journal::MAX_EXCEPTIONS + 1] {
        let bad = ExceptionQuery { limit, ..q };
        assert!(api.exceptions(&bad, &Default::default()).await.is_err());
    }
}
