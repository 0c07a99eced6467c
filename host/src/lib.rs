//! orderflow: an order service whose business decisions are WebAssembly plugins.

pub mod customers;
pub mod domain;
pub mod http;
pub mod live;
pub mod metrics;
pub mod operations;
pub mod orders;
pub mod plugin_test;
pub mod plugins;
pub mod products;
pub mod relay;
pub mod replicas;
pub mod scaffold;
pub mod serve;
pub mod store;
pub mod vitals;

/// What a caught panic said (`panic!` with a literal or a formatted message): the host
/// catches panics where untrusted input meets a library (loading a plugin), around the
/// reload thread's work and around every request handler, and logs this.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message")
}
