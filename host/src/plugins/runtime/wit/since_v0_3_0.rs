//! Bindings of `orderflow:plugins@0.3.0`, kept so components built against it keep loading:
//! 0.2.0 with the `log` import, whose lines go to the decision's bounded buffer
//! (`runtime::logs`). All but the creation step (0.2.0's) and the import is shared
//! (`binding.rs`).

use super::since_v0_2_0::create_priced_order;
use crate::plugins::LogLevel;
use bindings::orderflow::plugins::log;
use wasmtime::component::HasSelf;

bind_contract_version! {
    version: "0.3.0",
    wit: "../wit/since_v0.3.0",
    /// As in 0.2.0: the priced order alone.
    create(guest, store, order, now) {
        create_priced_order!(guest, store, order, now)
    }
    /// `log`, into the instance's own buffer.
    imports(linker) {
        log::add_to_linker::<InstanceState, HasSelf<InstanceState>>(linker, |state| state)
    }
}

/// A `create` fixture states the priced order, as in 0.2.0.
pub use super::since_v0_2_0::creation_fixture;

/// This version's `log` import, which later versions keep: lines into the instance's own
/// buffer, written against the generated `log` module of the module it expands in.
macro_rules! log_into_buffer {
    () => {
        impl log::Host for InstanceState {
            // The message arrives copied out of the guest, its length charged to the call's
            // fuel (wasmtime does so for every string it lifts), so logging in a loop ends as
            // any loop.
            fn log(&mut self, level: log::Level, message: String) {
                let level = match level {
                    log::Level::Debug => LogLevel::Debug,
                    log::Level::Info => LogLevel::Info,
                    log::Level::Warn => LogLevel::Warn,
                    log::Level::Error => LogLevel::Error,
                };
                self.logs.push(level, message);
            }
        }
    };
}
pub(super) use log_into_buffer;

log_into_buffer!();
