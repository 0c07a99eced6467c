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
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long a lease lasts in the store from its last renewal. A dead replica's shards
/// are taken over within this and one [`RENEW`]. Long enough that a store answering in up
/// to [`SLOW_STORE`] keeps every lease: renewals start every [`RENEW`] whether or not the
/// last one answered, and each keeps the lease usable for [`USABLE`] from its start.
pub const TTL: Duration = Duration::from_secs(7);
/// How often leases are renewed and the shards balanced: one write for all of them, and a
/// read of the others' only when one may have come free.
pub const RENEW: Duration = Duration::from_secs(2);
/// How long the producer keeps trying one message: a publish started under a valid lease
/// ends before the lease can pass to another replica.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(1);
/// The longest a replica holding less than its fair share goes without reading the leases
/// while the heartbeats show every shard relayed.
const LOOK_AGAIN: Duration = Duration::from_secs(30);
/// Claims in flight at once: with the renewals and the heartbeat, within the connections
/// the store keeps for coordination.
const CLAIMS_AT_ONCE: usize = 3;
/// Clock difference between replicas the leases tolerate.
const CLOCK_MARGIN: Duration = Duration::from_secs(1);
/// How long a lease may be used from the start of the renewal that extended it: its
/// expiry less the time a publish may take and the clock margin.
const USABLE: Duration = TTL
    .saturating_sub(DELIVERY_TIMEOUT)
    .saturating_sub(CLOCK_MARGIN);
/// The slowest store under which every lease is kept: a renewal answered in this keeps
/// the lease usable until the next one answers.
pub const SLOW_STORE: Duration = USABLE.saturating_sub(RENEW);

/// `step` within `limit`; a store that does not answer in time is unavailable.
async fn within<T>(
    limit: Duration,
    step: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(limit, step)
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

    /// Takes `shard` for `holder` until `expires_at` if its lease has expired, was given
    /// up, never existed, or is still `holder`'s in the store though no longer used (a
    /// renewal that answered too late): the new fencing token, or None if someone else
    /// holds it.
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

    /// Every [`RENEW`] until the process ends: starts renewing what it holds, without
    /// waiting for the last renewal (a slow store must not space them out), and starts
    /// balancing unless the last balancing is still under way. Both run beside this loop,
    /// which applies their answers as they come: under a slow store, claims never hold up
    /// the renewals.
    pub async fn run(mut self) {
        let mut tick = tokio::time::interval(RENEW);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut renewals = tokio::task::JoinSet::new();
        let mut balancing = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if !self.held.is_empty() {
                        let (store, holder) = (self.store.clone(), self.holder().to_owned());
                        renewals.spawn(renew(store, holder, self.held.clone()));
                    }
                    if balancing.is_empty() {
                        balancing.spawn(self.balance());
                    }
                }
                Some(Ok(renewed)) = renewals.join_next(), if !renewals.is_empty() => {
                    self.renewed(renewed);
                }
                Some(Ok(balanced)) = balancing.join_next(), if !balancing.is_empty() => {
                    self.balanced(balanced);
                }
            }
            self.publish();
        }
    }

    /// Takes the leases a balancing claimed.
    fn balanced(&mut self, balanced: Balanced) {
        if let Some(e) = &balanced.failure {
            tracing::warn!(error = %e, "relay leases not balanced; trying again");
        }
        if balanced.looked {
            self.looked_at = Some(Instant::now());
        }
        for lease in balanced.claimed {
            if !self.held.iter().any(|l| l.shard == lease.shard) {
                self.held.push(lease);
            }
        }
    }

    /// Applies a renewal's answer to the leases still held under the tokens it renewed.
    fn renewed(&mut self, renewed: Renewed) {
        if let Some(e) = &renewed.failure {
            tracing::warn!(error = %e, "relay leases not renewed; trying again");
        }
        for (asked, answer) in renewed.asked.iter().zip(&renewed.answers) {
            let Some(at) =
                (self.held.iter()).position(|l| l.shard == asked.shard && l.token == asked.token)
            else {
                continue; // given up or taken again since
            };
            match answer {
                Some(true) => {
                    let lease = &mut self.held[at];
                    lease.valid_until = lease.valid_until.max(renewed.started + USABLE);
                }
                Some(false) => {
                    tracing::warn!(shard = asked.shard, "relay lease lost");
                    self.held.remove(at);
                    self.looked_at = None;
                }
                // Unknown: kept until its local validity runs out.
                None => {}
            }
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

    /// One round's plan, made now: the excess is given up at once (no longer relayed from
    /// this moment), and the store is told, and asked for free shards up to the fair share,
    /// by the future this returns (bounded by how long a claimed lease is usable).
    fn balance(&mut self) -> impl std::future::Future<Output = Balanced> + Send + 'static {
        let fair = usize::from(SHARDS).div_ceil(self.membership.live_count());
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
        let excess: Vec<Lease> = match self.held.len() > keep {
            true => self.held.split_off(keep),
            false => Vec::new(),
        };
        let relayed = |shard: u16| {
            self.held.iter().any(|l| l.shard == shard)
                || others.iter().flatten().any(|s| *s == shard)
        };
        let unrelayed = (0..SHARDS).any(|shard| !relayed(shard));
        let stale = self.looked_at.is_none_or(|at| at.elapsed() > LOOK_AGAIN);
        let wanted = match unrelayed || stale {
            true => keep.saturating_sub(self.held.len()),
            false => 0,
        };
        let (store, holder) = (self.store.clone(), self.holder().to_owned());
        let used: Vec<u16> = self.held.iter().map(|l| l.shard).collect();
        async move {
            let mut balanced = Balanced::default();
            let wanted = Wanted {
                count: wanted,
                used,
            };
            if let Err(e) = claim(&store, &holder, excess, wanted, &mut balanced).await {
                balanced.failure = Some(e);
            }
            balanced
        }
    }
}

/// What a balancing did: whether it read the leases, what it claimed, why it stopped.
#[derive(Default)]
struct Balanced {
    looked: bool,
    claimed: Vec<Lease>,
    failure: Option<StoreError>,
}

/// How many more shards a balancing claims, beside those its replica uses.
struct Wanted {
    count: usize,
    used: Vec<u16>,
}

/// Gives `excess` up in the store, then, if any are `wanted`, reads the leases and claims up
/// to that many free shards for `holder`, recording each in `balanced` as it goes.
async fn claim(
    store: &Arc<dyn LeaseStore>,
    holder: &str,
    excess: Vec<Lease>,
    wanted: Wanted,
    balanced: &mut Balanced,
) -> Result<(), StoreError> {
    for lease in excess {
        within(USABLE, store.release(lease.shard, lease.token, holder)).await?;
        tracing::info!(
            shard = lease.shard,
            "relay lease given up for another replica"
        );
    }
    if wanted.count == 0 {
        return Ok(());
    }
    let leases = within(USABLE, store.leases()).await?;
    balanced.looked = true;
    // A few claimed at a time, each usable from when it was sent, not from the read before
    // it: over a slow store each is a round trip of seconds, and the renewals must find a
    // connection free beside them. One another replica claimed first is simply not ours;
    // the next round tries others. A claim answered later than its usable time is of a
    // lease that is already no use, so that is as long as it is waited for.
    let free = claimable(&leases, holder, &wanted.used, Utc::now());
    let claims = (free.into_iter().take(wanted.count)).map(|shard| async move {
        let (started, now) = (Instant::now(), Utc::now());
        let claimed = within(USABLE, store.claim(shard, holder, now, now + TTL)).await;
        (shard, started, claimed)
    });
    let mut claims = futures_util::stream::iter(claims).buffer_unordered(CLAIMS_AT_ONCE);
    let mut failure = None;
    while let Some((shard, started, claimed)) = claims.next().await {
        match claimed {
            Ok(Some(token)) => {
                tracing::info!(shard, token, "relay lease taken");
                balanced.claimed.push(Lease {
                    shard,
                    token,
                    valid_until: started + USABLE,
                });
            }
            Ok(None) => {}
            Err(e) => failure = Some(e),
        }
    }
    failure.map_or(Ok(()), Err)
}

/// A renewal's answer: when it started, what it asked for, and for each lease whether it
/// was renewed, lost, or unknown (the store did not answer).
struct Renewed {
    started: Instant,
    asked: Vec<Lease>,
    answers: Vec<Option<bool>>,
    failure: Option<StoreError>,
}

/// Renews `held` for `holder`: one write for all of them; only if some were lost is each
/// asked on its own, to learn which. An answer later than the leases' usable time is no
/// use, so that is as long as it is waited for.
async fn renew(store: Arc<dyn LeaseStore>, holder: String, held: Vec<Lease>) -> Renewed {
    let (started, now) = (Instant::now(), Utc::now());
    let expires_at = now + TTL;
    let pairs: Vec<(u16, i64)> = held.iter().map(|l| (l.shard, l.token)).collect();
    let mut failure = None;
    let answers = match within(USABLE, store.renew_all(&pairs, &holder, expires_at)).await {
        Ok(n) if n == held.len() => vec![Some(true); n],
        Ok(_) => {
            let each = held.iter().map(|lease| {
                within(
                    USABLE,
                    store.renew(lease.shard, lease.token, &holder, expires_at),
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
    Renewed {
        started,
        asked: held,
        answers,
        failure,
    }
}

/// Shards whose lease expired or was given up (or that never had one), or that the store
/// still gives `holder` though it no longer `used` them, in an order that differs from
/// replica to replica so that replicas starting together do not all go for the same shards.
fn claimable(leases: &[LeaseRecord], holder: &str, used: &[u16], now: DateTime<Utc>) -> Vec<u16> {
    let held_by_another =
        |l: &&LeaseRecord| !l.holder.is_empty() && l.holder != holder && l.expires_at > now;
    let taken: Vec<u16> = (leases.iter().filter(held_by_another).map(|l| l.shard))
        .chain(used.iter().copied())
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
        let mut free = claimable(&leases, "b", &[], Utc::now());
        free.sort();
        assert_eq!(free, (1..SHARDS).collect::<Vec<_>>());
    }

    #[test]
    fn a_replica_takes_again_what_the_store_still_gives_it_but_not_what_it_uses() {
        let leases = [record(0, "a", 5), record(1, "b", 5), record(2, "b", 5)];
        let mut free = claimable(&leases, "b", &[2], Utc::now());
        free.sort();
        assert_eq!(free, (1..SHARDS).filter(|&s| s != 2).collect::<Vec<_>>());
    }

    #[test]
    fn a_lease_is_used_well_before_it_can_pass_to_another_replica() {
        assert!(USABLE + DELIVERY_TIMEOUT + CLOCK_MARGIN <= TTL);
        // Renewals every RENEW, each answered within SLOW_STORE, keep it usable.
        assert!(SLOW_STORE >= Duration::from_secs(3), "{SLOW_STORE:?}");
        // A dead replica's shards are taken over within 10 s.
        assert!(TTL + RENEW <= Duration::from_secs(10));
    }
}
