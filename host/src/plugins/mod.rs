//! The plugin platform: what decides an order. A workflow ([`workflow`], read from its file
//! by [`definition`]) names a plugin for each decision with its parameters and limits; the
//! [`registry`] holds the active version of every plugin and workflow behind one atomic
//! pointer, with the [`trials`] staged beside them, and [`hot_reload`] swaps it when files
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
//! - *decision*: one call of a bound plugin, answered as [`Decided`] (its verdict, and the
//!   [`Decider`]: which version of which plugin in which workflow) or a [`PluginFault`]; an
//!   order records each as a `DecisionRecord` in its provenance;
//! - *answer*: a decision's verdict reduced to what two versions are compared on
//!   ([`Answer`]);
//! - *trial*: a stored version deciding beside the active one on a share of orders, as a
//!   *shadow* (decides again, changes nothing) or a *rollout* (decides instead, for a
//!   share of customers); a plugin's [`Trials`] are its shadow and rollout, *staged* by
//!   the deployer;
//! - *reload*: the registry reading its directories again; *hot reload*: a reload when
//!   their files change;
//! - *runtime*: wasmtime's engine and what runs on it, nothing else.

pub mod answer;
pub mod checks;
pub mod decisions;
pub mod definition;
pub mod hot_reload;
pub mod registry;
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
pub use trials::{Mode, Share, Trial, TrialSet, Trials};
pub use versions::{Action, Change, StoredVersion, Versions};
pub use workflow::Workflow;
