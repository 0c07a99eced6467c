//! What ops do to the plugin platform while the shop sells: store a version and make it
//! active ([`deploy`]), converge replicas on the registry they share ([`mirror`]), share
//! what they compiled ([`artifacts`]) and import files dropped into one ([`import`]), decide past orders again ([`replays`]) or
//! live ones beside the active version ([`shadows`]), and price one order again as a dry
//! run ([`dry_run`]).
//!
//! Words, one per idea (the platform's own are in [`crate::plugins`]):
//! - *deploy*: upload (a version is checked, then stored), activate, roll back;
//! - *candidate*: a version being checked or tried before it serves;
//! - *replay*: a candidate decides stored orders on their recorded inputs;
//! - *shadow*: a trial deciding live orders again after they are answered;
//! - *rollout*: a trial deciding a share of customers' orders instead of the active version;
//! - *dry run*: one order priced again, nothing written.
//!
//! This module depends on [`crate::plugins`] and [`crate::orders`]; neither depends on it:
//! shadows watch orders through the observer seam orders own ([`crate::orders::Observer`]).

pub mod artifacts;
pub mod deploy;
pub mod dry_run;
pub mod import;
pub mod mirror;
pub mod replays;
pub mod shadows;
