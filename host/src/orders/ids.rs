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
    pub fn generate(on: chrono::NaiveDate) -> Self {
        let random = Uuid::new_v4().as_u128();
        let suffix: String = (0..6)
            .map(|i| CROCKFORD[((random >> (i * 5)) & 31) as usize] as char)
            .collect();
        OrderNumber(format!("ORD-{}-{suffix}", on.format("%y%m%d")))
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
    fn order_numbers_are_readable_and_distinct() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let numbers: std::collections::BTreeSet<_> =
            (0..1000).map(|_| OrderNumber::generate(day)).collect();
        assert_eq!(numbers.len(), 1000);
        let n = numbers.first().unwrap().as_str();
        assert!(n.starts_with("ORD-261125-") && n.len() == 17, "{n}");
        assert!(n[11..].bytes().all(|b| CROCKFORD.contains(&b)));
    }

    #[test]
    fn ids_round_trip() {
        let id = OrderId::new();
        assert_eq!(id.to_string().parse::<OrderId>().unwrap(), id);
        assert!("not-a-uuid".parse::<OrderId>().is_err());
    }
}
