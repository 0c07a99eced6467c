//! Bindings of `orderflow:plugins@0.1.0`, and the conversions between its generated types
//! and the host's domain types. Nothing outside this module sees a generated type, so a
//! new WIT version is a new module beside this one and old plugins keep loading.

use super::{CallError, CallResult};
use crate::domain as d;
use crate::plugins::{PluginKind, StoreState};
use wasmtime::Store;
use wasmtime::component::{Component, InstancePre};

pub const VERSION: &str = "0.1.0";

mod pricing_world {
    wasmtime::component::bindgen!({ world: "pricing-plugin", path: "../wit" });
}
mod validation_world {
    wasmtime::component::bindgen!({ world: "validation-plugin", path: "../wit",
        with: { "orderflow:plugins/types": super::pricing_world::orderflow::plugins::types } });
}
mod lifecycle_world {
    wasmtime::component::bindgen!({ world: "lifecycle-plugin", path: "../wit",
        with: { "orderflow:plugins/types": super::pricing_world::orderflow::plugins::types } });
}

use lifecycle_world::exports::orderflow::plugins::lifecycle as l;
use pricing_world::exports::orderflow::plugins::pricing as p;
use pricing_world::orderflow::plugins::types as w;

/// The name under which a component of `kind` exports its interface in this version.
pub fn export_name(kind: PluginKind) -> String {
    format!("orderflow:plugins/{}@{VERSION}", kind.interface())
}

/// A component checked to export `kind`, ready to instantiate.
pub enum Pre {
    Validation(validation_world::ValidationPluginPre<StoreState>),
    Pricing(pricing_world::PricingPluginPre<StoreState>),
    Lifecycle(lifecycle_world::LifecyclePluginPre<StoreState>),
}

/// A live instance; used for one decision only (see `plugins::pool`).
pub enum Instance {
    Validation(validation_world::ValidationPlugin),
    Pricing(pricing_world::PricingPlugin),
    Lifecycle(lifecycle_world::LifecyclePlugin),
}

impl Pre {
    pub fn new(kind: PluginKind, pre: InstancePre<StoreState>) -> wasmtime::Result<Self> {
        Ok(match kind {
            PluginKind::Validation => {
                Pre::Validation(validation_world::ValidationPluginPre::new(pre)?)
            }
            PluginKind::Pricing => Pre::Pricing(pricing_world::PricingPluginPre::new(pre)?),
            PluginKind::Lifecycle => Pre::Lifecycle(lifecycle_world::LifecyclePluginPre::new(pre)?),
        })
    }

    pub fn instantiate(&self, store: &mut Store<StoreState>) -> wasmtime::Result<Instance> {
        Ok(match self {
            Pre::Validation(pre) => Instance::Validation(pre.instantiate(store)?),
            Pre::Pricing(pre) => Instance::Pricing(pre.instantiate(store)?),
            Pre::Lifecycle(pre) => Instance::Lifecycle(pre.instantiate(store)?),
        })
    }
}

/// Whether `component` exports the interface of `kind` in this version.
pub fn exports(component: &Component, kind: PluginKind) -> bool {
    component
        .get_export_index(None, &export_name(kind))
        .is_some()
}

fn wrong_kind(asked: &str) -> CallError {
    CallError::Wasm(wasmtime::format_err!(
        "this component does not export `{asked}`"
    ))
}

impl Instance {
    pub fn configure(&self, store: &mut Store<StoreState>, params: &str) -> CallResult<()> {
        let answer = match self {
            Instance::Validation(i) => i
                .orderflow_plugins_validation()
                .call_configure(store, params),
            Instance::Pricing(i) => i.orderflow_plugins_pricing().call_configure(store, params),
            Instance::Lifecycle(i) => i
                .orderflow_plugins_lifecycle()
                .call_configure(store, params),
        }?;
        Ok(answer.map_err(|p| vec![p.into()]))
    }

    pub fn validate(
        &self,
        store: &mut Store<StoreState>,
        order: &d::OrderDraft,
        now: d::UnixMillis,
    ) -> CallResult<()> {
        let Instance::Validation(i) = self else {
            return Err(wrong_kind("validate"));
        };
        let answer = i
            .orderflow_plugins_validation()
            .call_validate(store, &order.into(), now)?;
        Ok(answer.map_err(|problems| problems.into_iter().map(Into::into).collect()))
    }

    pub fn price(
        &self,
        store: &mut Store<StoreState>,
        order: &d::OrderDraft,
        now: d::UnixMillis,
    ) -> CallResult<d::Quote> {
        let Instance::Pricing(i) = self else {
            return Err(wrong_kind("price"));
        };
        match i
            .orderflow_plugins_pricing()
            .call_price(store, &order.into(), now)?
        {
            Ok(quote) => Ok(Ok(quote.try_into()?)),
            Err(problem) => Ok(Err(vec![problem.into()])),
        }
    }

    fn lifecycle(&self, asked: &str) -> Result<&l::Guest, CallError> {
        match self {
            Instance::Lifecycle(i) => Ok(i.orderflow_plugins_lifecycle()),
            _ => Err(wrong_kind(asked)),
        }
    }

    pub fn describe(&self, store: &mut Store<StoreState>) -> Result<d::Machine, CallError> {
        Ok(self.lifecycle("describe")?.call_describe(store)?.into())
    }

    pub fn create(
        &self,
        store: &mut Store<StoreState>,
        order: &d::OrderDraft,
        total: &d::Money,
        now: d::UnixMillis,
    ) -> CallResult<d::Transition> {
        let answer =
            self.lifecycle("create")?
                .call_create(store, &order.into(), &(*total).into(), now)?;
        Ok(answer.map(Into::into).map_err(|p| vec![p.into()]))
    }

    pub fn change_status(
        &self,
        store: &mut Store<StoreState>,
        order: &d::OrderView,
        change: &d::StatusChange,
        by: &d::Actor,
        now: d::UnixMillis,
    ) -> CallResult<d::Transition> {
        let answer = self.lifecycle("change-status")?.call_change_status(
            store,
            &order.into(),
            &change.into(),
            &by.into(),
            now,
        )?;
        Ok(answer.map(Into::into).map_err(|p| vec![p.into()]))
    }

    pub fn change_payment(
        &self,
        store: &mut Store<StoreState>,
        order: &d::OrderView,
        change: &d::PaymentChange,
        by: &d::Actor,
        now: d::UnixMillis,
    ) -> CallResult<d::Transition> {
        let answer = self.lifecycle("change-payment")?.call_change_payment(
            store,
            &order.into(),
            &change.into(),
            &by.into(),
            now,
        )?;
        Ok(answer.map(Into::into).map_err(|p| vec![p.into()]))
    }
}

// ---- host → plugin

impl From<d::Money> for w::Money {
    fn from(m: d::Money) -> Self {
        w::Money {
            minor: m.minor,
            currency: m.currency.as_str().to_owned(),
        }
    }
}

impl From<&d::OrderDraft> for w::OrderDraft {
    fn from(o: &d::OrderDraft) -> Self {
        let a = &o.shipping_address;
        w::OrderDraft {
            user_id: o.user_id.clone(),
            items: o
                .items
                .iter()
                .map(|item| w::LineItem {
                    product: w::ProductSnapshot {
                        product_id: item.product.product_id.clone(),
                        name: item.product.name.clone(),
                        sku: item.product.sku.clone(),
                        unit_price: item.product.unit_price.into(),
                        stock: item.product.stock,
                        active: item.product.active,
                    },
                    quantity: item.quantity,
                })
                .collect(),
            shipping_address: w::Address {
                full_name: a.full_name.clone(),
                address_line_1: a.address_line_1.clone(),
                address_line_2: a.address_line_2.clone(),
                city: a.city.clone(),
                state: a.state.clone(),
                postal_code: a.postal_code.clone(),
                country: a.country.clone(),
                phone: a.phone.clone(),
            },
            shipping_method: o.shipping_method.clone(),
            payment_method: o.payment_method.clone(),
            discount_code: o.discount_code.clone(),
        }
    }
}

impl From<&d::OrderView> for l::OrderView {
    fn from(o: &d::OrderView) -> Self {
        l::OrderView {
            id: o.id.clone(),
            user_id: o.user_id.clone(),
            status: o.status.clone(),
            payment_status: o.payment_status.clone(),
            total: o.total.into(),
            created_at: o.created_at,
            tracking_number: o.tracking_number.clone(),
        }
    }
}

impl From<&d::StatusChange> for l::StatusChange {
    fn from(c: &d::StatusChange) -> Self {
        l::StatusChange {
            to: c.to.clone(),
            tracking_number: c.tracking_number.clone(),
            carrier: c.carrier.clone(),
            reason: c.reason.clone(),
        }
    }
}

impl From<&d::PaymentChange> for l::PaymentChange {
    fn from(c: &d::PaymentChange) -> Self {
        l::PaymentChange {
            to: c.to.clone(),
            transaction_id: c.transaction_id.clone(),
            reason: c.reason.clone(),
        }
    }
}

impl From<&d::Actor> for l::Actor {
    fn from(a: &d::Actor) -> Self {
        l::Actor {
            id: a.id.clone(),
            role: a.role.clone(),
        }
    }
}

// ---- plugin → host: whatever a plugin says is untrusted, so parsing may fail.

impl From<w::Problem> for d::Problem {
    fn from(p: w::Problem) -> Self {
        d::Problem {
            code: p.code,
            message: p.message,
            field: p.field,
        }
    }
}

impl TryFrom<w::Money> for d::Money {
    type Error = CallError;
    fn try_from(m: w::Money) -> Result<Self, CallError> {
        let currency = m
            .currency
            .parse()
            .map_err(|e| CallError::Output(format!("{e}")))?;
        Ok(d::Money::new(m.minor, currency))
    }
}

impl TryFrom<p::Quote> for d::Quote {
    type Error = CallError;
    fn try_from(q: p::Quote) -> Result<Self, CallError> {
        Ok(d::Quote {
            subtotal: q.subtotal.try_into()?,
            tax: q.tax.try_into()?,
            shipping: q.shipping.try_into()?,
            discount: q.discount.try_into()?,
            total: q.total.try_into()?,
            applied: q
                .applied
                .into_iter()
                .map(|r| {
                    Ok(d::AppliedRule {
                        rule: r.rule,
                        description: r.description,
                        amount: r.amount.try_into()?,
                    })
                })
                .collect::<Result<_, CallError>>()?,
        })
    }
}

impl From<l::Transition> for d::Transition {
    fn from(t: l::Transition) -> Self {
        d::Transition {
            status: t.status,
            payment_status: t.payment_status,
            stamps: t.stamps,
            events: t.events,
        }
    }
}

impl From<l::Edge> for d::Edge {
    fn from(e: l::Edge) -> Self {
        d::Edge {
            from: e.from,
            to: e.to,
            roles: e.roles,
        }
    }
}

impl From<l::Machine> for d::Machine {
    fn from(m: l::Machine) -> Self {
        d::Machine {
            statuses: m.statuses,
            final_statuses: m.final_statuses,
            payment_statuses: m.payment_statuses,
            status_edges: m.status_edges.into_iter().map(Into::into).collect(),
            payment_edges: m.payment_edges.into_iter().map(Into::into).collect(),
        }
    }
}
