//! Bindings of `orderflow:plugins@0.5.0`, the current contract: 0.4.0 with what a new order
//! may still take of each line's product (`available`, when its workflow reserves stock).
//! All but the creation step (0.2.0's), the `log` import (0.3.0's), the change decisions
//! (0.4.0's) and the product snapshot's new field is shared (`binding.rs`).

use super::since_v0_2_0::create_priced_order;
use super::since_v0_3_0::log_into_buffer;
use super::since_v0_4_0::decide_changes;
use crate::plugins::LogLevel;
use bindings::orderflow::plugins::log;
use wasmtime::component::HasSelf;

bind_contract_version! {
    version: "0.5.0",
    wit: "../wit/since_v0.5.0",
    /// As in 0.2.0: the priced order alone.
    create(guest, store, order, now) {
        create_priced_order!(guest, store, order, now)
    }
    /// `log`, into the instance's own buffer, as in 0.3.0.
    imports(linker) {
        log::add_to_linker::<InstanceState, HasSelf<InstanceState>>(linker, |state| state)
    }
    /// What a new order may still take of the product, as the placement read it.
    product {
        available: |p: &d::ProductSnapshot| p.available,
    }
}

/// A `create` fixture states the priced order, as in 0.2.0.
pub use super::since_v0_2_0::creation_fixture;

log_into_buffer!();

decide_changes!();
