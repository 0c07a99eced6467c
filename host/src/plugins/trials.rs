//! Trial versions: a stored version of a plugin that decides beside the active one, on a
//! share of new orders. As a *shadow* it decides them again after the customer has been
//! answered and changes nothing (the differences are summarised, `replays::Shadows`); in a
//! *rollout* it decides them instead of the active version, for a share of customers chosen
//! by a hash of their id, so each customer's orders are decided by one version and raising
//! the share keeps everyone already on the new version there.
//!
//! What is staged is one file in the plugin directory, [`FILE`], and the staged versions'
//! bytes are beside it in [`DIR`]: written by the plugin operations (one process) or by the
//! mirror (replicas, from the registry they share), and read by every reload as the plugin
//! files are, so a restart keeps what was staged.

use crate::plugins::BoundPlugin;

use crate::domain::Digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The staging file, in the plugin directory.
pub const FILE: &str = "staging.json";
/// The staged versions' folder, in the plugin directory.
pub const DIR: &str = "staged";

/// A stored version deciding a share of a plugin's new orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Share {
    /// The staged version.
    pub digest: Digest,
    /// 1 to 100.
    pub percent: u8,
    /// The workflow whose orders it decides; none: every workflow using the plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
}

/// What is staged for one plugin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Trials {
    /// Decides a share of new orders again after they are answered, changing nothing.
    pub shadow: Option<Share>,
    /// Decides a share of customers' new orders instead of the active version.
    pub rollout: Option<Share>,
}

impl Trials {
    pub fn is_empty(&self) -> bool {
        self.shadow.is_none() && self.rollout.is_none()
    }

    pub fn get(&self, mode: Mode) -> Option<&Share> {
        match mode {
            Mode::Shadow => self.shadow.as_ref(),
            Mode::Rollout => self.rollout.as_ref(),
        }
    }

    pub fn set(&mut self, mode: Mode, share: Option<Share>) {
        match mode {
            Mode::Shadow => self.shadow = share,
            Mode::Rollout => self.rollout = share,
        }
    }

    /// Each staged share, with its mode.
    pub fn shares(&self) -> impl Iterator<Item = (Mode, &Share)> {
        let shadow = self.shadow.iter().map(|s| (Mode::Shadow, s));
        shadow.chain(self.rollout.iter().map(|s| (Mode::Rollout, s)))
    }
}

/// Every plugin's staging, by plugin name.
pub type TrialSet = BTreeMap<String, Trials>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Shadow,
    Rollout,
}

/// Where a staged version's bytes are kept, relative to the plugin directory.
pub fn staged_file(plugin: &str, digest: &Digest) -> String {
    format!("{DIR}/{plugin}@{}.wasm", digest.hex())
}

/// The staging file of `plugin_dir`; none is nothing staged.
pub fn read(plugin_dir: &Path) -> Result<TrialSet, String> {
    match std::fs::read(plugin_dir.join(FILE)) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| format!("{FILE}: {e}")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TrialSet::new()),
        Err(e) => Err(format!("{FILE}: {e}")),
    }
}

/// The staging file's bytes for `set` (plugins with nothing staged left out).
pub fn file_bytes(set: &TrialSet) -> Vec<u8> {
    let kept: TrialSet = (set.iter())
        .filter(|(_, s)| !s.is_empty())
        .map(|(p, s)| (p.clone(), s.clone()))
        .collect();
    serde_json::to_vec_pretty(&kept).expect("staging serialises")
}

/// Which hundredth of customers `customer` is in for `plugin`'s rollouts: a hash, so it is
/// the same on every replica and after every restart, and independent from plugin to plugin.
pub fn bucket(plugin: &str, customer: &str) -> u8 {
    let digest = Digest::of(format!("{plugin}\n{customer}").as_bytes()).hex();
    let first = u64::from_str_radix(&digest[..16], 16).expect("hex digits");
    (first % 100) as u8
}

/// A staged version bound to a workflow's step.
pub struct Trial {
    pub mode: Mode,
    pub percent: u8,
    pub plugin: Arc<BoundPlugin>,
    /// New orders that reached this step, for sampling shadows evenly.
    seen: AtomicU64,
}

impl std::fmt::Debug for Trial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} {}% {:?}", self.mode, self.percent, self.plugin)
    }
}

impl Trial {
    pub fn new(mode: Mode, percent: u8, plugin: Arc<BoundPlugin>) -> Self {
        Trial {
            mode,
            percent,
            plugin,
            seen: AtomicU64::new(0),
        }
    }

    /// Whether a rollout decides `customer`'s orders.
    pub fn serves(&self, customer: &str) -> bool {
        bucket(&self.plugin.component().name, customer) < self.percent
    }

    /// Whether a shadow decides the next order again: `percent` of every hundred orders,
    /// spread evenly (a counter, not a coin: no randomness on the request path).
    pub fn sampled(&self) -> bool {
        takes(self.seen.fetch_add(1, Ordering::Relaxed), self.percent)
    }
}

/// Whether the `n`th order (from 0) is one of `percent` in a hundred, spread evenly.
fn takes(n: u64, percent: u8) -> bool {
    let p = u64::from(percent);
    (n + 1) * p / 100 != n * p / 100
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_spread_customers_evenly_and_stay_put() {
        let mut counts = [0u32; 100];
        for i in 0..20_000 {
            counts[usize::from(bucket("standard-pricing", &format!("customer-{i}")))] += 1;
        }
        assert!(
            counts.iter().all(|&c| (120..=280).contains(&c)),
            "{counts:?}"
        );
        assert_eq!(bucket("p", "ada"), bucket("p", "ada"));
    }

    #[test]
    fn a_shadow_samples_its_share_of_orders_evenly() {
        for percent in [1u8, 10, 33, 50, 100] {
            let taken = (0..1000).filter(|n| takes(*n, percent)).count();
            assert_eq!(taken, usize::from(percent) * 10, "{percent} %");
        }
        assert_eq!((0..10).filter(|n| takes(*n, 50)).count(), 5);
    }

    #[test]
    fn shares_serialise_as_the_staging_file_holds_them() {
        let mut set = TrialSet::new();
        let mut staging = Trials::default();
        staging.set(
            Mode::Rollout,
            Some(Share {
                digest: Digest::of(b"a staged version"),
                percent: 10,
                workflow: None,
            }),
        );
        set.insert("pricing".into(), staging.clone());
        set.insert("empty".into(), Trials::default());
        let read: TrialSet = serde_json::from_slice(&file_bytes(&set)).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read["pricing"], staging);
        assert_eq!(read["pricing"].shares().count(), 1);
    }
}
