//! The outbox's shards: which part of the outbox a relay may publish.
//!
//! Every event belongs to the shard of its order ([`shard_of`]), so one order's events are
//! always relayed by one publisher, in order. A store held by one process relays every
//! shard itself ([`Shards::All`]); a store shared by replicas (MongoDB) has each shard
//! leased to one replica at a time, and a lease carries a fencing token that the store
//! checks when events are marked published, so a replica that lost its lease (a long
//! pause, a network split) can no longer mark anything.

use super::OrderId;
use std::time::Instant;

/// Shards the outbox is split into. Fixed: every replica must map an order to the same
/// shard, and 16 spreads evenly over up to 16 replicas.
pub const SHARDS: u16 = 16;

/// The shard of an order's events. The low bits of an order id are random (UUIDv7), so
/// orders spread evenly.
pub fn shard_of(order: OrderId) -> u16 {
    (order.as_uuid().as_u128() % u128::from(SHARDS)) as u16
}

/// One shard leased to this process: its events may be published and marked until
/// `valid_until` (a local deadline, kept short of the lease's expiry in the store).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    pub shard: u16,
    /// Increases with every new holder: a mark with an older token is refused.
    pub token: i64,
    pub valid_until: Instant,
}

/// The part of the outbox a relay pass covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shards {
    /// Every shard: the store is held by this process alone.
    All,
    /// The shards this process holds leases on.
    Leased(Vec<Lease>),
}

impl Shards {
    /// The shard numbers covered, for a store's query.
    pub fn numbers(&self) -> Vec<u16> {
        match self {
            Shards::All => (0..SHARDS).collect(),
            Shards::Leased(leases) => leases.iter().map(|l| l.shard).collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Shards::Leased(leases) if leases.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_spread_over_every_shard_and_keep_theirs() {
        let mut seen = [0u32; SHARDS as usize];
        for _ in 0..16_000 {
            let id = OrderId::new();
            assert_eq!(shard_of(id), shard_of(id));
            seen[usize::from(shard_of(id))] += 1;
        }
        // 1,000 expected per shard; a fair spread stays well within ±20 %.
        assert!(seen.iter().all(|n| (800..1200).contains(n)), "{seen:?}");
    }
}
