//! Bindings of `orderflow:plugins@0.1.0`, the first contract, kept so components built
//! against it keep loading. All but the creation step is shared (`binding.rs`).

bind_contract_version! {
    version: "0.1.0",
    wit: "../wit/since_v0.1.0",
    /// In this version the creation step is given the whole draft and the total.
    create(guest, store, order, whole, now) {
        let whole = whole.ok_or_else(|| {
            CallError::Wasm(wasmtime::format_err!(
                "a {VERSION} lifecycle plugin decides creation on the whole order draft"
            ))
        })?;
        let items = line_items(whole);
        guest.call_create(store, draft(whole, &items), money(&order.total), now)
    }
}
