//! Leases on the outbox's shards, for replicas that share one store: each shard is relayed
//! by one replica at a time, the shards spread over the live replicas, and a dead
//! replica's shards are taken over once its leases expire.
//!
//! Every [`RENEW`] the [`Leaser`] renews what it holds, gives up what is over its fair
//! share (the shards divided by the live replicas, rounded up) and claims expired or free
//! shards up to it. A lease lasts [`TTL`] in the store; locally it counts as valid for
//! less (the time a publish may take and a margin for clocks are kept in hand), so a
//! replica stops publishing a shard before anyone else may take it. Taking a lease over
//! increases its fencing token, which the store checks on every mark
//! ([`OrderStore::mark_published`](crate::orders::OrderStore::mark_published)).

use crate::domain::StoreError;
use crate::orders::outbox::{Lease, SHARDS, Shards};
use crate::replicas::Membership;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long a lease lasts in the store from its last renewal. A dead replica's shards
/// are taken over within this and one [`RENEW`].
pub const TTL: Duration = Duration::from_secs(6);
/// How often leases are renewed and the shards balanced: one write for all of them, and a
/// read of the others' only when one may have come free.
pub const RENEW: Duration = Duration::from_secs(2);
/// How long the producer keeps trying one message: a publish started under a valid lease
/// ends before the lease can pass to another replica.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest a replica holding less than its fair share goes without reading the leases
/// while the heartbeats show every shard relayed.
const LOOK_AGAIN: Duration = Duration::from_secs(30);
/// Clock difference between replicas the leases tolerate.
const CLOCK_MARGIN: Duration = Duration::from_secs(1);
/// Longest wait for the store in one step of a round: a stalled claim must not hold up the
/// next round's renewals, or the replica would lose the leases it has. What is left of a
/// lease's local validity once a round starts.
const STEP_TIMEOUT: Duration = TTL
    .saturating_sub(DELIVERY_TIMEOUT)
    .saturating_sub(CLOCK_MARGIN)
    .saturating_sub(RENEW);

/// `step` within [`STEP_TIMEOUT`]; a store that does not answer in time is unavailable.
async fn within<T>(
    step: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(STEP_TIMEOUT, step)
        .await
        .map_err(|_| StoreError::Unavailable("the lease store did not answer in time".into()))?
}

/// A shard's lease as the store has it.
#[derive(Debug, Clone, PartialEq)]
pub struct LeaseRecord {
    pub shard: u16,
    /// The incarnation holding it (empty when released).
    pub holder: String,
    pub token: i64,
    pub expires_at: DateTime<Utc>,
}

/// What the relay needs of a shared store to lease shards.
#[async_trait]
pub trait LeaseStore: Send + Sync + 'static {
    /// Every shard's lease (a shard never leased yet has none).
    async fn leases(&self) -> Result<Vec<LeaseRecord>, StoreError>;

    /// Takes `shard` for `holder` until `expires_at` if its lease has expired or was given
    /// up (or it never had one): the new fencing token, or None if someone holds it.
    async fn claim(
        &self,
        shard: u16,
        holder: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError>;

    /// Extends every lease of `held` (shard, token) that `holder` still has under its
    /// token, in one round trip: how many were.
    async fn renew_all(
        &self,
        held: &[(u16, i64)],
        holder: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<usize, StoreError>;

    /// Extends the lease if `holder` still has it under `token`; false if not.
    async fn renew(
        &self,
        shard: u16,
        token: i64,
        holder: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Gives the lease up now, so another replica need not wait for it to expire.
    async fn release(&self, shard: u16, token: i64, holder: &str) -> Result<(), StoreError>;
}

/// Keeps this process's fair share of leases and tells the relay which shards it holds.
pub struct Leaser {
    store: Arc<dyn LeaseStore>,
    membership: Arc<Membership>,
    held: Vec<Lease>,
    shards: watch::Sender<Shards>,
    /// When the leases were last read: a replica reads them only when the heartbeats
    /// show a shard that no live replica relays, or after [`LOOK_AGAIN`].
    looked_at: Option<Instant>,
}

impl Leaser {
    /// The leaser and what the relay watches: the shards held, none at first.
    pub fn new(
        store: Arc<dyn LeaseStore>,
        membership: Arc<Membership>,
    ) -> (Self, watch::Receiver<Shards>) {
        let (shards, watched) = watch::channel(Shards::Leased(Vec::new()));
        let leaser = Leaser {
            store,
            membership,
            held: Vec::new(),
            shards,
            looked_at: None,
        };
        (leaser, watched)
    }

    /// Balances every [`RENEW`] until the process ends.
    pub async fn run(mut self) {
        let mut tick = tokio::time::interval(RENEW);
        loop {
            tick.tick().await;
            if let Err(e) = self.balance().await {
                tracing::warn!(error = %e, "relay leases not balanced; trying again");
            }
            self.publish();
        }
    }

    fn holder(&self) -> &str {
        &self.membership.identity.incarnation
    }

    fn publish(&mut self) {
        // A lease whose local validity ran out (the store did not answer in time) is no
        // longer relayed, whether or not the store still has it.
        let now = Instant::now();
        let before = self.held.len();
        self.held.retain(|l| l.valid_until > now);
        if self.held.len() < before {
            self.looked_at = None;
        }
        self.membership
            .set_shards(self.held.iter().map(|l| l.shard).collect());
        self.shards.send_replace(Shards::Leased(self.held.clone()));
    }

    /// One round: renew, give up the excess, claim up to the fair share.
    async fn balance(&mut self) -> Result<(), StoreError> {
        let fair = usize::from(SHARDS).div_ceil(self.membership.live_count());
        let (started, now) = (Instant::now(), Utc::now());
        let expires_at = now + TTL;
        let mut kept = Vec::with_capacity(self.held.len());
        let mut failure = None;
        // The renewals go first: they are what keeps the leases. One write renews them
        // all; only if some were lost is each asked on its own, to learn which.
        let held = std::mem::take(&mut self.held);
        let pairs: Vec<(u16, i64)> = held.iter().map(|l| (l.shard, l.token)).collect();
        let all = match pairs.is_empty() {
            true => Ok(0),
            false => within(self.store.renew_all(&pairs, self.holder(), expires_at)).await,
        };
        // Per lease: renewed, lost, or unknown (the store did not answer).
        let renewed: Vec<Option<bool>> = match all {
            Ok(n) if n == held.len() => vec![Some(true); n],
            Ok(_) => {
                let each = held.iter().map(|lease| {
                    within(
                        self.store
                            .renew(lease.shard, lease.token, self.holder(), expires_at),
                    )
                });
                let answers = futures_util::future::join_all(each).await;
                (answers.into_iter())
                    .map(|answer| match answer {
                        Ok(renewed) => Some(renewed),
                        Err(e) => {
                            failure.get_or_insert(e);
                            None
                        }
                    })
                    .collect()
            }
            Err(e) => {
                failure = Some(e);
                vec![None; held.len()]
            }
        };
        for (lease, renewed) in held.into_iter().zip(renewed) {
            match renewed {
                Some(true) => kept.push(Lease {
                    valid_until: valid_until(started),
                    ..lease
                }),
                Some(false) => {
                    tracing::warn!(shard = lease.shard, "relay lease lost");
                    self.looked_at = None;
                }
                // Unknown: kept until its local validity runs out.
                None => kept.push(lease),
            }
        }
        self.held = kept;
        if let Some(e) = failure {
            return Err(e);
        }
        // What the others relay, as their last heartbeats said. While one of them holds
        // less than the shards divided by the replicas (rounded down), the others aim at
        // that and give up the rest; otherwise each aims at its fair share. So 16 shards
        // on 3 replicas settle 6/5/5, and a replica that joins gets its share.
        let others: Vec<Vec<u16>> = (self.membership.live().into_iter())
            .filter(|beat| beat.incarnation != self.holder())
            .map(|beat| beat.shards)
            .collect();
        let floor = usize::from(SHARDS) / self.membership.live_count();
        let keep = match others.iter().any(|shards| shards.len() < floor) {
            true => floor,
            false => fair,
        };
        while self.held.len() > keep {
            let lease = self.held.pop().expect("more than the fair share");
            within(self.store.release(lease.shard, lease.token, self.holder())).await?;
            tracing::info!(
                shard = lease.shard,
                "relay lease given up for another replica"
            );
        }
        let relayed = |shard: u16| {
            self.held.iter().any(|l| l.shard == shard)
                || others.iter().flatten().any(|s| *s == shard)
        };
        let unrelayed = (0..SHARDS).any(|shard| !relayed(shard));
        let stale = self.looked_at.is_none_or(|at| at.elapsed() > LOOK_AGAIN);
        if self.held.len() < keep && (unrelayed || stale) {
            let leases = within(self.store.leases()).await?;
            self.looked_at = Some(Instant::now());
            for shard in claimable(&leases, now) {
                if self.held.len() >= keep {
                    break;
                }
                let claimed =
                    within(self.store.claim(shard, self.holder(), now, expires_at)).await?;
                if let Some(token) = claimed {
                    tracing::info!(shard, token, "relay lease taken");
                    self.held.push(Lease {
                        shard,
                        token,
                        valid_until: valid_until(started),
                    });
                }
            }
        }
        Ok(())
    }
}

/// Until when a lease renewed from `started` may be used: its expiry less the time a
/// publish may take and the clock margin.
fn valid_until(started: Instant) -> Instant {
    started + TTL - DELIVERY_TIMEOUT - CLOCK_MARGIN
}

/// Shards whose lease expired or was given up (or that never had one), in an order that
/// differs from replica to replica so that replicas starting together do not all go for
/// the same shards.
fn claimable(leases: &[LeaseRecord], now: DateTime<Utc>) -> Vec<u16> {
    let taken: Vec<u16> = leases
        .iter()
        .filter(|l| !l.holder.is_empty() && l.expires_at > now)
        .map(|l| l.shard)
        .collect();
    let mut free: Vec<u16> = (0..SHARDS).filter(|s| !taken.contains(s)).collect();
    let start = rand_index(free.len());
    free.rotate_left(start);
    free
}

fn rand_index(len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    (uuid::Uuid::new_v4().as_u128() % len as u128) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(shard: u16, holder: &str, expires_in_secs: i64) -> LeaseRecord {
        LeaseRecord {
            shard,
            holder: holder.into(),
            token: 1,
            expires_at: Utc::now() + chrono::Duration::seconds(expires_in_secs),
        }
    }

    #[test]
    fn only_expired_released_or_never_leased_shards_are_claimable() {
        let leases = [record(0, "a", 5), record(1, "a", -1), record(2, "", 5)];
        let mut free = claimable(&leases, Utc::now());
        free.sort();
        assert_eq!(free, (1..SHARDS).collect::<Vec<_>>());
    }

    #[test]
    fn a_lease_is_used_well_before_it_can_pass_to_another_replica() {
        let started = Instant::now();
        assert!(valid_until(started) + DELIVERY_TIMEOUT + CLOCK_MARGIN <= started + TTL);
        assert!(valid_until(started) > started + RENEW);
    }
}
