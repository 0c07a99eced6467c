//! Plugin calls per hour, by outcome, over the last [`HOURS`] hours of this replica: what
//! the console's overview charts. Prometheus keeps the long history; this costs a decision
//! one relaxed atomic add, and a sampler (every minute, and before each read) moves what
//! was counted into the hour it is. Replicas send theirs with each heartbeat, and the API
//! adds the live replicas' up ([`add_up`]).

use super::Outcome;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The hours kept.
pub const HOURS: usize = 48;

/// One plugin's calls by outcome, since the process started.
#[derive(Debug, Default)]
pub struct Totals([AtomicU64; 3]);

impl Totals {
    pub fn add(&self, outcome: Outcome) {
        self.0[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    fn read(&self) -> [u64; 3] {
        self.0.each_ref().map(|n| n.load(Ordering::Relaxed))
    }
}

/// A plugin's calls in one hour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HourCount {
    /// The hour's start.
    pub hour: DateTime<Utc>,
    pub decided: u64,
    pub refused: u64,
    pub faults: u64,
}

struct Plugin {
    totals: Arc<Totals>,
    /// The totals the last sample saw.
    seen: [u64; 3],
    /// Oldest first; hours without calls are left out.
    hours: VecDeque<HourCount>,
}

#[derive(Default)]
pub struct Activity {
    plugins: Mutex<HashMap<String, Plugin>>,
}

impl Activity {
    fn plugins(&self) -> std::sync::MutexGuard<'_, HashMap<String, Plugin>> {
        self.plugins.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The counters of `plugin`'s calls, shared by every binding of it.
    pub fn totals(&self, plugin: &str) -> Arc<Totals> {
        let mut plugins = self.plugins();
        let entry = plugins.entry(plugin.to_owned()).or_insert_with(|| Plugin {
            totals: Arc::default(),
            seen: [0; 3],
            hours: VecDeque::new(),
        });
        entry.totals.clone()
    }

    /// Moves what each plugin counted since the last sample into the hour `now` is in.
    pub fn sample(&self, now: DateTime<Utc>) {
        let hour = now.duration_trunc(TimeDelta::hours(1)).unwrap_or(now);
        for plugin in self.plugins().values_mut() {
            let totals = plugin.totals.read();
            let delta: [u64; 3] = std::array::from_fn(|i| totals[i] - plugin.seen[i]);
            plugin.seen = totals;
            if delta == [0; 3] {
                continue;
            }
            if plugin.hours.back().is_none_or(|h| h.hour != hour) {
                plugin.hours.push_back(HourCount {
                    hour,
                    decided: 0,
                    refused: 0,
                    faults: 0,
                });
            }
            let current = plugin.hours.back_mut().expect("pushed above");
            current.decided += delta[0];
            current.refused += delta[1];
            current.faults += delta[2];
            while plugin
                .hours
                .front()
                .is_some_and(|h| hour - h.hour >= TimeDelta::hours(HOURS as i64))
            {
                plugin.hours.pop_front();
            }
        }
    }

    /// `plugin`'s calls per hour, oldest first, as of `now`.
    pub fn hours(&self, plugin: &str, now: DateTime<Utc>) -> Vec<HourCount> {
        self.sample(now);
        (self.plugins().get(plugin)).map_or_else(Vec::new, |p| p.hours.iter().cloned().collect())
    }

    /// Every plugin's calls per hour that had any, as of `now`.
    pub fn all_hours(&self, now: DateTime<Utc>) -> BTreeMap<String, Vec<HourCount>> {
        self.sample(now);
        (self.plugins().iter())
            .filter(|(_, p)| !p.hours.is_empty())
            .map(|(name, p)| (name.clone(), p.hours.iter().cloned().collect()))
            .collect()
    }
}

/// Several replicas' calls per hour of one plugin, added up hour by hour, oldest first.
pub fn add_up<'a>(parts: impl IntoIterator<Item = &'a [HourCount]>) -> Vec<HourCount> {
    let mut hours: BTreeMap<DateTime<Utc>, HourCount> = BTreeMap::new();
    for count in parts.into_iter().flatten() {
        let sum = hours.entry(count.hour).or_insert_with(|| HourCount {
            hour: count.hour,
            decided: 0,
            refused: 0,
            faults: 0,
        });
        sum.decided += count.decided;
        sum.refused += count.refused;
        sum.faults += count.faults;
    }
    hours.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_land_in_the_hour_they_were_sampled_in_and_old_hours_go() {
        let activity = Activity::default();
        let totals = activity.totals("pricing");
        let at = |h: i64| DateTime::from_timestamp(1_796_000_400 + h * 3600, 0).unwrap();
        totals.add(Outcome::Decided);
        totals.add(Outcome::Fault);
        activity.sample(at(0));
        totals.add(Outcome::Refused);
        activity.sample(at(0) + TimeDelta::minutes(30));
        totals.add(Outcome::Decided);
        let hours = activity.hours("pricing", at(2));
        let counts: Vec<[u64; 3]> = hours
            .iter()
            .map(|h| [h.decided, h.refused, h.faults])
            .collect();
        assert_eq!(counts, [[1, 1, 1], [1, 0, 0]]);
        assert_eq!(hours[1].hour - hours[0].hour, TimeDelta::hours(2));
        activity.totals("pricing").add(Outcome::Fault);
        assert_eq!(
            activity.hours("pricing", at(2 + HOURS as i64)).len(),
            1,
            "the old hours are gone"
        );
        assert!(activity.hours("unknown", at(0)).is_empty());
    }

    #[test]
    fn replicas_hours_add_up_hour_by_hour() {
        let at = |h: i64| DateTime::from_timestamp(1_796_000_400 + h * 3600, 0).unwrap();
        let count = |h, decided, refused, faults| HourCount {
            hour: at(h),
            decided,
            refused,
            faults,
        };
        let one = [count(0, 1, 2, 3), count(2, 4, 0, 0)];
        let two = [count(1, 5, 0, 0), count(2, 1, 1, 1)];
        assert_eq!(
            add_up([one.as_slice(), two.as_slice(), &[]]),
            [count(0, 1, 2, 3), count(1, 5, 0, 0), count(2, 5, 1, 1)]
        );
    }
}
