use super::*;
use crate::domain::{AppliedRule, Quote};

fn usd(minor: i64) -> Money {
    Money::new(minor, "USD".parse().unwrap())
}

fn quote(total: i64) -> Verdict {
    Ok(Answer::Quote(Quote {
        subtotal: usd(total),
        tax: usd(0),
        shipping: usd(0),
        discount: usd(0),
        total: usd(total),
        applied: Vec::<AppliedRule>::new(),
    }))
}

fn seen(baseline: Verdict, candidate: Result<Verdict, String>, fuel: u64) -> Observation {
    Observation {
        order_id: Some(OrderId::new()),
        order_number: None,
        baseline,
        baseline_fuel: Some(100),
        candidate: Run {
            outcome: candidate,
            fuel: Some(fuel),
            budget: 1000,
            logs: Logs::default(),
        },
    }
}

#[test]
fn a_tally_counts_each_verdict_and_sums_the_differences() {
    let mut tally = Tally::default();
    let refusal = vec![Problem {
        code: "no".into(),
        message: "no".into(),
        field: None,
    }];
    tally.add(seen(quote(1000), Ok(quote(1000)), 100));
    tally.add(seen(quote(1000), Ok(quote(900)), 200));
    tally.add(seen(quote(2000), Ok(quote(2500)), 300));
    tally.add(seen(quote(1000), Ok(Err(refusal.clone())), 400));
    tally.add(seen(Err(refusal), Ok(quote(10)), 500));
    tally.add(seen(quote(1000), Err("trapped".into()), 900));
    let report = tally.report();
    assert_eq!(
        (report.compared, report.identical, report.changed),
        (6, 1, 2)
    );
    assert_eq!(
        (report.refused_now, report.accepted_now, report.faults),
        (1, 1, 1)
    );
    let usd = &report.totals[0];
    assert_eq!(
        (usd.orders, usd.sum, usd.min, usd.max, usd.p50),
        (3, 400, -100, 500, 0)
    );
    assert_eq!(report.movers[0].difference.unwrap().minor, 500);
    assert_eq!(report.movers.len(), 2);
    assert_eq!(report.orders.len(), 5);
    assert_eq!(report.fuel.candidate.as_ref().unwrap().p99, 900);
    assert_eq!(report.fuel.most_budget_used_percent, Some(90.0));
}

#[test]
fn tallies_of_parts_merge_into_the_tally_of_the_whole() {
    let observations: Vec<Observation> = (0..300)
        .map(|i: i64| match i % 10 {
            0 => seen(quote(1000), Err("trapped".into()), 900),
            1..=3 => seen(quote(1000 + i), Ok(quote(1000 + i)), 100 + i as u64),
            _ => seen(quote(1000 + i), Ok(quote(1000 + 2 * i)), 100 + i as u64),
        })
        .collect();
    let tally_of = |part: &[Observation]| {
        let mut tally = Tally::default();
        part.iter().cloned().for_each(|seen| tally.add(seen));
        tally
    };
    let whole = tally_of(&observations);
    let mut merged = tally_of(&observations[..120]);
    merged.merge(tally_of(&observations[120..]));
    assert_eq!(merged.report(), whole.report());
    assert_eq!(whole.report().compared, 300);
    assert_eq!(whole.report().orders_left_out, 210 - 100);

    // Thinned, the counts, sums and extremes stay exact; the samples are fewer.
    let thinned = whole.thinned(10);
    assert!(thinned.candidate_fuel.len() <= 10 && thinned.active_fuel.len() <= 10);
    let (thin, full) = (thinned.report(), whole.report());
    assert_eq!(
        (thin.compared, thin.changed, thin.faults, thin.movers),
        (full.compared, full.changed, full.faults, full.movers)
    );
    let (t, f) = (&thin.totals[0], &full.totals[0]);
    assert_eq!(
        (t.orders, t.sum, t.min, t.max),
        (f.orders, f.sum, f.min, f.max)
    );
    assert_eq!((f.orders, f.min, f.max), (270, 0, 299));
}

#[test]
fn percentiles_are_nearest_rank() {
    let sorted: Vec<i64> = (1..=100).collect();
    assert_eq!(percentile(&sorted, 50), 50);
    assert_eq!(percentile(&sorted, 95), 95);
    assert_eq!(percentile(&[7], 99), 7);
}
