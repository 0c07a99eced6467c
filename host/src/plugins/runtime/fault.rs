//! Faults: a plugin that trapped, looped, hogged memory or answered nonsense. Unlike a
//! refusal (a business answer, a `Problem`), a fault says the plugin is broken; it always
//! names the plugin and its digest so ops know which version to roll back.

use super::{Digest, InstanceState, Limits, Logs};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[error("plugin {plugin} ({digest}) {kind}")]
pub struct PluginFault {
    pub plugin: String,
    pub digest: Digest,
    pub kind: FaultKind,
    /// What the plugin logged before it failed: a trapping plugin's last words.
    #[serde(skip_serializing_if = "Logs::is_empty")]
    pub logs: Logs,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum FaultKind {
    #[error("ran out of fuel (limit {0})")]
    OutOfFuel(u64),
    #[error("exceeded its memory cap of {0} MiB")]
    MemoryCap(u32),
    #[error("trapped: {0}")]
    Trap(String),
    #[error("answered outside the contract: {0}")]
    BadOutput(String),
}

impl FaultKind {
    /// Classifies what wasmtime reported, using what the store saw during the call, which
    /// was given `fuel`.
    pub(crate) fn of(
        error: &wasmtime::Error,
        state: &InstanceState,
        limits: &Limits,
        fuel: u64,
    ) -> Self {
        if state.memory_denied {
            return FaultKind::MemoryCap(limits.memory_mib);
        }
        match error.downcast_ref::<wasmtime::Trap>() {
            Some(wasmtime::Trap::OutOfFuel) => FaultKind::OutOfFuel(fuel),
            Some(trap) => FaultKind::Trap(trap.to_string()),
            // A host function's refusal (a WASI stand-in's): its own words, not the
            // backtrace wasmtime wraps them in.
            None => FaultKind::Trap(error.root_cause().to_string()),
        }
    }
}
