//! Stock: what a product has on hand, what live orders hold of it, and how a write of an
//! order changes both. A store applies an order's stock moves in the same atomic write as
//! the order, so the ledger is always the sum over the orders it was written with.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One product's ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StockLevel {
    /// Units in the warehouse: seeded from the product's stock the first time an order
    /// reserves it, then moved by the product service's own changes of that figure, by
    /// shipments and returns, and by adjustments.
    pub on_hand: i64,
    /// Units held by live orders not shipped yet.
    pub reserved: i64,
}

impl StockLevel {
    /// What a new order may still reserve (negative: backordered).
    pub fn available(&self) -> i64 {
        self.on_hand - self.reserved
    }
}

/// A product's ledger as a store keeps it: its level, and the figure of the product's
/// source it last followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ledger {
    pub level: StockLevel,
    pub source: i64,
}

impl Ledger {
    /// The level of `ledger` once `source` (the product's stock as its source reports it
    /// now, if known) is followed: on hand moves by what the source reported since; a ledger
    /// not started yet is seeded with it.
    pub fn followed(ledger: Option<&Ledger>, source: Option<i64>) -> StockLevel {
        match ledger {
            None => StockLevel {
                on_hand: source.unwrap_or(0),
                reserved: 0,
            },
            Some(ledger) => StockLevel {
                on_hand: ledger.level.on_hand + source.map_or(0, |now| now - ledger.source),
                reserved: ledger.level.reserved,
            },
        }
    }
}

/// How one write of an order changes one product's ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockMove {
    pub product_id: String,
    /// Units reserved (positive) or released (negative).
    pub reserved: i64,
    /// Units come in (positive: a return) or gone out (negative: a shipment).
    pub on_hand: i64,
    /// The product's stock as its source reports it now (a placement's snapshot): a ledger
    /// seeded from an older figure moves by the difference first.
    pub source: Option<i64>,
    /// How far under zero a reservation may take what is available (the workflow's
    /// backorders).
    pub backorders: i64,
    /// Under how many available units a reservation raises an alert (the workflow's
    /// `low_stock`).
    pub low_stock: Option<i64>,
}

impl StockMove {
    /// Whether the move can be refused: only taking units can run out.
    pub fn reserves(&self) -> bool {
        self.reserved > 0
    }

    /// The alert this move raises when its product had `before` units available: a
    /// reservation that takes what is available from at least the threshold to under it.
    /// Raised once per crossing, by the write that crosses.
    pub fn alert(&self, before: i64) -> Option<StockAlert> {
        let threshold = self.low_stock.filter(|_| self.reserves())?;
        let after = before + self.on_hand - self.reserved;
        (before >= threshold && after < threshold).then(|| StockAlert {
            product_id: self.product_id.clone(),
            available: after,
            threshold,
        })
    }
}

/// A product's available units fell under its workflow's threshold: what a `stock.low`
/// event says beside the order whose reservation took them there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StockAlert {
    pub product_id: String,
    /// Available once the reservation was made.
    pub available: i64,
    pub threshold: i64,
}

/// A reservation refused: the product and what was still available.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortage {
    pub product_id: String,
    pub available: i64,
}

/// What a workflow says of stock (`[stock]` in its file).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StockPolicy {
    /// Whether its orders hold their units from placement until they ship.
    #[serde(default)]
    pub reserve: bool,
    /// How long an unpaid order holds them (unset: until it ships or is cancelled).
    #[serde(default, deserialize_with = "duration")]
    pub reservation_ttl: Option<Duration>,
    /// What becomes of an unpaid order once its time is up.
    #[serde(default)]
    pub on_expiry: OnExpiry,
    /// Units a product may be reserved beyond what it has.
    #[serde(default)]
    pub backorders: u32,
    /// A `stock.low` event when a reservation takes what is available of a product under
    /// this many units (unset: none).
    #[serde(default)]
    pub low_stock: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnExpiry {
    /// The order is cancelled, and its units go back.
    #[default]
    Cancel,
    /// The order stays, its units go back.
    Release,
}

/// A duration as people write it: "15m", "2h", "1h 30m".
fn duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map(Some).map_err(|e| {
        serde::de::Error::custom(format!("`{text}` is not a duration (e.g. \"15m\"): {e}"))
    })
}
