//! Bindings of `orderflow:plugins@0.2.0`, kept so components built against it keep loading.
//! All but the creation step is shared (`binding.rs`).

/// This version's creation step, which later versions keep: a call of `guest` with the
/// priced order, written against the generated types of the module it expands in.
macro_rules! create_priced_order {
    ($guest:ident, $store:ident, $order:ident, $now:ident) => {{
        let priced = l::PricedOrder {
            user_id: &$order.draft.user_id,
            total: money(&$order.total),
            shipping_method: &$order.draft.shipping_method,
            payment_method: &$order.draft.payment_method,
        };
        $guest.call_create($store, priced, $now)
    }};
}
pub(super) use create_priced_order;

bind_contract_version! {
    version: "0.2.0",
    wit: "../wit/since_v0.2.0",
    /// The creation step decides on the priced order alone: the draft is not lowered again.
    create(guest, store, order, now) {
        create_priced_order!(guest, store, order, now)
    }
}

/// What a `create` fixture of this version states (`order`: the WIT's `priced-order`).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PricedOrderFixture {
    user_id: String,
    total: d::Money,
    shipping_method: String,
    payment_method: String,
}

/// The draft a `create` fixture of this version (and of 0.3.0, whose creation step is
/// this one) describes, holding only what the creation step lowers (the rest is left
/// empty: it never reaches the plugin), and the total.
pub fn creation_fixture(
    fixture: &plugin_fixtures::Fixture,
) -> Result<(d::OrderDraft, d::Money), String> {
    let priced: PricedOrderFixture = plugin_fixtures::arg(fixture, "order")?;
    let draft = d::OrderDraft {
        user_id: priced.user_id,
        shipping_method: priced.shipping_method,
        payment_method: priced.payment_method,
        ..d::OrderDraft::default()
    };
    Ok((draft, priced.total))
}
