//! What every contract version's binding holds. The generated types differ from version to
//! version; the code that lowers the host's values into them and lifts answers out of them
//! does not, so it is written once, here, and each `since_v*` module adds only what is its
//! own: its WIT and its lifecycle `create`.

/// Expands, inside a version module, to that version's bindings (wasmtime's `bindgen!` of
/// the `host` world in `wit`), its `Pre` and `Instance` with every call, and the
/// conversions between the generated types and the host's domain types. `create` is the
/// body of the lifecycle's creation step, which differs from version to version: it calls
/// `guest` (the lifecycle export) and gives back the generated answer. `imports`, for a
/// version whose plugins import from the host, is the body of its `link`: it adds those
/// imports to `linker`, a `Linker<InstanceState>`. `product`, for a version whose product
/// snapshot has fields the first versions' lacked, gives each such field as a function of
/// the host's `ProductSnapshot`.
macro_rules! bind_contract_version {
    (
        version: $version:literal,
        wit: $wit:literal,
        $(#[$create_doc:meta])*
        create($guest:ident, $store:ident, $order:ident, $now:ident) $create:block
    ) => {
        bind_contract_version! {
            version: $version,
            wit: $wit,
            $(#[$create_doc])*
            create($guest, $store, $order, $now) $create
            /// Plugins of this version import nothing from the host.
            imports(_linker) { Ok(()) }
        }
    };
    (
        version: $version:literal,
        wit: $wit:literal,
        $(#[$create_doc:meta])*
        create($guest:ident, $store:ident, $order:ident, $now:ident) $create:block
        $(#[$imports_doc:meta])*
        imports($linker:ident) $imports:block
        $(
            $(#[$product_doc:meta])*
            product { $($field:ident: $value:expr),* $(,)? }
        )?
    ) => {
        pub const VERSION: &str = $version;

        // Arguments are lowered from borrowed data (`&str`), so a call copies the order's
        // strings once, into the guest, instead of cloning them on the host first.
        mod bindings {
            // The `host` world's own instantiation helpers go unused: each plugin exports
            // one interface, loaded through that interface's `GuestIndices`.
            #![allow(dead_code)]
            wasmtime::component::bindgen!({ world: "host", path: $wit,
                ownership: Borrowing { duplicate_if_necessary: true } });
        }

        use super::{CallError, CallResult};
        use crate::domain as d;
        use crate::plugins::PluginKind;
        use crate::plugins::runtime::InstanceState;
        use bindings::exports::orderflow::plugins::{
            lifecycle as l, pricing as p, validation as v,
        };
        use bindings::orderflow::plugins::types as w;
        use wasmtime::Store;
        use wasmtime::component::{Component, InstancePre, Linker};

        $(#[$imports_doc])*
        pub fn link($linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> $imports

        /// The name under which a component of `kind` exports its interface in this version.
        pub fn export_name(kind: PluginKind) -> String {
            format!("orderflow:plugins/{}@{VERSION}", kind.interface())
        }

        /// Where a component's exports of one decision live, resolved once per component.
        enum Indices {
            Validation(v::GuestIndices),
            Pricing(p::GuestIndices),
            Lifecycle(l::GuestIndices),
        }

        /// A component checked to export `kind`, ready to instantiate.
        pub struct Pre {
            pre: InstancePre<InstanceState>,
            indices: Indices,
        }

        /// A live instance; used for one decision only (see `runtime::pool`).
        pub enum Instance {
            Validation(v::Guest),
            Pricing(p::Guest),
            Lifecycle(l::Guest),
        }

        impl Pre {
            pub fn new(kind: PluginKind, pre: InstancePre<InstanceState>) -> wasmtime::Result<Self> {
                let indices = match kind {
                    PluginKind::Validation => Indices::Validation(v::GuestIndices::new(&pre)?),
                    PluginKind::Pricing => Indices::Pricing(p::GuestIndices::new(&pre)?),
                    PluginKind::Lifecycle => Indices::Lifecycle(l::GuestIndices::new(&pre)?),
                };
                Ok(Pre { pre, indices })
            }

            pub fn instantiate(&self, store: &mut Store<InstanceState>) -> wasmtime::Result<Instance> {
                let instance = self.pre.instantiate(&mut *store)?;
                Ok(match &self.indices {
                    Indices::Validation(i) => Instance::Validation(i.load(&mut *store, &instance)?),
                    Indices::Pricing(i) => Instance::Pricing(i.load(&mut *store, &instance)?),
                    Indices::Lifecycle(i) => Instance::Lifecycle(i.load(&mut *store, &instance)?),
                })
            }
        }

        /// Whether `component` exports the interface of `kind` in this version.
        pub fn exports(component: &Component, kind: PluginKind) -> bool {
            component
                .get_export_index(None, export_name(kind))
                .is_some()
        }

        fn wrong_kind(asked: &str) -> CallError {
            CallError::Wasm(wasmtime::format_err!(
                "this component does not export `{asked}`"
            ))
        }

        impl Instance {
            $(#[$create_doc])*
            pub fn create(
                &self,
                $store: &mut Store<InstanceState>,
                $order: &d::PricedOrder<'_>,
                $now: d::UnixMillis,
            ) -> CallResult<d::Transition> {
                let $guest = self.lifecycle("create")?;
                let answer = $create?;
                Ok(answer.map(Into::into).map_err(|p| vec![p.into()]))
            }

            pub fn configure(&self, store: &mut Store<InstanceState>, params: &str) -> CallResult<()> {
                let answer = match self {
                    Instance::Validation(g) => g.call_configure(store, params),
                    Instance::Pricing(g) => g.call_configure(store, params),
                    Instance::Lifecycle(g) => g.call_configure(store, params),
                }?;
                Ok(answer.map_err(|p| vec![p.into()]))
            }

            pub fn validate(
                &self,
                store: &mut Store<InstanceState>,
                order: &d::OrderDraft,
                now: d::UnixMillis,
            ) -> CallResult<()> {
                let Instance::Validation(g) = self else {
                    return Err(wrong_kind("validate"));
                };
                let items = line_items(order);
                let answer = g.call_validate(store, draft(order, &items), now)?;
                Ok(answer.map_err(|problems| problems.into_iter().map(Into::into).collect()))
            }

            pub fn price(
                &self,
                store: &mut Store<InstanceState>,
                order: &d::OrderDraft,
                now: d::UnixMillis,
            ) -> CallResult<d::Quote> {
                let Instance::Pricing(g) = self else {
                    return Err(wrong_kind("price"));
                };
                let items = line_items(order);
                match g.call_price(store, draft(order, &items), now)? {
                    Ok(quote) => Ok(Ok(quote.try_into()?)),
                    Err(problem) => Ok(Err(vec![problem.into()])),
                }
            }

            fn lifecycle(&self, asked: &str) -> Result<&l::Guest, CallError> {
                match self {
                    Instance::Lifecycle(g) => Ok(g),
                    _ => Err(wrong_kind(asked)),
                }
            }

            pub fn describe(&self, store: &mut Store<InstanceState>) -> Result<d::Machine, CallError> {
                Ok(self.lifecycle("describe")?.call_describe(store)?.into())
            }

            pub fn change_status(
                &self,
                store: &mut Store<InstanceState>,
                order: &d::OrderView,
                change: &d::StatusChange,
                by: &d::Actor,
                now: d::UnixMillis,
            ) -> CallResult<d::Transition> {
                let answer = self.lifecycle("change-status")?.call_change_status(
                    store,
                    view(order),
                    status_change(change),
                    actor(by),
                    now,
                )?;
                Ok(answer.map(Into::into).map_err(|p| vec![p.into()]))
            }

            pub fn change_payment(
                &self,
                store: &mut Store<InstanceState>,
                order: &d::OrderView,
                change: &d::PaymentChange,
                by: &d::Actor,
                now: d::UnixMillis,
            ) -> CallResult<d::Transition> {
                let answer = self.lifecycle("change-payment")?.call_change_payment(
                    store,
                    view(order),
                    payment_change(change),
                    actor(by),
                    now,
                )?;
                Ok(answer.map(Into::into).map_err(|p| vec![p.into()]))
            }
        }

        // ---- host → plugin: borrowed views of the host's values

        fn money(m: &d::Money) -> w::MoneyParam<'_> {
            w::MoneyParam {
                minor: m.minor,
                currency: m.currency.as_str(),
            }
        }

        fn line_items(o: &d::OrderDraft) -> Vec<w::LineItem<'_>> {
            o.items
                .iter()
                .map(|item| w::LineItem {
                    product: snapshot(&item.product),
                    quantity: item.quantity,
                })
                .collect()
        }

        $($(#[$product_doc])*)?
        fn snapshot(p: &d::ProductSnapshot) -> w::ProductSnapshot<'_> {
            w::ProductSnapshot {
                product_id: &p.product_id,
                name: &p.name,
                sku: &p.sku,
                unit_price: money(&p.unit_price),
                stock: p.stock,
                active: p.active,
                $($($field: ($value)(p),)*)?
            }
        }

        fn draft<'a>(o: &'a d::OrderDraft, items: &'a [w::LineItem<'a>]) -> w::OrderDraft<'a> {
            let a = &o.shipping_address;
            w::OrderDraft {
                user_id: &o.user_id,
                items,
                shipping_address: w::Address {
                    full_name: &a.full_name,
                    address_line_1: &a.address_line_1,
                    address_line_2: a.address_line_2.as_deref(),
                    city: &a.city,
                    state: &a.state,
                    postal_code: &a.postal_code,
                    country: &a.country,
                    phone: a.phone.as_deref(),
                },
                shipping_method: &o.shipping_method,
                payment_method: &o.payment_method,
                discount_code: o.discount_code.as_deref(),
            }
        }

        fn view(o: &d::OrderView) -> l::OrderView<'_> {
            l::OrderView {
                id: &o.id,
                user_id: &o.user_id,
                status: &o.status,
                payment_status: &o.payment_status,
                total: money(&o.total),
                created_at: o.created_at,
                tracking_number: o.tracking_number.as_deref(),
            }
        }

        fn status_change(c: &d::StatusChange) -> l::StatusChange<'_> {
            l::StatusChange {
                to: &c.to,
                tracking_number: c.tracking_number.as_deref(),
                carrier: c.carrier.as_deref(),
                reason: c.reason.as_deref(),
            }
        }

        fn payment_change(c: &d::PaymentChange) -> l::PaymentChange<'_> {
            l::PaymentChange {
                to: &c.to,
                transaction_id: c.transaction_id.as_deref(),
                reason: c.reason.as_deref(),
            }
        }

        fn actor(a: &d::Actor) -> l::Actor<'_> {
            l::Actor {
                id: &a.id,
                role: &a.role,
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

        impl TryFrom<w::MoneyResult> for d::Money {
            type Error = CallError;
            fn try_from(m: w::MoneyResult) -> Result<Self, CallError> {
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
    };
}
