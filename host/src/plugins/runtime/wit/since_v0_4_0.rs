//! Bindings of `orderflow:plugins@0.4.0`, kept so components built against it keep loading:
//! 0.3.0 with two lifecycle decisions about placed orders, `allow-change` and `refund`. All
//! but the creation step (0.2.0's), the `log` import (0.3.0's) and the two decisions is
//! shared (`binding.rs`).

use super::since_v0_2_0::create_priced_order;
use super::since_v0_3_0::log_into_buffer;
use crate::plugins::LogLevel;
use bindings::orderflow::plugins::log;
use wasmtime::component::HasSelf;

bind_contract_version! {
    version: "0.4.0",
    wit: "../wit/since_v0.4.0",
    /// As in 0.2.0: the priced order alone.
    create(guest, store, order, now) {
        create_priced_order!(guest, store, order, now)
    }
    /// `log`, into the instance's own buffer, as in 0.3.0.
    imports(linker) {
        log::add_to_linker::<InstanceState, HasSelf<InstanceState>>(linker, |state| state)
    }
}

/// A `create` fixture states the priced order, as in 0.2.0.
pub use super::since_v0_2_0::creation_fixture;

log_into_buffer!();

/// This version's change decisions, which later versions keep: written against the generated
/// lifecycle module (`l`) and the conversions of the module it expands in.
macro_rules! decide_changes {
    () => {
        impl Instance {
            pub fn allow_change(
                &self,
                store: &mut Store<InstanceState>,
                order: &d::OrderView,
                kind: d::ChangeKind,
                by: &d::Actor,
                now: d::UnixMillis,
            ) -> CallResult<()> {
                let kind = match kind {
                    d::ChangeKind::Items => l::ChangeKind::Items,
                    d::ChangeKind::Delivery => l::ChangeKind::Delivery,
                    d::ChangeKind::Cancellation => l::ChangeKind::Cancellation,
                    d::ChangeKind::Return => l::ChangeKind::Return,
                };
                let answer = self.lifecycle("allow-change")?.call_allow_change(
                    store,
                    view(order),
                    kind,
                    actor(by),
                    now,
                )?;
                Ok(answer.map_err(|p| vec![p.into()]))
            }

            pub fn refund(
                &self,
                store: &mut Store<InstanceState>,
                order: &d::OrderView,
                request: &d::ReturnRequest,
                now: d::UnixMillis,
            ) -> CallResult<d::Refund> {
                let lines: Vec<_> = (request.lines.iter())
                    .map(|line| l::ReturnedLine {
                        product_id: &line.product_id,
                        quantity: line.quantity,
                        unit_price: money(&line.unit_price),
                        reason: line.reason.as_deref(),
                    })
                    .collect();
                let asked = l::ReturnRequest {
                    lines: &lines,
                    delivered_at: request.delivered_at,
                    subtotal: money(&request.subtotal),
                    tax: money(&request.tax),
                    shipping: money(&request.shipping),
                    discount: money(&request.discount),
                    refunded: money(&request.refunded),
                    everything: request.everything,
                };
                let answer =
                    (self.lifecycle("refund")?).call_refund(store, view(order), asked, now)?;
                match answer {
                    Ok(r) => Ok(Ok(d::Refund {
                        items: r.items.try_into()?,
                        tax: r.tax.try_into()?,
                        shipping: r.shipping.try_into()?,
                        restocking_fee: r.restocking_fee.try_into()?,
                        total: r.total.try_into()?,
                    })),
                    Err(problem) => Ok(Err(vec![problem.into()])),
                }
            }
        }
    };
}
pub(super) use decide_changes;

decide_changes!();
