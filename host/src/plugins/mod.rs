//! The plugin platform: what decides an order. A workflow ([`workflow`], read from its file
//! by [`definition`]) names a plugin for each decision with its parameters and limits; the
//! [`registry`] holds the active version of every plugin and workflow behind one atomic
//! pointer, with the [`trials`] staged beside them, and [`reload`] swaps it when files
//! change. A decision ([`decisions`]: validate, price, create, change a status or a
//! payment) runs in a fresh, bounded instance of the [`runtime`] and its answer is checked
//! ([`checks`]: a quote adds up, a move follows the machine) before the host sees it.
//!
//! What ops do to the platform (deploying versions, replays, shadows, rollouts, dry runs)
//! is [`crate::operations`]'; what an order does with a decision is [`crate::orders`]'.
//!
//! Words, one per idea:
//! - *plugin*: a named decision-maker (`standard-pricing`); a *version* of it is one
//!   component, named by its [`Digest`](crate::domain::Digest);
//! - *active*: the version serving a plugin's decisions; the *registry* knows it;
//! - *workflow*: which plugin, parameters and limits make each decision of an order;
//! - *bound plugin*: a version bound to one workflow's parameters and limits;
//! - *decision*: one call of a bound plugin, answered as [`Decided`] or a [`PluginFault`];
//! - *trial*: a stored version deciding beside the active one on a share of orders, as a
//!   *shadow* (decides again, changes nothing) or a *rollout* (decides instead, for a
//!   share of customers).

pub mod answer;
pub mod checks;
pub mod decisions;
pub mod definition;
pub mod registry;
pub mod reload;
pub mod runtime;
pub mod trials;
pub mod versions;
pub mod workflow;

pub use answer::{Answer, Verdict};
pub use decisions::{BoundPlugin, Decided};
pub use definition::Definition;
pub use registry::{LoadFailure, Registry, Serving};
pub use runtime::{
    Decider, FaultKind, Limits, LimitsOverride, LoadError, LoadedComponent, LogLevel, LogLine,
    Logs, PluginFault, PluginKind, Runtime, RuntimeConfig,
};
pub use trials::{Mode, Share, Staged, Staging, StagingSet};
pub use versions::{Action, Change, StoredVersion, Versions};
pub use workflow::Workflow;
