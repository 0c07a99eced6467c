//! orderflow: an order service whose business decisions are WebAssembly plugins.

pub mod domain;
pub mod http;
pub mod metrics;
pub mod orders;
pub mod plugins;
pub mod products;
pub mod relay;
pub mod scaffold;
pub mod serve;
pub mod store;
pub mod users;
pub mod workflows;
