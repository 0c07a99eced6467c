//! The WIT versions this host binds, side by side (`wit/since_v*`, Zed's pattern): each
//! version has its own module and generated types, a component is bound in the version it
//! was built against, and the rest of the host sees only domain types. A new contract
//! version adds its WIT directory, a module (one `bind_contract_version!`), and a variant
//! of [`ContractVersion`]; every `match` on that enum is exhaustive, so the compiler lists
//! each place the new version must be handled (`Pre`, `Instance`, `on_version!`, ...).
//! Components built against older versions keep loading, through modules left as they were.

#[macro_use]
mod binding;
pub mod since_v0_1_0;
pub mod since_v0_2_0;
pub mod since_v0_3_0;
pub mod since_v0_4_0;
pub mod since_v0_5_0;

use crate::domain::{
    Actor, ChangeKind, Money, OrderDraft, OrderView, Problem, Refund, ReturnRequest, UnixMillis,
};
use crate::plugins::PluginKind;
use crate::plugins::runtime::InstanceState;
use serde::Serialize;
use std::fmt;
use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::{Engine, Store};

/// The package every plugin interface belongs to.
pub const PACKAGE: &str = "orderflow:plugins";

/// A version of the contract this host binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "&'static str")]
pub enum ContractVersion {
    V0_1_0,
    V0_2_0,
    V0_3_0,
    V0_4_0,
    V0_5_0,
}

impl ContractVersion {
    /// Every version this host accepts, oldest first.
    pub const ALL: [ContractVersion; 5] = [
        ContractVersion::V0_1_0,
        ContractVersion::V0_2_0,
        ContractVersion::V0_3_0,
        ContractVersion::V0_4_0,
        ContractVersion::V0_5_0,
    ];

    /// The version as the WIT package states it (`0.2.0`).
    pub fn as_str(self) -> &'static str {
        match self {
            ContractVersion::V0_1_0 => since_v0_1_0::VERSION,
            ContractVersion::V0_2_0 => since_v0_2_0::VERSION,
            ContractVersion::V0_3_0 => since_v0_3_0::VERSION,
            ContractVersion::V0_4_0 => since_v0_4_0::VERSION,
            ContractVersion::V0_5_0 => since_v0_5_0::VERSION,
        }
    }

    /// Adds what plugins of this version import from the host to `linker`.
    pub fn link(self, linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
        match self {
            ContractVersion::V0_1_0 => since_v0_1_0::link(linker),
            ContractVersion::V0_2_0 => since_v0_2_0::link(linker),
            ContractVersion::V0_3_0 => since_v0_3_0::link(linker),
            ContractVersion::V0_4_0 => since_v0_4_0::link(linker),
            ContractVersion::V0_5_0 => since_v0_5_0::link(linker),
        }
    }

    pub fn parse(version: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == version)
    }
}

impl From<ContractVersion> for &'static str {
    fn from(v: ContractVersion) -> Self {
        v.as_str()
    }
}

impl fmt::Display for ContractVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A component checked to export one decision in one contract version, ready to instantiate.
pub enum Pre {
    V0_1(since_v0_1_0::Pre),
    V0_2(since_v0_2_0::Pre),
    V0_3(since_v0_3_0::Pre),
    V0_4(since_v0_4_0::Pre),
    V0_5(since_v0_5_0::Pre),
}

/// A live instance, in its contract version; used for one decision only (see `runtime::pool`).
pub enum Instance {
    V0_1(since_v0_1_0::Instance),
    V0_2(since_v0_2_0::Instance),
    V0_3(since_v0_3_0::Instance),
    V0_4(since_v0_4_0::Instance),
    V0_5(since_v0_5_0::Instance),
}

impl Pre {
    /// `version` as [`detect`] found it.
    pub fn new(
        kind: PluginKind,
        version: ContractVersion,
        pre: InstancePre<InstanceState>,
    ) -> wasmtime::Result<Self> {
        Ok(match version {
            ContractVersion::V0_1_0 => Pre::V0_1(since_v0_1_0::Pre::new(kind, pre)?),
            ContractVersion::V0_2_0 => Pre::V0_2(since_v0_2_0::Pre::new(kind, pre)?),
            ContractVersion::V0_3_0 => Pre::V0_3(since_v0_3_0::Pre::new(kind, pre)?),
            ContractVersion::V0_4_0 => Pre::V0_4(since_v0_4_0::Pre::new(kind, pre)?),
            ContractVersion::V0_5_0 => Pre::V0_5(since_v0_5_0::Pre::new(kind, pre)?),
        })
    }

    pub fn instantiate(&self, store: &mut Store<InstanceState>) -> wasmtime::Result<Instance> {
        Ok(match self {
            Pre::V0_1(pre) => Instance::V0_1(pre.instantiate(store)?),
            Pre::V0_2(pre) => Instance::V0_2(pre.instantiate(store)?),
            Pre::V0_3(pre) => Instance::V0_3(pre.instantiate(store)?),
            Pre::V0_4(pre) => Instance::V0_4(pre.instantiate(store)?),
            Pre::V0_5(pre) => Instance::V0_5(pre.instantiate(store)?),
        })
    }
}

/// Runs `$call` on the version's own instance, bound as `$i`: the same code, compiled
/// against each version's generated types.
macro_rules! on_version {
    ($instance:expr, $i:ident => $call:expr) => {
        match $instance {
            $crate::plugins::runtime::wit::Instance::V0_1($i) => $call,
            $crate::plugins::runtime::wit::Instance::V0_2($i) => $call,
            $crate::plugins::runtime::wit::Instance::V0_3($i) => $call,
            $crate::plugins::runtime::wit::Instance::V0_4($i) => $call,
            $crate::plugins::runtime::wit::Instance::V0_5($i) => $call,
        }
    };
}
pub(crate) use on_version;

impl ContractVersion {
    /// Whether plugins of this version decide about placed orders' changes
    /// (`allow-change`, `refund`); for older ones the host applies its defaults.
    pub fn decides_changes(self) -> bool {
        self >= ContractVersion::V0_4_0
    }

    /// Whether plugins of this version see what a new order may still take of each
    /// product (`available`); the host reads the ledger for them only.
    pub fn sees_available_stock(self) -> bool {
        self >= ContractVersion::V0_5_0
    }
}

impl Instance {
    /// `allow-change`, on a version that has it (see [`ContractVersion::decides_changes`]).
    pub fn allow_change(
        &self,
        store: &mut Store<InstanceState>,
        order: &OrderView,
        kind: ChangeKind,
        by: &Actor,
        now: UnixMillis,
    ) -> CallResult<()> {
        match self {
            Instance::V0_4(i) => i.allow_change(store, order, kind, by, now),
            Instance::V0_5(i) => i.allow_change(store, order, kind, by, now),
            _ => Err(before_0_4("allow-change")),
        }
    }

    /// `refund`, on a version that has it.
    pub fn refund(
        &self,
        store: &mut Store<InstanceState>,
        order: &OrderView,
        request: &ReturnRequest,
        now: UnixMillis,
    ) -> CallResult<Refund> {
        match self {
            Instance::V0_4(i) => i.refund(store, order, request, now),
            Instance::V0_5(i) => i.refund(store, order, request, now),
            _ => Err(before_0_4("refund")),
        }
    }
}

fn before_0_4(call: &str) -> CallError {
    CallError::Wasm(wasmtime::format_err!(
        "`{call}` is a decision of contract 0.4.0 and later"
    ))
}

/// Why a call produced no usable answer; the plugin layer turns it into a `PluginFault`.
pub enum CallError {
    /// A trap, fuel or memory exhaustion, or a failed instantiation.
    Wasm(wasmtime::Error),
    /// The plugin answered something the contract does not allow.
    Output(String),
}

impl From<wasmtime::Error> for CallError {
    fn from(e: wasmtime::Error) -> Self {
        CallError::Wasm(e)
    }
}

/// A decision (`Ok`) or the plugin's refusal (`Err` with its problems), or a fault.
pub type CallResult<T> = Result<Result<T, Vec<Problem>>, CallError>;

/// Which decision `component` makes and in which contract version, from its exports.
pub fn detect(
    engine: &Engine,
    component: &Component,
) -> Result<(PluginKind, ContractVersion), String> {
    let mut seen = Vec::new();
    for (name, _) in component.component_type().exports(engine) {
        let Some(rest) = name.strip_prefix(PACKAGE).and_then(|r| r.strip_prefix('/')) else {
            continue;
        };
        let (interface, version) = rest.split_once('@').unwrap_or((rest, "(unversioned)"));
        let kind = PluginKind::ALL
            .into_iter()
            .find(|k| k.interface() == interface);
        match (kind, ContractVersion::parse(version)) {
            (Some(kind), Some(version)) if exports(component, kind, version) => {
                return Ok((kind, version));
            }
            _ => seen.push(name.to_owned()),
        }
    }
    Err(if seen.is_empty() {
        format!("the component exports no {PACKAGE} interface (validation, pricing or lifecycle)")
    } else {
        format!(
            "the component exports {}, but this host supports {PACKAGE} versions {}",
            seen.join(", "),
            ContractVersion::ALL.map(ContractVersion::as_str).join(", ")
        )
    })
}

/// Whether `component` exports the interface of `kind` in `version`.
fn exports(component: &Component, kind: PluginKind, version: ContractVersion) -> bool {
    match version {
        ContractVersion::V0_1_0 => since_v0_1_0::exports(component, kind),
        ContractVersion::V0_2_0 => since_v0_2_0::exports(component, kind),
        ContractVersion::V0_3_0 => since_v0_3_0::exports(component, kind),
        ContractVersion::V0_4_0 => since_v0_4_0::exports(component, kind),
        ContractVersion::V0_5_0 => since_v0_5_0::exports(component, kind),
    }
}

/// The order and total a `create` fixture of `version` describes (fixtures state each
/// call's arguments as that version's WIT does).
pub fn creation_fixture(
    version: ContractVersion,
    fixture: &plugin_fixtures::Fixture,
) -> Result<(OrderDraft, Money), String> {
    match version {
        ContractVersion::V0_1_0 => since_v0_1_0::creation_fixture(fixture),
        ContractVersion::V0_2_0 => since_v0_2_0::creation_fixture(fixture),
        ContractVersion::V0_3_0 => since_v0_3_0::creation_fixture(fixture),
        ContractVersion::V0_4_0 => since_v0_4_0::creation_fixture(fixture),
        ContractVersion::V0_5_0 => since_v0_5_0::creation_fixture(fixture),
    }
}
