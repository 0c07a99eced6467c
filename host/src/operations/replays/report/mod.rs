//! What a candidate version did differently: the report a replay fills in over past orders
//! and a shadow fills in over live ones. Each order's [`Observation`] (the baseline's answer,
//! the candidate's, and what each cost) is classified and added to a [`Tally`], whose
//! [`Tally::report`] is the summary the API shows.

use crate::domain::{Currency, Money, Problem};
use crate::orders::OrderId;
use crate::plugins::Logs;
use crate::plugins::{Answer, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One run of the candidate: its verdict and what it cost, or the fault it ended in.
#[derive(Debug, Clone)]
pub struct Run {
    pub outcome: Result<Verdict, String>,
    pub fuel: Option<u64>,
    /// The fuel the call was given: what `fuel` is measured against for headroom.
    pub budget: u64,
    /// What it logged.
    pub logs: Logs,
}

/// One order, decided by the baseline and by the candidate.
#[derive(Debug, Clone)]
pub struct Observation {
    pub order_id: Option<OrderId>,
    pub order_number: Option<String>,
    /// What the order got: the stored answer (a replay) or the live decision (a shadow).
    pub baseline: Verdict,
    /// The fuel the baseline's decision burned, when it was measured.
    pub baseline_fuel: Option<u64>,
    pub candidate: Run,
}

/// How the candidate's answer compares with the baseline's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdicts {
    Identical,
    /// Both decided, differently (or refused with other problems).
    Changed,
    /// The candidate refuses what the baseline accepted.
    RefusedNow,
    /// The candidate accepts what the baseline refused.
    AcceptedNow,
    /// The candidate trapped, ran out of fuel or memory, or answered outside the contract.
    Fault,
}

/// One order of a report: how it compares, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderOutcome {
    pub order_id: Option<OrderId>,
    pub order_number: Option<String>,
    pub verdict: Verdicts,
    /// The baseline's total (pricing).
    pub before: Option<Money>,
    /// The candidate's total (pricing).
    pub after: Option<Money>,
    /// `after − before`.
    pub difference: Option<Money>,
    /// The candidate's refusal.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
    /// The candidate's fault.
    pub fault: Option<String>,
    /// What the candidate logged deciding it.
    #[serde(default, skip_serializing_if = "Logs::is_empty")]
    pub logs: Logs,
}

/// Total differences (candidate − baseline) in one currency, over the orders both priced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TotalDifferences {
    #[schema(value_type = String)]
    pub currency: Currency,
    /// Orders both priced, identical ones included.
    pub orders: u64,
    /// In minor units, like every amount below.
    pub sum: i64,
    pub min: i64,
    pub max: i64,
    pub p50: i64,
    pub p95: i64,
}

/// Fuel burned per decision.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FuelPercentiles {
    pub p50: u64,
    pub p99: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FuelReport {
    pub candidate: Option<FuelPercentiles>,
    /// The version serving now, on the same orders.
    pub active: Option<FuelPercentiles>,
    /// The largest share of its fuel budget a candidate decision used, in percent: how far
    /// it is from running out (the budget grows with the order's lines when the workflow
    /// gives fuel per line).
    pub most_budget_used_percent: Option<f64>,
    /// The order that came closest to the budget.
    pub closest_to_budget: Option<OrderId>,
}

/// The summary of a replay or a shadow.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Report {
    pub compared: u64,
    pub identical: u64,
    pub changed: u64,
    /// Refused by the candidate, accepted by the baseline.
    pub refused_now: u64,
    /// Accepted by the candidate, refused by the baseline (a shadow sees refused orders;
    /// a replay's orders were all accepted when placed).
    pub accepted_now: u64,
    pub faults: u64,
    /// Pricing: the total's differences, per currency.
    pub totals: Vec<TotalDifferences>,
    /// The orders whose total moves most, largest first.
    pub movers: Vec<OrderOutcome>,
    pub fuel: FuelReport,
    /// Orders the candidate decided otherwise (changed, refused, accepted or faulted) or
    /// logged on, in the order they were compared; the first [`KEPT_ORDERS`].
    pub orders: Vec<OrderOutcome>,
    /// Such orders beyond the first [`KEPT_ORDERS`], counted only.
    pub orders_left_out: u64,
}

/// The orders a report lists one by one; the counts cover every order.
pub const KEPT_ORDERS: usize = 100;

/// The movers a report lists.
const MOVERS: usize = 10;

/// Samples kept for the percentiles: a shadow runs for as long as ops leave it on, so its
/// distributions are over its first this many orders (counts, sums and extremes cover all).
const SAMPLES: usize = 200_000;

/// Observations added up; [`Tally::report`] summarises them at any time, and tallies of the
/// same candidate on several replicas [`Tally::merge`] into one.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Tally {
    report: Report,
    differences: BTreeMap<Currency, Differences>,
    candidate_fuel: Vec<u64>,
    active_fuel: Vec<u64>,
    movers: Vec<OrderOutcome>,
}

/// One currency's total differences: exact aggregates, and samples for the percentiles.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Differences {
    orders: u64,
    sum: i64,
    min: i64,
    max: i64,
    samples: Vec<i64>,
}

impl Default for Differences {
    fn default() -> Self {
        Differences {
            orders: 0,
            sum: 0,
            min: i64::MAX,
            max: i64::MIN,
            samples: Vec::new(),
        }
    }
}

impl Differences {
    fn add(&mut self, minor: i64) {
        self.orders += 1;
        self.sum = self.sum.saturating_add(minor);
        self.min = self.min.min(minor);
        self.max = self.max.max(minor);
        push(&mut self.samples, minor);
    }

    fn merge(&mut self, other: Differences) {
        self.orders += other.orders;
        self.sum = self.sum.saturating_add(other.sum);
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        extend(&mut self.samples, other.samples);
    }

    fn summary(&self, currency: Currency) -> TotalDifferences {
        let mut sorted = self.samples.clone();
        sorted.sort_unstable();
        TotalDifferences {
            currency,
            orders: self.orders,
            sum: self.sum,
            min: self.min,
            max: self.max,
            p50: percentile(&sorted, 50),
            p95: percentile(&sorted, 95),
        }
    }
}

fn push<T>(samples: &mut Vec<T>, value: T) {
    if samples.len() < SAMPLES {
        samples.push(value);
    }
}

/// Adds `more` to `samples`, up to [`SAMPLES`].
fn extend<T>(samples: &mut Vec<T>, more: Vec<T>) {
    let room = SAMPLES.saturating_sub(samples.len());
    samples.extend(more.into_iter().take(room));
}

/// Every `len / at_most`-th of `samples` (rounded up): an even sample of at most `at_most`.
fn thin<T: Copy>(samples: &[T], at_most: usize) -> Vec<T> {
    let step = samples.len().div_ceil(at_most.max(1)).max(1);
    samples.iter().step_by(step).copied().collect()
}

/// The nearest-rank percentile `p` of sorted `samples`.
fn percentile<T: Copy>(sorted: &[T], p: usize) -> T {
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank - 1]
}

fn fuel_percentiles(samples: &[u64]) -> Option<FuelPercentiles> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    Some(FuelPercentiles {
        p50: percentile(&sorted, 50),
        p99: percentile(&sorted, 99),
    })
}

/// How `candidate` compares with `baseline`.
fn classify(baseline: &Verdict, candidate: &Result<Verdict, String>) -> Verdicts {
    match (baseline, candidate) {
        (_, Err(_)) => Verdicts::Fault,
        (b, Ok(c)) if b == c => Verdicts::Identical,
        (Ok(_), Ok(Err(_))) => Verdicts::RefusedNow,
        (Err(_), Ok(Ok(_))) => Verdicts::AcceptedNow,
        _ => Verdicts::Changed,
    }
}

impl Tally {
    pub fn add(&mut self, seen: Observation) {
        let r = &mut self.report;
        r.compared += 1;
        let verdict = classify(&seen.baseline, &seen.candidate.outcome);
        *match verdict {
            Verdicts::Identical => &mut r.identical,
            Verdicts::Changed => &mut r.changed,
            Verdicts::RefusedNow => &mut r.refused_now,
            Verdicts::AcceptedNow => &mut r.accepted_now,
            Verdicts::Fault => &mut r.faults,
        } += 1;
        if let Some(fuel) = seen.candidate.fuel {
            push(&mut self.candidate_fuel, fuel);
            let used = fuel as f64 * 100.0 / seen.candidate.budget.max(1) as f64;
            self.closest_to_budget(used, seen.order_id);
        }
        if let Some(fuel) = seen.baseline_fuel {
            push(&mut self.active_fuel, fuel);
        }
        let before = seen.baseline.as_ref().ok().and_then(Answer::total);
        let after = match &seen.candidate.outcome {
            Ok(Ok(answer)) => answer.total(),
            _ => None,
        };
        let difference = match (before, after) {
            (Some(b), Some(a)) => a.checked_sub(b).ok(),
            _ => None,
        };
        if let Some(d) = difference {
            self.differences.entry(d.currency).or_default().add(d.minor);
        }
        let outcome = OrderOutcome {
            order_id: seen.order_id,
            order_number: seen.order_number,
            verdict,
            before,
            after,
            difference,
            problems: match &seen.candidate.outcome {
                Ok(Err(problems)) => problems.clone(),
                _ => Vec::new(),
            },
            fault: seen.candidate.outcome.err(),
            logs: seen.candidate.logs,
        };
        if difference.is_some_and(|d| d.minor != 0) {
            self.mover(&outcome);
        }
        if verdict != Verdicts::Identical || !outcome.logs.is_empty() {
            self.keep(outcome);
        }
    }

    /// Adds what `other` saw, of other orders (another replica's share of a shadow).
    pub fn merge(&mut self, other: Tally) {
        let (r, o) = (&mut self.report, other.report);
        r.compared += o.compared;
        r.identical += o.identical;
        r.changed += o.changed;
        r.refused_now += o.refused_now;
        r.accepted_now += o.accepted_now;
        r.faults += o.faults;
        r.orders_left_out += o.orders_left_out;
        if let Some(used) = o.fuel.most_budget_used_percent {
            self.closest_to_budget(used, o.fuel.closest_to_budget);
        }
        o.orders.into_iter().for_each(|outcome| self.keep(outcome));
        for (currency, differences) in other.differences {
            self.differences
                .entry(currency)
                .or_default()
                .merge(differences);
        }
        extend(&mut self.candidate_fuel, other.candidate_fuel);
        extend(&mut self.active_fuel, other.active_fuel);
        other.movers.iter().for_each(|m| self.mover(m));
    }

    /// This tally with at most `at_most` samples per distribution, evenly taken: what a
    /// replica publishes of its shadow (the counts, sums and extremes stay exact).
    pub fn thinned(&self, at_most: usize) -> Tally {
        let differences = (self.differences.iter())
            .map(|(currency, d)| {
                let samples = thin(&d.samples, at_most);
                (*currency, Differences { samples, ..*d })
            })
            .collect();
        Tally {
            report: self.report.clone(),
            differences,
            candidate_fuel: thin(&self.candidate_fuel, at_most),
            active_fuel: thin(&self.active_fuel, at_most),
            movers: self.movers.clone(),
        }
    }

    fn closest_to_budget(&mut self, used: f64, order: Option<OrderId>) {
        let fuel = &mut self.report.fuel;
        if fuel.most_budget_used_percent.is_none_or(|most| used > most) {
            fuel.most_budget_used_percent = Some(used);
            fuel.closest_to_budget = order;
        }
    }

    /// Lists `outcome` among the first [`KEPT_ORDERS`], or counts it.
    fn keep(&mut self, outcome: OrderOutcome) {
        let r = &mut self.report;
        if r.orders.len() < KEPT_ORDERS {
            r.orders.push(outcome);
        } else {
            r.orders_left_out += 1;
        }
    }

    /// Keeps `outcome` if it is among the [`MOVERS`] largest moves so far.
    fn mover(&mut self, outcome: &OrderOutcome) {
        let size = |o: &OrderOutcome| o.difference.map_or(0, |d| d.minor.unsigned_abs());
        if self.movers.len() == MOVERS
            && self.movers.last().is_some_and(|m| size(m) >= size(outcome))
        {
            return;
        }
        self.movers.push(outcome.clone());
        self.movers.sort_by_key(|m| std::cmp::Reverse(size(m)));
        self.movers.truncate(MOVERS);
    }

    /// The summary so far.
    pub fn report(&self) -> Report {
        let mut report = self.report.clone();
        report.totals = (self.differences.iter())
            .map(|(currency, differences)| differences.summary(*currency))
            .collect();
        report.movers = self.movers.clone();
        report.fuel.candidate = fuel_percentiles(&self.candidate_fuel);
        report.fuel.active = fuel_percentiles(&self.active_fuel);
        report
    }
}

#[cfg(test)]
mod tests;
