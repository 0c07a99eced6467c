//! Bindings of `orderflow:plugins@0.2.0`, the current contract. All but the creation step
//! is shared (`binding.rs`).

bind_contract_version! {
    version: "0.2.0",
    wit: "../wit/since_v0.2.0",
    /// The creation step decides on the priced order alone: the draft is not lowered again.
    create(guest, store, order, _whole, now) {
        let priced = l::PricedOrder {
            user_id: &order.user_id,
            total: money(&order.total),
            shipping_method: &order.shipping_method,
            payment_method: &order.payment_method,
        };
        guest.call_create(store, priced, now)
    }
}
