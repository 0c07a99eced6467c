//! The order use cases. The plugins decide, this module does the I/O around them:
//! products first, then validation → pricing → the lifecycle's creation step, then one
//! atomic write of the order with its events (the steps of placing one are in `place`).
//! Nothing is written unless every decision said yes, and every decision is recorded in
//! the order's provenance.

use super::place;
use super::{
    Customer, DecisionRecord, IdempotencyKey, Inserted, NewOrder, Order, OrderEvent, OrderId,
    OrderNumber, OrderQuery, OrderStore, Page, Serialized, Stats, StatusEntry, StoreError,
    StoredEvent,
};
use crate::customers::{CustomerError, Customers};
use crate::domain::{
    Actor, Machine, Money, OrderView, PaymentChange, Problem, StatusChange, Transition,
};
use crate::products::Products;
use crate::replays::{Job, Shadows, Subject, Verdict};
use crate::runtime::{BoundPlugin, Decided, PluginFault, PluginKind};
use crate::workflows::{Mode, Registry, Workflow};
use chrono::{DateTime, SubsecRound, Utc};
use std::sync::Arc;
use tokio::sync::Notify;

/// Who is asking.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    pub user_id: String,
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
        self.admin || owner == self.user_id
    }

    pub(super) fn actor(&self) -> Actor {
        Actor {
            id: self.user_id.clone(),
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

/// A shadow's version, and the live answer of its kind with its fuel and the priced total.
type Watch = (Arc<BoundPlugin>, Verdict, u64, Option<Money>);

/// Clashes of generated order numbers are retried this often before giving up.
const NUMBER_ATTEMPTS: usize = 5;

pub struct OrderService {
    registry: Arc<Registry>,
    store: Arc<dyn OrderStore>,
    products: Arc<dyn Products>,
    customers: Arc<dyn Customers>,
    /// The workflow new orders follow.
    workflow: String,
    /// Told after every write that put events in the outbox, so the relay need not poll.
    outbox_written: Arc<Notify>,
    /// Where sampled orders go for the shadows staged in their workflow.
    shadows: Arc<Shadows>,
}

/// A decision's answer, or the refusal as an error, recording who decided.
pub(super) fn decided<T>(
    decision: Result<Decided<T>, PluginFault>,
    call: &str,
    at: DateTime<Utc>,
    log: &mut Vec<DecisionRecord>,
) -> Result<T, OrderError> {
    let decided = decision?;
    log.push(DecisionRecord {
        call: call.into(),
        plugin: decided.by.plugin.to_string(),
        digest: decided.by.digest.full(),
        at,
    });
    decided.verdict.map_err(OrderError::Refused)
}

pub(super) fn refused(code: &str, message: String, field: String) -> OrderError {
    OrderError::Refused(vec![Problem {
        code: code.into(),
        message,
        field: Some(field),
    }])
}

/// The time of a decision, in whole milliseconds: what every store keeps (BSON dates are
/// milliseconds), so an order reads back exactly as it was decided.
pub(super) fn clock() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

impl OrderService {
    pub fn new(
        registry: Arc<Registry>,
        store: Arc<dyn OrderStore>,
        products: Arc<dyn Products>,
        customers: Arc<dyn Customers>,
        workflow: &str,
        shadows: Arc<Shadows>,
    ) -> Self {
        OrderService {
            registry,
            store,
            products,
            customers,
            workflow: workflow.to_owned(),
            outbox_written: Arc::new(Notify::new()),
            shadows,
        }
    }

    pub fn store(&self) -> &Arc<dyn OrderStore> {
        &self.store
    }

    /// Notified whenever events were written to the outbox (the relay waits on it).
    pub fn outbox_written(&self) -> Arc<Notify> {
        self.outbox_written.clone()
    }

    pub(super) fn workflow(&self, name: &str) -> Result<Arc<Workflow>, OrderError> {
        self.registry
            .workflow(name)
            .ok_or_else(|| OrderError::NoWorkflow(name.to_owned()))
    }

    /// The workflow of a new order from `channel`: the one declaring the channel, or the
    /// default without one. An unknown channel is refused, naming the field.
    fn workflow_for(&self, channel: Option<&str>) -> Result<Arc<Workflow>, OrderError> {
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

    /// Places an order, and answers with it serialised (once, for the store and the caller
    /// alike). With an idempotency key, a retry returns the first order (`false`: not
    /// created now) instead of placing a second one.
    pub async fn place(
        &self,
        caller: &Caller,
        new: NewOrder,
        key: Option<String>,
    ) -> Result<(Serialized, bool), OrderError> {
        let customer = self.customers.profile(caller).await?;
        let new = new.checked()?;
        // Held for the whole order: one version of every plugin decides it.
        let workflow = self.workflow_for(new.sales_channel.as_deref())?;
        let key = key.map(|key| place::idempotency_key(&caller.user_id, key, &new));
        let gathered = place::gather(&self.products, &caller.user_id, new).await?;
        let now = clock();
        let mut watched: Vec<place::Watched<'_>> = (workflow.staged.iter())
            .filter(|s| s.mode == Mode::Shadow && s.sampled())
            .map(|staged| place::Watched {
                staged,
                seen: None,
                total: None,
            })
            .collect();
        let decision = place::decide(&workflow, &gathered.draft, now, &mut watched);
        let watched: Vec<Watch> = (watched.into_iter())
            .filter_map(|w| {
                let (baseline, fuel) = w.seen?;
                Some((w.staged.plugin.clone(), baseline, fuel, w.total))
            })
            .collect();
        // Shadows are handed the order once the customer's answer is decided, never before:
        // they see it as placed (or refused), and cannot hold it up.
        let placed = match decision {
            Ok(decision) => {
                let (order, events) =
                    place::assemble(gathered, decision, caller, customer, &workflow, now)?;
                self.insert(order, &events, key.as_ref(), now).await
            }
            Err(refusal) => {
                self.shadow(watched, now, || {
                    Subject::Refused(Box::new(gathered.draft.clone()))
                });
                return Err(refusal);
            }
        };
        if let Ok((order, true)) = &placed {
            self.shadow(watched, now, || Subject::Placed(order.shared().clone()));
        }
        placed
    }

    /// Hands the order to each shadow that watched it decided.
    fn shadow(&self, watched: Vec<Watch>, now: DateTime<Utc>, subject: impl Fn() -> Subject) {
        for (plugin, baseline, fuel, total) in watched {
            self.shadows.submit(Job {
                plugin,
                subject: subject(),
                total,
                now: now.timestamp_millis(),
                baseline,
                baseline_fuel: Some(fuel),
            });
        }
    }

    /// Writes a new order with its events, under a fresh order number while the one drawn
    /// is taken (`false`: a retry found the order its key placed first).
    async fn insert(
        &self,
        mut order: Order,
        events: &[String],
        key: Option<&IdempotencyKey>,
        now: DateTime<Utc>,
    ) -> Result<(Serialized, bool), OrderError> {
        for _ in 0..NUMBER_ATTEMPTS {
            let serialized = Serialized::new(order)?;
            let events = OrderEvent::all(serialized.shared().clone(), events, now);
            match self
                .store
                .insert_serialized(&serialized, &events, key)
                .await
            {
                Ok(Inserted::Created) => {
                    self.outbox_written.notify_one();
                    return Ok((serialized, true));
                }
                Ok(Inserted::Replayed(first)) => return Ok((Serialized::new(*first)?, false)),
                Err(StoreError::DuplicateNumber) => {
                    drop(events); // they share the order: now it is taken back uncopied
                    order = serialized.into_order();
                    order.order_number = OrderNumber::generate(now);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(OrderError::StoreUnavailable(
            "no free order number after several attempts".into(),
        ))
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
            query.user_id = Some(caller.user_id.clone());
        }
        Ok(self.store.list(&query).await?)
    }

    pub async fn stats(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Stats, OrderError> {
        Ok(self.store.stats(from, to).await?)
    }

    pub async fn change_status(
        &self,
        caller: &Caller,
        id: OrderId,
        change: StatusChange,
    ) -> Result<Order, OrderError> {
        self.change(
            caller,
            id,
            "change_status",
            |plugin, view, actor, now| plugin.change_status(view, &change, actor, now),
            |order| {
                if let Some(tracking) = &change.tracking_number {
                    order.shipping.tracking_number = Some(tracking.clone());
                }
                if let Some(carrier) = &change.carrier {
                    order.shipping.carrier = Some(carrier.clone());
                }
                change.reason.clone()
            },
        )
        .await
    }

    pub async fn change_payment(
        &self,
        caller: &Caller,
        id: OrderId,
        change: PaymentChange,
    ) -> Result<Order, OrderError> {
        self.change(
            caller,
            id,
            "change_payment",
            |plugin, view, actor, now| plugin.change_payment(view, &change, actor, now),
            |order| {
                if let Some(transaction) = &change.transaction_id {
                    order.payment.transaction_id = Some(transaction.clone());
                }
                change.reason.clone()
            },
        )
        .await
    }

    /// Asks the order's own workflow's lifecycle plugin, then writes the change and its
    /// events if nobody changed the order meanwhile.
    async fn change(
        &self,
        caller: &Caller,
        id: OrderId,
        call: &str,
        decide: impl FnOnce(
            &BoundPlugin,
            &OrderView,
            &Actor,
            i64,
        ) -> Result<Decided<Transition>, PluginFault>,
        details: impl FnOnce(&mut Order) -> Option<String>,
    ) -> Result<Order, OrderError> {
        let current = self.get(caller, id).await?;
        let workflow = self.workflow(&current.provenance.workflow)?;
        let now = clock();
        let view = OrderView {
            id: current.id.to_string(),
            user_id: current.user_id.clone(),
            status: current.status.clone(),
            payment_status: current.payment_status.clone(),
            total: current.pricing.total,
            created_at: current.created_at.timestamp_millis(),
            tracking_number: current.shipping.tracking_number.clone(),
        };
        let actor = caller.actor();
        let mut order = current.clone();
        let transition = decided(
            decide(
                workflow.deciding(PluginKind::Lifecycle, &current.user_id),
                &view,
                &actor,
                now.timestamp_millis(),
            ),
            call,
            now,
            &mut order.provenance.decisions,
        )?;
        let note = details(&mut order);
        apply(&mut order, &transition, &actor, note, now);
        order.version = current.version + 1;
        let events = OrderEvent::all(order.clone(), &transition.events, now);
        self.store.update(&order, current.version, &events).await?;
        self.outbox_written.notify_one();
        Ok(order)
    }
}

/// Applies a lifecycle decision: statuses, timestamps, history.
pub(super) fn apply(
    order: &mut Order,
    t: &Transition,
    by: &Actor,
    note: Option<String>,
    now: DateTime<Utc>,
) {
    order.status = t.status.clone();
    order.payment_status = t.payment_status.clone();
    for stamp in &t.stamps {
        order.timestamps.insert(stamp.clone(), now);
    }
    if t.stamps.iter().any(|s| s == "paid_at") {
        order.payment.paid_at = Some(now);
    }
    order.status_history.push(StatusEntry {
        status: t.status.clone(),
        payment_status: t.payment_status.clone(),
        at: now,
        by: by.id.clone(),
        role: by.role.clone(),
        note,
        events: t.events.clone(),
    });
    order.updated_at = now;
}
