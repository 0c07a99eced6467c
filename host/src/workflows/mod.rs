//! Workflows: which plugins, parameters and limits decide an order, hot-reloaded.

pub mod definition;
pub mod deploy;
pub mod registry;
pub mod versions;
pub mod watcher;

pub use definition::Definition;
pub use deploy::{Activation, Candidate, DeployError, Deployer};
pub use registry::{LoadFailure, Registry, Serving, Workflow};
pub use versions::{Action, Change, StoredVersion, Versions};
pub use watcher::{HotReload, watch};
