//! Placing an order, top to bottom: the customer's profile, the request checked, its
//! workflow (held for the whole order: one version of every plugin decides it), the
//! products gathered (the draft the plugins decide on), the decisions (validation →
//! pricing → the lifecycle's creation step), the order assembled from what was gathered
//! and decided, then one atomic write of the order with its events under a fresh order
//! number. An observer's witness sees the decisions and, once the answer is decided, the
//! order.

use super::observe::{Placement, Witness};
use super::service::{clock, decided, refused};
use super::stock::{self, Reservation};
use super::{
    Caller, Customer, DecisionRecord, IdempotencyKey, Inserted, NewOrder, Order, OrderError,
    OrderEvent, OrderId, OrderItem, OrderNumber, OrderService, Payment, Provenance, Serialized,
    Shipping,
};
use crate::domain::{
    Digest, LineItem, Money, OrderDraft, PricedOrder, Quote, StockMove, StoreError, Transition,
};
use crate::metrics::metrics;
use crate::plugins::{Answer, Decided, PluginFault, PluginKind, Workflow};
use crate::products::{self, Products};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// Clashes of generated order numbers are retried this often before giving up.
const NUMBER_ATTEMPTS: usize = 5;

impl OrderService {
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
        let key = key.map(|key| idempotency_key(&caller.user_id, key, &new));
        let mut gathered = gather(&self.products, &caller.user_id, new).await?;
        (self.show_available(&workflow, &mut gathered.draft, None)).await?;
        let now = clock();
        let mut witnessed = self.observer.witness(&workflow);
        let decision = decide(&workflow, &gathered.draft, now, &mut witnessed);
        let decision = match decision {
            Ok(decision) => decision,
            Err(refusal) => {
                if let Some(witness) = witnessed {
                    witness.finished(Placement::Refused(Box::new(gathered.draft)), now);
                }
                return Err(refusal);
            }
        };
        // The products' stock as their source reports it now: the ledger follows it.
        let sources = (gathered.draft.items.iter())
            .map(|line| (line.product.product_id.clone(), line.product.stock))
            .collect();
        let (order, events) = assemble(gathered, decision, caller, customer, &workflow, now)?;
        let moves = stock::moves(None, &order, &workflow.stock, &sources);
        let placed = self.insert(order, &events, key.as_ref(), &moves, now).await;
        if let (Ok((order, true)), Some(witness)) = (&placed, witnessed) {
            witness.finished(Placement::Placed(order.shared().clone()), now);
        }
        placed
    }

    /// Writes a new order with its events and its stock moves, under a fresh order number
    /// while the one drawn is taken (`false`: a retry found the order its key placed first).
    async fn insert(
        &self,
        mut order: Order,
        events: &[String],
        key: Option<&IdempotencyKey>,
        moves: &[StockMove],
        now: DateTime<Utc>,
    ) -> Result<(Serialized, bool), OrderError> {
        for _ in 0..NUMBER_ATTEMPTS {
            let serialized = Serialized::new(order)?;
            let events = OrderEvent::all(serialized.shared().clone(), events, now);
            match self
                .store
                .insert_serialized(&serialized, &events, key, moves)
                .await
            {
                Ok(Inserted::Created) => {
                    metrics().stock_moved(moves);
                    metrics().events_written(events.len());
                    self.outbox_written.notify_one();
                    // A hold that runs out before the expiry's next look wakes it; one of
                    // minutes waits for that look, or every placement would be a query.
                    let soon = now + super::expiry::LOOK_EVERY;
                    if (serialized.reservation.as_ref())
                        .and_then(|r| r.expires_at)
                        .is_some_and(|at| at < soon)
                    {
                        self.hold_placed.notify_one();
                    }
                    return Ok((serialized, true));
                }
                Ok(Inserted::Replayed(first)) => return Ok((Serialized::new(*first)?, false)),
                Err(StoreError::Shortage(shortage)) => {
                    return Err(stock::refusal(&serialized, &shortage));
                }
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
}

/// A new order with its products found.
pub(super) struct Gathered {
    /// What the plugins decide on.
    pub(super) draft: OrderDraft,
    /// Unit price × quantity of each line, computed once here and carried to the order; or
    /// the refusal of the first line too large to total, which waits until the plugins have
    /// decided, so that their refusal of such an order comes first (as it always has).
    pub(super) line_totals: Result<Vec<Money>, OrderError>,
    /// Only the stored order needs them.
    notes: Option<String>,
}

/// What the plugins decided of a new order.
struct Decision {
    quote: Quote,
    /// The lifecycle's creation step: the order's first statuses, and its events.
    start: Transition,
    /// Who decided each step, for the order's provenance.
    log: Vec<DecisionRecord>,
}

/// The key under which a retry finds the order placed first: the caller's key, and what
/// makes two requests the same request.
fn idempotency_key(user_id: &str, key: String, new: &NewOrder) -> IdempotencyKey {
    let canonical = serde_json::to_vec(new).expect("a new order serialises");
    IdempotencyKey {
        user_id: user_id.to_owned(),
        key,
        fingerprint: Digest::of(&canonical).hex(),
    }
}

/// Looks every product of `new` up (concurrently) and drafts the order with their
/// snapshots; an unknown product is refused by its line.
pub(super) async fn gather(
    products: &Arc<dyn Products>,
    user_id: &str,
    new: NewOrder,
) -> Result<Gathered, OrderError> {
    let NewOrder {
        items: asked,
        shipping_address,
        shipping_method,
        payment_method,
        discount_code,
        notes,
        sales_channel: _,
    } = new;
    let found = products::lookup_all(products, asked.iter().map(|i| i.product_id.as_str()))
        .await
        .map_err(|e| OrderError::ProductsUnavailable(e.to_string()))?;
    let mut items = Vec::with_capacity(asked.len());
    for (i, (item, product)) in asked.iter().zip(found).enumerate() {
        let product = product.ok_or_else(|| {
            refused(
                "unknown_product",
                format!("product {} does not exist", item.product_id),
                format!("items[{i}].product_id"),
            )
        })?;
        items.push(LineItem {
            product,
            quantity: item.quantity,
        });
    }
    Ok(Gathered {
        line_totals: line_totals(&items),
        draft: OrderDraft {
            user_id: user_id.to_owned(),
            items,
            shipping_address,
            shipping_method,
            payment_method,
            discount_code,
        },
        notes,
    })
}

/// Unit price × quantity of every line, or the refusal of the first too large to total.
fn line_totals(items: &[LineItem]) -> Result<Vec<Money>, OrderError> {
    let mut totals = Vec::with_capacity(items.len());
    for (i, line) in items.iter().enumerate() {
        let unit = line.product.unit_price;
        let minor = unit
            .minor
            .checked_mul(i64::from(line.quantity))
            .ok_or_else(|| {
                refused(
                    "amount_overflow",
                    "the line total is too large".into(),
                    format!("items[{i}].quantity"),
                )
            })?;
        totals.push(Money::new(minor, unit.currency));
    }
    Ok(totals)
}

/// Tells the witness, if any, what a decision answered.
fn witness<T: Clone + Into<Answer>>(
    witness: &mut Option<Box<dyn Witness>>,
    kind: PluginKind,
    decision: &Result<Decided<T>, PluginFault>,
) {
    if let (Some(witness), Ok(decided)) = (witness, decision) {
        witness.decided(kind, decided.verdict.clone().map(Into::into), decided.fuel);
    }
}

/// Validation → pricing → the lifecycle's creation step, each recorded as it answers; the
/// first refusal (or fault) ends it. Each step is decided by the version serving the
/// customer (a rollout's, for its share of customers), and told to the order's witness.
fn decide(
    workflow: &Workflow,
    draft: &OrderDraft,
    now: DateTime<Utc>,
    witnessed: &mut Option<Box<dyn Witness>>,
) -> Result<Decision, OrderError> {
    let ms = now.timestamp_millis();
    let customer = &draft.user_id;
    let mut log = Vec::with_capacity(3);
    let quote = validate_and_price(workflow, draft, now, witnessed, &mut log)?;
    let created = workflow
        .deciding(PluginKind::Lifecycle, customer)
        .create(&PricedOrder::of(draft, &quote.total), ms);
    witness(witnessed, PluginKind::Lifecycle, &created);
    let start = decided(created, "create", now, &mut log)?;
    Ok(Decision { quote, start, log })
}

/// Validation, then pricing, of `draft` (a new order, or an order as a change would make it),
/// each recorded in `log` as it answers.
pub(super) fn validate_and_price(
    workflow: &Workflow,
    draft: &OrderDraft,
    now: DateTime<Utc>,
    witnessed: &mut Option<Box<dyn Witness>>,
    log: &mut Vec<DecisionRecord>,
) -> Result<Quote, OrderError> {
    let (ms, customer) = (now.timestamp_millis(), &draft.user_id);
    let validated = workflow
        .deciding(PluginKind::Validation, customer)
        .validate(draft, ms);
    witness(witnessed, PluginKind::Validation, &validated);
    decided(validated, "validate", now, log)?;
    let priced = workflow
        .deciding(PluginKind::Pricing, customer)
        .price(draft, ms);
    witness(witnessed, PluginKind::Pricing, &priced);
    decided(priced, "price", now, log)
}

/// The lines of an order: each gathered line with its total.
pub(super) fn order_items(items: Vec<LineItem>, line_totals: Vec<Money>) -> Vec<OrderItem> {
    items
        .into_iter()
        .zip(line_totals)
        .map(|(line, line_total)| OrderItem {
            product_id: line.product.product_id,
            name: line.product.name,
            sku: line.product.sku,
            unit_price: line.product.unit_price,
            quantity: line.quantity,
            line_total,
            returned_quantity: 0,
        })
        .collect()
}

/// The order as gathered and decided, in its first statuses, with the events its creation
/// announces. The draft is taken apart into it: nothing is copied twice.
fn assemble(
    gathered: Gathered,
    decision: Decision,
    caller: &Caller,
    customer: Customer,
    workflow: &Workflow,
    now: DateTime<Utc>,
) -> Result<(Order, Vec<String>), OrderError> {
    let Gathered {
        draft,
        line_totals,
        notes,
    } = gathered;
    let line_totals = line_totals?;
    let Decision { quote, start, log } = decision;
    let OrderDraft {
        user_id,
        items,
        shipping_address,
        shipping_method,
        payment_method,
        discount_code,
    } = draft;
    let items = order_items(items, line_totals);
    let mut order = Order {
        id: OrderId::new(),
        order_number: OrderNumber::generate(now),
        user_id,
        customer,
        items,
        pricing: quote,
        discount_code,
        status: String::new(),
        payment_status: String::new(),
        status_history: Vec::new(),
        payment: Payment {
            method: payment_method,
            transaction_id: None,
            paid_at: None,
            refunded: None,
        },
        shipping: Shipping {
            method: shipping_method,
            address: shipping_address,
            carrier: None,
            tracking_number: None,
        },
        notes,
        timestamps: Default::default(),
        created_at: now,
        updated_at: now,
        provenance: Provenance {
            workflow: workflow.name.clone(),
            workflow_digest: workflow.digest.clone(),
            decisions: log,
        },
        version: 1,
        changes: Vec::new(),
        reservation: Reservation::of(&workflow.stock, now),
    };
    order.apply(&start, &caller.actor(), None, now);
    Ok((order, start.events))
}
