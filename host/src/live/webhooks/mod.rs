//! Webhooks: order events delivered to the servers admins register, signed
//! ([`signature`]), to targets the service may reach ([`target`]), retried on a schedule
//! ([`schedule`]).
//!
//! Endpoints are kept in the store every replica shares ([`EndpointStore`], which each
//! store implements beside its orders), so an endpoint registered through one replica is
//! every replica's.

pub mod delivery;
pub mod dispatch;
pub mod endpoint;
pub mod schedule;
pub mod send;
pub mod signature;
pub mod target;

use crate::domain::{Problem, StoreError};
use crate::live::Position;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use delivery::{Delivery, State};
use endpoint::{Endpoint, NewEndpoint};
use std::sync::Arc;
use target::Targets;
use tokio::sync::Notify;
use uuid::Uuid;

/// The endpoints, as the store keeps them.
#[async_trait]
pub trait EndpointStore: Send + Sync + 'static {
    /// Adds `endpoint`, unless one with its URL is registered: then false, and nothing
    /// is written.
    async fn add_endpoint(&self, endpoint: &Endpoint) -> Result<bool, StoreError>;
    /// Every endpoint, oldest first.
    async fn endpoints(&self) -> Result<Vec<Endpoint>, StoreError>;
    /// Removes the endpoint; false when there was none.
    async fn remove_endpoint(&self, id: Uuid) -> Result<bool, StoreError>;
    /// Notifies `changed` whenever another process changes the endpoints, until the
    /// process ends (a store only this process writes has nothing to tell).
    async fn follow_endpoints(&self, changed: Arc<Notify>);
}

/// Deliveries, as the store keeps them, and how far each outbox shard's commits were
/// turned into deliveries.
#[async_trait]
pub trait DeliveryStore: Send + Sync + 'static {
    /// Queues `deliveries`; one already queued (the same endpoint and event) is left as it
    /// is, so queueing a commit again after a crash or a takeover queues nothing twice.
    async fn queue(&self, deliveries: &[Delivery]) -> Result<(), StoreError>;
    /// Where each shard's commits were queued up to.
    async fn cursors(&self) -> Result<Vec<(u16, Position)>, StoreError>;
    /// Moves `shard`'s cursor to `to`, never back.
    async fn advance(&self, shard: u16, to: Position) -> Result<(), StoreError>;
    /// The pending deliveries due by `now` of the orders of `shards`, each the oldest
    /// pending one of its order and endpoint (the next in line), oldest first.
    async fn due(
        &self,
        shards: &[u16],
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// Writes a delivery's state after a try.
    async fn settle(&self, delivery: &Delivery) -> Result<(), StoreError>;
    /// An endpoint's deliveries, newest first, in `state` if given.
    async fn deliveries(
        &self,
        endpoint: Uuid,
        state: Option<State>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError>;
    async fn delivery(&self, id: Uuid) -> Result<Option<Delivery>, StoreError>;
}

/// Why an endpoint was not registered.
#[derive(Debug)]
pub enum Refused {
    /// What was sent, each problem naming its field.
    Invalid(Vec<Problem>),
    Store(StoreError),
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        Refused::Store(e)
    }
}

/// Deliveries an endpoint's log lists, at most.
pub const LISTED: u32 = 100;

/// The webhooks of the service: its endpoints, where they may point, their deliveries.
pub struct Webhooks {
    endpoints: Arc<dyn EndpointStore>,
    deliveries: Arc<dyn DeliveryStore>,
    targets: Targets,
    dispatch: Arc<dispatch::Dispatch>,
}

impl Webhooks {
    pub fn new(
        endpoints: Arc<dyn EndpointStore>,
        deliveries: Arc<dyn DeliveryStore>,
        targets: Targets,
        dispatch: Arc<dispatch::Dispatch>,
    ) -> Self {
        Webhooks {
            endpoints,
            deliveries,
            targets,
            dispatch,
        }
    }

    /// Registers what `by` sent at `now`: the endpoint with its secret (the only answer
    /// that shows it).
    pub async fn register(
        &self,
        new: NewEndpoint,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Endpoint, Refused> {
        let from = self.dispatch.now().await?;
        let endpoint = (new.check(&self.targets, by, now, from).await).map_err(Refused::Invalid)?;
        if !self.endpoints.add_endpoint(&endpoint).await? {
            return Err(Refused::Invalid(vec![Problem {
                code: "duplicate_endpoint".into(),
                message: format!("an endpoint for {} is registered already", endpoint.url),
                field: Some("url".into()),
            }]));
        }
        self.dispatch.endpoints_changed();
        Ok(endpoint)
    }

    pub async fn endpoints(&self) -> Result<Vec<Endpoint>, StoreError> {
        self.endpoints.endpoints().await
    }

    pub async fn endpoint(&self, id: Uuid) -> Result<Option<Endpoint>, StoreError> {
        Ok(self
            .endpoints
            .endpoints()
            .await?
            .into_iter()
            .find(|e| e.id == id))
    }

    pub async fn remove(&self, id: Uuid) -> Result<bool, StoreError> {
        let removed = self.endpoints.remove_endpoint(id).await?;
        self.dispatch.endpoints_changed();
        Ok(removed)
    }

    /// The endpoint's deliveries, newest first (in `state`, if given).
    pub async fn deliveries(
        &self,
        endpoint: Uuid,
        state: Option<State>,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.deliveries.deliveries(endpoint, state, LISTED).await
    }

    /// Tries a dead (or delivered) delivery of `endpoint` again, from now, with a fresh
    /// budget: None when there is no such delivery, Err(delivery) while it is pending.
    pub async fn redeliver(
        &self,
        endpoint: Uuid,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<Result<Delivery, Delivery>>, StoreError> {
        let Some(delivery) = self.deliveries.delivery(id).await? else {
            return Ok(None);
        };
        if delivery.endpoint != endpoint {
            return Ok(None);
        }
        if delivery.state == State::Pending {
            return Ok(Some(Err(delivery)));
        }
        let revived = delivery.revived(now);
        self.deliveries.settle(&revived).await?;
        self.dispatch.queued();
        Ok(Some(Ok(revived)))
    }
}
