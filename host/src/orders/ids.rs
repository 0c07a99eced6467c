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

    pub fn as_uuid(&self) -> &Uuid {
        &self.0
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
    /// base-32 digits, most significant first) and 25 random bits (5 digits). Numbers
    /// of one day sort by the time they were made, so each new one lands at the end of
    /// the store's unique index instead of on a random page of it (a random page per order
    /// was a tenth of what the embedded store wrote); the random part keeps two orders of
    /// one 4 ms step apart (a clash is retried).
    pub fn generate(at: chrono::DateTime<chrono::Utc>) -> Self {
        use chrono::Timelike;
        let step = u128::from(at.time().num_seconds_from_midnight()) * 250
            + u128::from(at.timestamp_subsec_millis().min(999)) / 4;
        let digits = (step << 25) | (Uuid::new_v4().as_u128() & 0x1FF_FFFF);
        let suffix: String = (0..10)
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
    fn order_numbers_are_readable_and_in_time_order() {
        use chrono::TimeZone;
        let start = chrono::Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).unwrap();
        // Numbers through the day, a few 4 ms apart, and the last step of the day: each
        // sorts after the one before, whatever its random part.
        let mut at: Vec<i64> = (0..1000).map(|i| 86_400 * i).collect();
        at.extend((1..10).map(|i| 40_000_000 + 4 * i));
        at.push(86_399_999);
        at.sort();
        let numbers: Vec<OrderNumber> = at
            .into_iter()
            .map(|ms| OrderNumber::generate(start + chrono::Duration::milliseconds(ms)))
            .collect();
        assert!(numbers.windows(2).all(|w| w[0].as_str() < w[1].as_str()));
        for n in &numbers {
            let n = n.as_str();
            assert!(n.starts_with("ORD-261125-") && n.len() == 21, "{n}");
            assert!(n[11..].bytes().all(|b| CROCKFORD.contains(&b)), "{n}");
        }
    }

    #[test]
    fn ids_round_trip() {
        let id = OrderId::new();
        assert_eq!(id.to_string().parse::<OrderId>().unwrap(), id);
        assert!("not-a-uuid".parse::<OrderId>().is_err());
    }
}
