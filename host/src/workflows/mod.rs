//! Workflows: which plugins, parameters and limits decide an order, hot-reloaded.

pub mod definition;
pub mod registry;
pub mod watcher;

pub use definition::Definition;
pub use registry::{Catalog, LoadFailure, Registry, Workflow};
pub use watcher::{HotReload, watch};
