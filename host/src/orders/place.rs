//! The steps of placing an order, which [`OrderService::place`] runs in turn: gather the
//! products (the draft the plugins decide on, and each line's total), decide (validation →
//! pricing → the lifecycle's creation step), assemble the order from what was gathered and
//! decided. The service then inserts it with its events under a fresh order number.
//!
//! [`OrderService::place`]: super::OrderService::place

use super::service::{Caller, OrderError, apply, decided, refused};
use super::{
    Customer, DecisionRecord, IdempotencyKey, NewOrder, Order, OrderId, OrderItem, OrderNumber,
    Payment, Provenance, Shipping,
};
use crate::domain::{LineItem, Money, OrderDraft, PricedOrder, Quote, Transition};
use crate::products::{self, Products};
use crate::replays::{Answer, Verdict};
use crate::runtime::{Decided, Digest, PluginFault, PluginKind};
use crate::workflows::{Staged, Workflow};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// A new order with its products found.
pub(super) struct Gathered {
    /// What the plugins decide on.
    pub draft: OrderDraft,
    /// Unit price × quantity of each line, computed once here and carried to the order; or
    /// the refusal of the first line too large to total, which waits until the plugins have
    /// decided, so that their refusal of such an order comes first (as it always has).
    line_totals: Result<Vec<Money>, OrderError>,
    /// Only the stored order needs them.
    notes: Option<String>,
}

/// What the plugins decided of a new order.
pub(super) struct Decision {
    quote: Quote,
    /// The lifecycle's creation step: the order's first statuses, and its events.
    start: Transition,
    /// Who decided each step, for the order's provenance.
    log: Vec<DecisionRecord>,
}

/// The key under which a retry finds the order placed first: the caller's key, and what
/// makes two requests the same request.
pub(super) fn idempotency_key(user_id: &str, key: String, new: &NewOrder) -> IdempotencyKey {
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

/// A shadow watching a new order: the staged version, and the live decision of its kind
/// it is compared with, noted by [`decide`] as it is made.
pub(super) struct Watched<'w> {
    pub staged: &'w Staged,
    pub seen: Option<(Verdict, u64)>,
    /// The priced total, once priced.
    pub total: Option<Money>,
}

/// Notes `decision` for the shadows of `kind` (a fault is not an answer to compare with).
fn note<T: Clone + Into<Answer>>(
    decision: &Result<Decided<T>, PluginFault>,
    kind: PluginKind,
    watched: &mut [Watched<'_>],
) {
    let Ok(decided) = decision else { return };
    for watch in watched
        .iter_mut()
        .filter(|w| w.staged.plugin.kind() == kind)
    {
        watch.seen = Some((decided.verdict.clone().map(Into::into), decided.fuel));
    }
}

/// Validation → pricing → the lifecycle's creation step, each recorded as it answers; the
/// first refusal (or fault) ends it. Each step is decided by the version serving the
/// customer (a rollout's, for its share of customers), and noted for the `watched` shadows.
pub(super) fn decide(
    workflow: &Workflow,
    draft: &OrderDraft,
    now: DateTime<Utc>,
    watched: &mut [Watched<'_>],
) -> Result<Decision, OrderError> {
    let ms = now.timestamp_millis();
    let customer = &draft.user_id;
    let mut log = Vec::with_capacity(3);
    let validated = workflow
        .deciding(PluginKind::Validation, customer)
        .validate(draft, ms);
    note(&validated, PluginKind::Validation, watched);
    decided(validated, "validate", now, &mut log)?;
    let priced = workflow
        .deciding(PluginKind::Pricing, customer)
        .price(draft, ms);
    note(&priced, PluginKind::Pricing, watched);
    let quote = decided(priced, "price", now, &mut log)?;
    for watch in watched.iter_mut() {
        watch.total = Some(quote.total);
    }
    let created = workflow
        .deciding(PluginKind::Lifecycle, customer)
        .create(&PricedOrder::of(draft, &quote.total), ms);
    note(&created, PluginKind::Lifecycle, watched);
    let start = decided(created, "create", now, &mut log)?;
    Ok(Decision { quote, start, log })
}

/// The order as gathered and decided, in its first statuses, with the events its creation
/// announces. The draft is taken apart into it: nothing is copied twice.
pub(super) fn assemble(
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
    let items = items
        .into_iter()
        .zip(line_totals)
        .map(|(line, line_total)| OrderItem {
            product_id: line.product.product_id,
            name: line.product.name,
            sku: line.product.sku,
            unit_price: line.product.unit_price,
            quantity: line.quantity,
            line_total,
        })
        .collect();
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
            workflow_digest: workflow.digest.full(),
            decisions: log,
        },
        version: 1,
    };
    apply(&mut order, &start, &caller.actor(), None, now);
    Ok((order, start.events))
}
