use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// An order's identity. UUIDv7: time-ordered, so new orders land at the end of indexes.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
#[schema(value_type = String, format = Uuid)]
pub struct OrderId(Uuid);

impl OrderId {
    pub fn new() -> Self {
        OrderId(Uuid::now_v7())
    }
}

impl Default for OrderId {
    fn default() -> Self {
        Self::new()
    }
}

impl FromStr for OrderId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(OrderId)
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The number people quote on the phone: `ORD-YYMMDD-XXXXXX`, the suffix in Crockford
/// base32 (no I, L, O, U: nothing to misread). Unique by index; a clash is retried.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(transparent)]
#[schema(value_type = String, example = "ORD-261125-7K2QX9")]
pub struct OrderNumber(String);

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl OrderNumber {
    /// `ORD-<yymmdd>-<time><random>`: the day, the time of day in 4 ms steps (5 Crockford
    /// base-32 digits, most significant first) and 20 random bits (4 digits). Numbers
    /// of one day sort by the time they were made, so each new one lands at the end of
    /// the store's unique index instead of on a random page of it (a random page per order
    /// was a tenth of what the embedded store wrote); the random part keeps two orders of
    /// one 4 ms step apart (a clash is retried).
    pub fn generate(at: chrono::DateTime<chrono::Utc>) -> Self {
        use chrono::Timelike;
        let step = u128::from(at.time().num_seconds_from_midnight()) * 250
            + u128::from(at.timestamp_subsec_millis().min(999)) / 4;
        let digits = (step << 20) | (Uuid::new_v4().as_u128() & 0xF_FFFF);
        let suffix: String = (0..9)
            .rev()
            .map(|i| CROCKFORD[((digits >> (i * 5)) & 31) as usize] as char)
            .collect();
        OrderNumber(format!("ORD-{}-{suffix}", at.format("%y%m%d")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for OrderNumber {
    /// For numbers read back from a store; new numbers come from `generate`.
    fn from(s: String) -> Self {
        OrderNumber(s)
    }
}

impl fmt::Display for OrderNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_numbers_are_readable_distinct_and_in_time_order() {
        use chrono::TimeZone;
        let at = chrono::Utc
            .with_ymd_and_hms(2026, 11, 25, 9, 30, 0)
            .unwrap();
        let numbers: std::collections::BTreeSet<_> =
            (0..1000).map(|_| OrderNumber::generate(at)).collect();
        assert_eq!(numbers.len(), 1000);
        let n = numbers.first().unwrap().as_str();
        assert!(n.starts_with("ORD-261125-") && n.len() == 20, "{n}");
        assert!(n[11..].bytes().all(|b| CROCKFORD.contains(&b)));
        let later = |ms| OrderNumber::generate(at + chrono::Duration::milliseconds(ms));
        assert!(numbers.last().unwrap() < &later(4));
        assert!(later(4) < later(3_600_000));
        let last_step = chrono::Utc
            .with_ymd_and_hms(2026, 11, 25, 23, 59, 59)
            .unwrap()
            + chrono::Duration::milliseconds(999);
        assert!(OrderNumber::generate(last_step).as_str() > later(0).as_str());
    }

    #[test]
    fn ids_round_trip() {
        let id = OrderId::new();
        assert_eq!(id.to_string().parse::<OrderId>().unwrap(), id);
        assert!("not-a-uuid".parse::<OrderId>().is_err());
    }
}
