//! Bindings of `orderflow:plugins@0.1.0`, the first contract, kept so components built
//! against it keep loading. All but the creation step is shared (`binding.rs`).

bind_contract_version! {
    version: "0.1.0",
    wit: "../wit/since_v0.1.0",
    /// In this version the creation step is given the whole draft and the total.
    create(guest, store, order, now) {
        let items = line_items(order.draft);
        guest.call_create(store, draft(order.draft, &items), money(&order.total), now)
    }
}

/// A `create` fixture of this version states the whole draft (`order`) and the `total`.
pub fn creation_fixture(
    fixture: &plugin_fixtures::Fixture,
) -> Result<(d::OrderDraft, d::Money), String> {
    Ok((
        plugin_fixtures::arg(fixture, "order")?,
        plugin_fixtures::arg(fixture, "total")?,
    ))
}
