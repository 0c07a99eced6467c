//! Workflows: which plugins, parameters and limits decide an order, hot-reloaded.

pub mod definition;
pub mod deploy;
pub mod import;
pub mod registry;
pub mod shared;
pub mod staging;
pub mod versions;
pub mod watcher;

pub use definition::Definition;
pub use deploy::{Activation, Candidate, DeployError, Deployer};
pub use import::Importer;
pub use registry::{LoadFailure, Registry, Serving, Workflow};
pub use shared::{Mirror, SharedRegistry};
pub use staging::{Mode, Share, Staged, Staging, StagingSet};
pub use versions::{Action, Change, StoredVersion, Versions};
pub use watcher::{HotReload, watch, watch_imports};
