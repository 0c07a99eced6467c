//! The plugin runtime: compiles components once, checks which decision they make, and
//! runs each decision in a fresh, bounded instance.
//!
//! - one [`Runtime`] (one wasmtime `Engine`, pooling allocator, fuel) per process;
//! - [`Component`](component::LoadedComponent)s compiled once and cached precompiled on disk;
//! - per call a fresh instance from an `InstancePre`, prepared ahead of the call by a
//!   background thread ([`pool`]) so the request path pays only for the call itself;
//! - every call bounded by fuel and a memory cap ([`Limits`]).
//!
//! The decisions themselves, typed and checked, are the platform's
//! ([`crate::plugins::decisions`]): this module knows wasm, not orders.

pub mod cache;
pub mod component;
pub mod engine;
pub mod fault;
pub mod logs;
pub mod pool;
pub mod wasi;
pub mod wit;

pub use component::{LoadError, LoadedComponent};
pub use engine::{Runtime, RuntimeConfig};
pub use fault::{FaultKind, PluginFault};
pub use logs::{LogLevel, LogLine, Logs};

use crate::domain::Digest;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

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
            PluginKind::Lifecycle => &[
                "describe",
                "create",
                "change_status",
                "change_payment",
                "allow_change",
                "refund",
            ],
        }
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.interface())
    }
}

/// Which plugin version, bound to which workflow, made a decision: recorded with every order
/// change it leads to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decider {
    pub workflow: Arc<str>,
    pub plugin: Arc<str>,
    pub digest: Digest,
}

/// Bounds of one call. A workflow may set them per plugin ([`LimitsOverride`]); what it
/// leaves unset is the component's default ([`Limits::for_component`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Wasm instructions (roughly) one call may execute: an endless loop traps in a few ms.
    pub fuel: u64,
    /// Linear memory one instance may grow to, in MiB.
    pub memory_mib: u32,
    /// Fuel a call is given on top of `fuel` for each line of the order it decides on, so
    /// a rule that fits a 3-item order does not fail a 90-item one. 0 by default.
    pub fuel_per_line: u64,
    /// Log lines a decision keeps (contract 0.3.0's `log`); further ones are counted.
    pub log_lines: u32,
    /// Bytes of log messages a decision keeps, all its lines together.
    pub log_bytes: u32,
}

/// A component at least this big carries a language's runtime (an interpreter: QuickJS,
/// CPython, SpiderMonkey), so its decisions cost what interpreting costs. Rust plugins are
/// 0.1–0.3 MB; the JavaScript ones 1.7 MB and more, the Python ones ~18 MB.
pub const RUNTIME_CARRYING_BYTES: usize = 1024 * 1024;

impl Default for Limits {
    /// A compiled plugin's: a 10-item quote of the Rust rule burns ~14,000 fuel and its
    /// instance holds well under 1 MiB, so both leave a wide margin.
    fn default() -> Self {
        Limits {
            fuel: 10_000_000,
            memory_mib: 16,
            fuel_per_line: 0,
            // Enough for a rule to say why it decided as it did; a decision's lines travel
            // with it (replays, the service's log), so they stay a few KiB.
            log_lines: 20,
            log_bytes: 4096,
        }
    }
}

impl Limits {
    /// What a plugin gets unless its workflow says otherwise, by what the component is. A
    /// component carrying an interpreter gets 10 times the fuel (the JavaScript rule burns
    /// ~48,000 a line, so a 1,000-line order fits, as ~55 lines did not under 10 M on
    /// SpiderMonkey) and 64 MiB (CPython starts at 12.3 MiB; the compiled default is 16).
    pub fn for_component(size: usize) -> Self {
        if size < RUNTIME_CARRYING_BYTES {
            return Limits::default();
        }
        Limits {
            fuel: 100_000_000,
            memory_mib: 64,
            ..Limits::default()
        }
    }

    /// The fuel of a call on an order of `lines` lines.
    pub fn fuel_for(&self, lines: usize) -> u64 {
        (self.fuel_per_line.saturating_mul(lines as u64)).saturating_add(self.fuel)
    }

    pub fn memory_bytes(&self) -> usize {
        self.memory_mib as usize * 1024 * 1024
    }
}

/// Limits as a workflow file sets them (`[limits]`, a step's `limits`): each one unset is
/// the plugin's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsOverride {
    pub fuel: Option<u64>,
    pub memory_mib: Option<u32>,
    pub fuel_per_line: Option<u64>,
    pub log_lines: Option<u32>,
    pub log_bytes: Option<u32>,
}

impl LimitsOverride {
    /// These settings, with `base`'s where these leave one unset.
    pub fn or(self, base: LimitsOverride) -> LimitsOverride {
        LimitsOverride {
            fuel: self.fuel.or(base.fuel),
            memory_mib: self.memory_mib.or(base.memory_mib),
            fuel_per_line: self.fuel_per_line.or(base.fuel_per_line),
            log_lines: self.log_lines.or(base.log_lines),
            log_bytes: self.log_bytes.or(base.log_bytes),
        }
    }

    pub fn resolve(self, defaults: Limits) -> Limits {
        Limits {
            fuel: self.fuel.unwrap_or(defaults.fuel),
            memory_mib: self.memory_mib.unwrap_or(defaults.memory_mib),
            fuel_per_line: self.fuel_per_line.unwrap_or(defaults.fuel_per_line),
            log_lines: self.log_lines.unwrap_or(defaults.log_lines),
            log_bytes: self.log_bytes.unwrap_or(defaults.log_bytes),
        }
    }
}

/// What each `Store` carries: the memory cap, whether the cap was hit (so a trap can be
/// told apart from a memory hog), the decision's log lines, and the WASI stand-ins of a
/// component that imports WASI.
pub struct InstanceState {
    memory_cap: usize,
    memory_denied: bool,
    /// Linear memory the instance holds, all its memories together.
    pub(crate) memory_held: usize,
    pub(crate) logs: logs::LogBuffer,
    wasi: Option<Box<wasi::WasiState>>,
}

impl InstanceState {
    fn new(limits: &Limits, wasi: bool) -> Self {
        InstanceState {
            memory_cap: limits.memory_bytes(),
            memory_denied: false,
            memory_held: 0,
            logs: logs::LogBuffer::new(limits),
            wasi: wasi.then(|| Box::new(wasi::WasiState::new())),
        }
    }

    /// The decision's time, which a WASI guest's clocks read.
    pub(crate) fn set_now(&self, millis: u64) {
        if let Some(wasi) = &self.wasi {
            wasi.set_now(millis);
        }
    }
}

impl wasmtime::ResourceLimiter for InstanceState {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_cap {
            self.memory_denied = true;
            wasmtime::bail!("memory cap of {} bytes reached", self.memory_cap);
        }
        self.memory_held += desired - current;
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
