//! The order service: who asks ([`Caller`]), what can go wrong ([`OrderError`]), and the
//! reads. Its writes are use cases of their own: placing an order (`place`), moving one
//! along its lifecycle (`change`). The plugins decide, the service does the I/O around
//! them; nothing is written unless every decision said yes, and every decision is recorded
//! in the order's provenance.

use super::customers::{CustomerError, Customers};
use super::observe::Observer;
use super::stock;
use super::{
    Customer, DecisionRecord, Order, OrderEvent, OrderId, OrderQuery, OrderStore, Page, Stats,
    StoredEvent,
};
use crate::domain::{Actor, Machine, Problem, StoreError, UserId};
use crate::metrics::metrics;
use crate::plugins::{Decided, PluginFault, Registry, Workflow};
use crate::products::Products;
use chrono::{DateTime, SubsecRound, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::Notify;

/// Who is asking.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    pub user_id: UserId,
    pub admin: bool,
    /// The profile the token's claims give.
    pub customer: Customer,
    /// The bearer token the caller proved itself with: a neighbour asked on its behalf
    /// (the user service) is shown the same.
    pub token: String,
}

impl Caller {
    /// Users see their own orders; admins see all.
    fn may_see(&self, owner: &str) -> bool {
        self.admin || owner == self.user_id.as_str()
    }

    pub(super) fn actor(&self) -> Actor {
        Actor {
            id: self.user_id.to_string(),
            role: if self.admin { "admin" } else { "user" }.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    /// A business rule said no: the problems say which and where.
    #[error("refused: {}", .0.iter().map(|p| p.code.as_str()).collect::<Vec<_>>().join(", "))]
    Refused(Vec<Problem>),
    #[error("order not found")]
    NotFound,
    /// Someone else changed the order first.
    #[error("the order was changed by someone else; reload it and try again")]
    Conflict,
    #[error("this idempotency key was used for a different order")]
    KeyReused,
    #[error(transparent)]
    Plugin(#[from] PluginFault),
    #[error(transparent)]
    Customer(#[from] CustomerError),
    #[error("{0}")]
    ProductsUnavailable(String),
    #[error("no workflow `{0}` is loaded")]
    NoWorkflow(String),
    #[error("{0}")]
    StoreUnavailable(String),
    /// A change that cannot be confirmed, declined or cancelled any more: the message says why.
    #[error("{0}")]
    ChangeClosed(&'static str),
}

impl From<StoreError> for OrderError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => OrderError::Conflict,
            StoreError::KeyReused => OrderError::KeyReused,
            other => OrderError::StoreUnavailable(other.to_string()),
        }
    }
}

pub struct OrderService {
    registry: Arc<Registry>,
    pub(super) store: Arc<dyn OrderStore>,
    pub(super) products: Arc<dyn Products>,
    pub(super) customers: Arc<dyn Customers>,
    /// The workflow new orders follow.
    workflow: String,
    /// Told after every write that put events in the outbox, so the relay need not poll.
    pub(super) outbox_written: Arc<Notify>,
    /// Told when this process placed an order whose hold runs out before the expiry's next
    /// look (its wake-up).
    pub(super) hold_placed: Arc<Notify>,
    /// Told of new orders as they are decided (the shadows).
    pub(super) observer: Arc<dyn Observer>,
}

/// A decision's answer, or the refusal as an error, recording who decided.
pub fn decided<T>(
    decision: Result<Decided<T>, PluginFault>,
    call: &str,
    at: DateTime<Utc>,
    log: &mut Vec<DecisionRecord>,
) -> Result<T, OrderError> {
    let decided = decision?;
    log.push(DecisionRecord {
        call: call.into(),
        plugin: decided.by.plugin.to_string(),
        digest: decided.by.digest,
        at,
    });
    decided.verdict.map_err(OrderError::Refused)
}

pub fn refused(code: &str, message: String, field: String) -> OrderError {
    OrderError::Refused(vec![Problem {
        code: code.into(),
        message,
        field: Some(field),
    }])
}

/// The time of a decision, in whole milliseconds: what every store keeps (BSON dates are
/// milliseconds), so an order reads back exactly as it was decided.
pub fn clock() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

impl OrderService {
    pub fn new(
        registry: Arc<Registry>,
        store: Arc<dyn OrderStore>,
        products: Arc<dyn Products>,
        customers: Arc<dyn Customers>,
        workflow: &str,
        observer: Arc<dyn Observer>,
    ) -> Self {
        OrderService {
            registry,
            store,
            products,
            customers,
            workflow: workflow.to_owned(),
            outbox_written: Arc::new(Notify::new()),
            hold_placed: Arc::new(Notify::new()),
            observer,
        }
    }

    pub fn store(&self) -> &Arc<dyn OrderStore> {
        &self.store
    }

    /// Notified whenever events were written to the outbox (the relay waits on it).
    pub fn outbox_written(&self) -> Arc<Notify> {
        self.outbox_written.clone()
    }

    pub fn workflow(&self, name: &str) -> Result<Arc<Workflow>, OrderError> {
        self.registry
            .workflow(name)
            .ok_or_else(|| OrderError::NoWorkflow(name.to_owned()))
    }

    /// The workflow of a new order from `channel`: the one declaring the channel, or the
    /// default without one. An unknown channel is refused, naming the field.
    pub(super) fn workflow_for(&self, channel: Option<&str>) -> Result<Arc<Workflow>, OrderError> {
        match channel {
            None => self.workflow(&self.workflow),
            Some(channel) => self.registry.workflow_for_channel(channel).ok_or_else(|| {
                refused(
                    "unknown_sales_channel",
                    format!("no workflow serves the sales channel `{channel}`"),
                    "sales_channel".into(),
                )
            }),
        }
    }

    /// The state machine of the orders from `channel` (None: the default workflow's).
    pub fn machine(&self, channel: Option<&str>) -> Result<(String, Machine), OrderError> {
        let workflow = self.workflow_for(channel)?;
        Ok((workflow.name.clone(), workflow.machine().clone()))
    }

    /// The order, if `caller` may see it: an order of someone else does not exist for a
    /// user (a 404, so ids cannot be probed).
    pub async fn get(&self, caller: &Caller, id: OrderId) -> Result<Order, OrderError> {
        match self.store.get(id).await? {
            Some(order) if caller.may_see(&order.user_id) => Ok(order),
            _ => Err(OrderError::NotFound),
        }
    }

    /// The order as JSON, for reads that only pass it on; same visibility as [`Self::get`].
    pub async fn get_json(&self, caller: &Caller, id: OrderId) -> Result<String, OrderError> {
        match self.store.get_json(id).await? {
            Some(stored) if caller.may_see(&stored.user_id) => Ok(stored.json),
            _ => Err(OrderError::NotFound),
        }
    }

    pub async fn events(
        &self,
        caller: &Caller,
        id: OrderId,
    ) -> Result<Vec<StoredEvent>, OrderError> {
        self.get(caller, id).await?;
        Ok(self.store.events(id).await?)
    }

    /// A listing; a user only ever sees their own orders, whatever the query says.
    pub async fn list(
        &self,
        caller: &Caller,
        mut query: OrderQuery,
    ) -> Result<Page<Order>, OrderError> {
        if !caller.admin {
            query.user_id = Some(caller.user_id.to_string());
        }
        Ok(self.store.list(&query).await?)
    }

    pub async fn stats(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Stats, OrderError> {
        Ok(self.store.stats(from, to).await?)
    }
}

impl OrderService {
    /// Writes `order`, changed from `current`, with the events it announces and the stock
    /// it moves, if nobody changed it meanwhile (compare-and-set on the version).
    pub(super) async fn update(
        &self,
        mut order: Order,
        current: &Order,
        events: &[String],
        now: DateTime<Utc>,
    ) -> Result<Order, OrderError> {
        let from = current.version;
        order.version = from + 1;
        order.updated_at = now;
        stock::settle(&mut order);
        // The order's own workflow says how far under zero its units may go; one no longer
        // loaded allows none.
        let policy = (self.registry.workflow(&order.provenance.workflow))
            .map(|w| w.stock.clone())
            .unwrap_or_default();
        let moves = stock::moves(Some(current), &order, &policy, &BTreeMap::new());
        let events = OrderEvent::all(order.clone(), events, now);
        match self.store.update(&order, from, &events, &moves).await {
            Err(StoreError::Shortage(shortage)) => return Err(stock::refusal(&order, &shortage)),
            written => written?,
        }
        metrics().stock_moved(&moves);
        metrics().events_written(events.len());
        self.outbox_written.notify_one();
        Ok(order)
    }
}
