//! When a failed delivery is tried again: exponential back-off from 10 s, doubling, capped at
//! an hour between tries, for as long as the retry budget (24 hours unless configured) lasts
//! from the first try; after that the delivery is dead, kept for an admin to redeliver.
//! 32 tries over a day: quick ones for a receiver that blinked, hourly ones for one
//! that is down for the night.

use std::time::Duration;

/// The wait after the first failure.
const FIRST: Duration = Duration::from_secs(10);
/// The longest wait between two tries.
const LONGEST: Duration = Duration::from_secs(3600);
/// How long a delivery is tried from its first try, unless configured.
pub const BUDGET: Duration = Duration::from_secs(24 * 3600);

/// The retry schedule: how long deliveries are tried.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub budget: Duration,
    /// The wait after the first failure (shorter in tests).
    pub first: Duration,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            budget: BUDGET,
            first: FIRST,
        }
    }
}

impl Schedule {
    /// After `failures` failed tries, the first `since_first` ago: how long to wait before
    /// the next, or None when the budget is spent (the delivery is dead).
    pub fn next(&self, failures: u32, since_first: Duration) -> Option<Duration> {
        let doubled = 2u32.saturating_pow(failures.saturating_sub(1));
        let wait = self
            .first
            .saturating_mul(doubled)
            .min(LONGEST.max(self.first));
        (since_first + wait <= self.budget).then_some(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_from_ten_seconds_up_to_an_hour_within_a_day() {
        let schedule = Schedule::default();
        let waits: Vec<u64> = (1..=10)
            .map(|n| schedule.next(n, Duration::ZERO).unwrap().as_secs())
            .collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600]);
        // Every try within the day is made; the one past it is not.
        let (mut elapsed, mut tries) = (Duration::ZERO, 1);
        while let Some(wait) = schedule.next(tries, elapsed) {
            elapsed += wait;
            tries += 1;
        }
        assert!(
            elapsed <= BUDGET && elapsed > BUDGET - LONGEST,
            "{elapsed:?}"
        );
        assert_eq!(tries, 32);
    }
}
