//! The plugin runtime: compiles components once, checks which decision they make, and
//! runs each decision in a fresh, bounded instance.
//!
//! - one [`Runtime`] (one wasmtime `Engine`, pooling allocator, fuel) per process;
//! - [`Component`](component::LoadedComponent)s compiled once and cached precompiled on disk;
//! - per call a fresh instance from an `InstancePre`, prepared ahead of the call by a
//!   background thread ([`pool`]) so the request path pays only for the call itself;
//! - the decisions themselves, typed, on a plugin bound to a workflow ([`decisions`]);
//! - every call bounded by fuel and a memory cap; every answer checked ([`checks`]).

pub mod cache;
pub mod checks;
pub mod component;
pub mod decisions;
pub mod engine;
pub mod fault;
pub mod pool;
pub mod wasi;
pub mod wit;

pub use component::{Digest, LoadedComponent};
pub use decisions::{BoundPlugin, Decided};
pub use engine::{Runtime, RuntimeConfig};
pub use fault::{FaultKind, PluginFault};

use serde::{Deserialize, Serialize};
use std::fmt;

/// The decision a plugin makes; one WIT world each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PluginKind {
    Validation,
    Pricing,
    Lifecycle,
}

impl PluginKind {
    pub const ALL: [PluginKind; 3] = [
        PluginKind::Validation,
        PluginKind::Pricing,
        PluginKind::Lifecycle,
    ];

    /// The WIT interface name.
    pub fn interface(self) -> &'static str {
        match self {
            PluginKind::Validation => "validation",
            PluginKind::Pricing => "pricing",
            PluginKind::Lifecycle => "lifecycle",
        }
    }

    /// The calls a plugin of this kind answers, as the metrics name them.
    pub fn calls(self) -> &'static [&'static str] {
        match self {
            PluginKind::Validation => &["validate"],
            PluginKind::Pricing => &["price"],
            PluginKind::Lifecycle => &["describe", "create", "change_status", "change_payment"],
        }
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.interface())
    }
}

/// Bounds of one call. Defaults fit the standard plugins with a wide margin (a 10-item
/// quote burns ~10⁵ fuel); a workflow may override them per plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Wasm instructions (roughly) one call may execute: an endless loop traps in a few ms.
    pub fuel: u64,
    /// Linear memory one instance may grow to, in MiB.
    pub memory_mib: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: 10_000_000,
            memory_mib: 16,
        }
    }
}

impl Limits {
    pub fn memory_bytes(&self) -> usize {
        self.memory_mib as usize * 1024 * 1024
    }
}

/// What each `Store` carries: the memory cap, whether the cap was hit (so a trap can be
/// told apart from a memory hog), and the WASI stand-ins of a component that imports WASI.
pub struct InstanceState {
    memory_cap: usize,
    memory_denied: bool,
    wasi: Option<Box<wasi::WasiState>>,
}

impl InstanceState {
    fn new(limits: &Limits, wasi: bool) -> Self {
        InstanceState {
            memory_cap: limits.memory_bytes(),
            memory_denied: false,
            wasi: wasi.then(|| Box::new(wasi::WasiState::new())),
        }
    }

    /// The decision's time, which a WASI guest's clocks read.
    fn set_now(&self, millis: u64) {
        if let Some(wasi) = &self.wasi {
            wasi.set_now(millis);
        }
    }
}

impl wasmtime::ResourceLimiter for InstanceState {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_cap {
            self.memory_denied = true;
            wasmtime::bail!("memory cap of {} bytes reached", self.memory_cap);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}
