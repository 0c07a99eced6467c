//! One decision of a candidate on an order's inputs, and the answer it is compared with,
//! each reduced to an [`Answer`]: the part replays and shadows share.

use super::report::Run;
use crate::domain::{Money, OrderDraft, PricedOrder, UnixMillis};
use crate::orders::Order;
use crate::plugins::{Answer, Verdict};
use crate::plugins::{BoundPlugin, Decided, Logs, PluginFault, PluginKind};

/// What a decision of any kind is given: the draft, its priced total (the lifecycle's
/// creation step is given it; none before pricing) and the time it is made at.
pub struct Inputs<'a> {
    pub draft: &'a OrderDraft,
    pub total: Option<Money>,
    pub now: UnixMillis,
}

/// The name an order's provenance records a decision of `kind` under.
pub fn call_of(kind: PluginKind) -> &'static str {
    match kind {
        PluginKind::Validation => "validate",
        PluginKind::Pricing => "price",
        PluginKind::Lifecycle => "create",
    }
}

/// The answer a placed order got from its decision of `kind`, as the order records it.
pub fn stored(order: &Order, kind: PluginKind) -> Verdict {
    Ok(match kind {
        PluginKind::Validation => Answer::Valid,
        PluginKind::Pricing => Answer::Quote(order.pricing.clone()),
        PluginKind::Lifecycle => {
            let first = order.status_history.first();
            Answer::Start {
                status: first.map_or(&order.status, |e| &e.status).clone(),
                payment_status: first
                    .map_or(&order.payment_status, |e| &e.payment_status)
                    .clone(),
                events: first.map(|e| e.events.clone()).unwrap_or_default(),
            }
        }
    })
}

/// A decision's verdict as an [`Answer`], or the fault it ended in; its fuel and log.
fn verdict<T: Into<Answer>>(
    decision: Result<Decided<T>, PluginFault>,
) -> (Result<Verdict, String>, Option<u64>, Logs) {
    match decision {
        Ok(d) => (Ok(d.verdict.map(Into::into)), Some(d.fuel), d.logs),
        Err(fault) => (Err(fault.kind.to_string()), None, fault.logs),
    }
}

/// `plugin` decides `inputs` as the decision of its kind.
pub fn run(plugin: &BoundPlugin, inputs: &Inputs<'_>) -> Run {
    let (draft, now) = (inputs.draft, inputs.now);
    let (outcome, fuel, logs) = match plugin.kind() {
        PluginKind::Validation => verdict(plugin.validate(draft, now)),
        PluginKind::Pricing => verdict(plugin.price(draft, now)),
        PluginKind::Lifecycle => match &inputs.total {
            Some(total) => verdict(plugin.create(&PricedOrder::of(draft, total), now)),
            None => (
                Err("the creation step needs a priced total".into()),
                None,
                Logs::default(),
            ),
        },
    };
    Run {
        outcome,
        fuel,
        budget: plugin.limits().fuel_for(draft.items.len()),
        logs,
    }
}
