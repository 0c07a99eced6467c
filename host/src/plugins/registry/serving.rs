//! What serves now: the snapshot a reload swaps in whole, and what did not load.

use crate::domain::Digest;
use crate::plugins::trials::TrialSet;
use crate::plugins::{LoadedComponent, Workflow};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Why a file is not serving in its current version.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LoadFailure {
    pub file: String,
    pub error: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// What serves now: one consistent view of every plugin and workflow loaded.
#[derive(Default)]
pub struct Serving {
    /// Increases with every reload that changed something.
    pub generation: u64,
    pub components: BTreeMap<String, Arc<LoadedComponent>>,
    pub workflows: BTreeMap<String, Arc<Workflow>>,
    /// By file name; an entry disappears when the file loads again.
    pub errors: BTreeMap<String, LoadFailure>,
    /// What is staged for each plugin, as it serves (a share whose version does not load
    /// is left out, and reported in `errors`).
    pub staging: TrialSet,
    /// The staged versions, by their file in the plugin directory.
    pub(super) staged: BTreeMap<String, Arc<LoadedComponent>>,
}

impl Serving {
    /// The version of every plugin serving, by plugin name.
    pub fn digests(&self) -> BTreeMap<String, Digest> {
        self.components
            .iter()
            .map(|(name, c)| (name.clone(), c.digest.clone()))
            .collect()
    }
}
