//! The WIT versions this host binds, side by side (`wit/since_v*`, Zed's pattern): each
//! version has its own module and generated types, a component is bound in the version it
//! was built against, and the rest of the host sees only domain types. A new contract
//! version adds its WIT directory, a module (one `bind_contract_version!`), a variant in
//! `Pre`, `Instance` and `on_version!`, and an entry in `SUPPORTED_VERSIONS`; components
//! built against older versions keep loading.

#[macro_use]
mod binding;
pub mod since_v0_1_0;
pub mod since_v0_2_0;

use crate::domain::Problem;
use crate::plugins::{PluginKind, StoreState};
use wasmtime::component::{Component, InstancePre};
use wasmtime::{Engine, Store};

/// The package every plugin interface belongs to.
pub const PACKAGE: &str = "orderflow:plugins";

/// Contract versions this host accepts, oldest first.
pub const SUPPORTED_VERSIONS: &[&str] = &[since_v0_1_0::VERSION, since_v0_2_0::VERSION];

/// A component checked to export one decision in one contract version, ready to instantiate.
pub enum Pre {
    V0_1(since_v0_1_0::Pre),
    V0_2(since_v0_2_0::Pre),
}

/// A live instance, in its contract version; used for one decision only (see `plugins::pool`).
pub enum Instance {
    V0_1(since_v0_1_0::Instance),
    V0_2(since_v0_2_0::Instance),
}

impl Pre {
    /// `version` is one of `SUPPORTED_VERSIONS`, as [`detect`] found it.
    pub fn new(
        kind: PluginKind,
        version: &str,
        pre: InstancePre<StoreState>,
    ) -> wasmtime::Result<Self> {
        Ok(match version {
            since_v0_1_0::VERSION => Pre::V0_1(since_v0_1_0::Pre::new(kind, pre)?),
            _ => Pre::V0_2(since_v0_2_0::Pre::new(kind, pre)?),
        })
    }

    pub fn instantiate(&self, store: &mut Store<StoreState>) -> wasmtime::Result<Instance> {
        Ok(match self {
            Pre::V0_1(pre) => Instance::V0_1(pre.instantiate(store)?),
            Pre::V0_2(pre) => Instance::V0_2(pre.instantiate(store)?),
        })
    }
}

/// Runs `$call` on the version's own instance, bound as `$i`: the same code, compiled
/// against each version's generated types.
macro_rules! on_version {
    ($instance:expr, $i:ident => $call:expr) => {
        match $instance {
            $crate::plugins::wit::Instance::V0_1($i) => $call,
            $crate::plugins::wit::Instance::V0_2($i) => $call,
        }
    };
}
pub(crate) use on_version;

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
) -> Result<(PluginKind, &'static str), String> {
    let mut seen = Vec::new();
    for (name, _) in component.component_type().exports(engine) {
        let Some(rest) = name.strip_prefix(PACKAGE).and_then(|r| r.strip_prefix('/')) else {
            continue;
        };
        let (interface, version) = rest.split_once('@').unwrap_or((rest, "(unversioned)"));
        let kind = PluginKind::ALL
            .into_iter()
            .find(|k| k.interface() == interface);
        match (kind, SUPPORTED_VERSIONS.iter().find(|v| **v == version)) {
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
            SUPPORTED_VERSIONS.join(", ")
        )
    })
}

/// Whether a lifecycle plugin of contract `version` decides creation on the whole draft and
/// the total (0.1.0) rather than on the priced order.
pub fn creation_takes_the_draft(version: &str) -> bool {
    version == since_v0_1_0::VERSION
}

/// Whether `component` exports the interface of `kind` in `version`.
fn exports(component: &Component, kind: PluginKind, version: &str) -> bool {
    match version {
        since_v0_1_0::VERSION => since_v0_1_0::exports(component, kind),
        _ => since_v0_2_0::exports(component, kind),
    }
}
