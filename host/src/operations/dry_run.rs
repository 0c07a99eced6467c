//! A dry run: an order priced again by the pricing plugin a workflow runs now
//! or by a stored version of it that does not serve yet. This is how ops check a new rule
//! set against real orders before it serves them: the order is not changed, and the answer
//! says which plugin version priced each side.

use super::deploy::Deployer;
use crate::domain::{Digest, Money, Quote};
use crate::orders::{Caller, OrderError, OrderId, OrderService, clock, decided, refused};
use crate::plugins::PluginKind;
use serde::Serialize;
use std::sync::Arc;

/// A price breakdown and the plugin version that decided it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PricedBy {
    pub workflow: String,
    pub plugin: String,
    pub digest: Digest,
    pub quote: Quote,
}

/// Repriced minus current, per amount.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct QuoteDifference {
    pub subtotal: Money,
    pub tax: Money,
    pub shipping: Money,
    pub discount: Money,
    pub total: Money,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Repricing {
    pub order_id: OrderId,
    /// As the order was priced when it was placed.
    pub current: PricedBy,
    /// As the workflow's pricing plugin prices it now (at the order's own time, so time
    /// windows such as a code's validity are judged as they were).
    pub repriced: PricedBy,
    pub difference: QuoteDifference,
}

fn difference(now: &Quote, then: &Quote) -> Result<QuoteDifference, OrderError> {
    let minus = |a: Money, b: Money| {
        a.checked_sub(b).map_err(|_| {
            refused(
                "currency_differs",
                "the two prices are in different currencies".into(),
                "workflow".into(),
            )
        })
    };
    Ok(QuoteDifference {
        subtotal: minus(now.subtotal, then.subtotal)?,
        tax: minus(now.tax, then.tax)?,
        shipping: minus(now.shipping, then.shipping)?,
        discount: minus(now.discount, then.discount)?,
        total: minus(now.total, then.total)?,
    })
}

/// The dry run's use case: it reads the order as the order service shows it to the
/// caller, and binds a stored plugin version through the registry's plugin operations.
pub struct Repricer {
    orders: Arc<OrderService>,
    deployer: Arc<Deployer>,
}

impl Repricer {
    pub fn new(orders: Arc<OrderService>, deployer: Arc<Deployer>) -> Self {
        Repricer { orders, deployer }
    }

    /// Prices order `id` again with the pricing plugin of `workflow` (default: the order's
    /// own workflow) as it is now, or with its stored `version`: the digest, and the field
    /// the client named it by, which a refusal of it names. Writes nothing.
    pub async fn reprice(
        &self,
        caller: &Caller,
        id: OrderId,
        workflow: Option<&str>,
        version: Option<(&Digest, &str)>,
    ) -> Result<Repricing, OrderError> {
        let order = self.orders.get(caller, id).await?;
        let workflow = match workflow {
            None => self.orders.workflow(&order.provenance.workflow)?,
            Some(name) => self.orders.workflow(name).map_err(|_| {
                refused(
                    "unknown_workflow",
                    format!("no workflow `{name}` is loaded"),
                    "workflow".into(),
                )
            })?,
        };
        let pricing = match version {
            None => workflow.pricing.clone(),
            Some((digest, field)) => (self.deployer)
                .bind_version(&workflow, PluginKind::Pricing, digest)
                .await
                .map_err(|e| e.refusal(field))?,
        };
        let at = order.created_at.timestamp_millis();
        let mut decisions = Vec::with_capacity(1);
        let quote = decided(
            pricing.price(&order.draft(), at),
            "price",
            clock(),
            &mut decisions,
        )?;
        let by = decisions.remove(0);
        let priced_by = order
            .provenance
            .decisions
            .iter()
            .find(|d| d.call == "price")
            .ok_or_else(|| OrderError::StoreUnavailable("an order without its pricing".into()))?;
        Ok(Repricing {
            order_id: order.id,
            difference: difference(&quote, &order.pricing)?,
            current: PricedBy {
                workflow: order.provenance.workflow.clone(),
                plugin: priced_by.plugin.clone(),
                digest: priced_by.digest.clone(),
                quote: order.pricing.clone(),
            },
            repriced: PricedBy {
                workflow: workflow.name.clone(),
                plugin: by.plugin,
                digest: by.digest,
                quote,
            },
        })
    }
}
