//! orderflow: an order service whose business decisions are WebAssembly plugins.

pub mod domain;
pub mod plugins;
pub mod workflows;
