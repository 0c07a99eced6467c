//! The WIT versions this host binds. Each version lives in its own module with its own
//! conversions (`since_v0_1_0`); a new contract version adds a module and a detection
//! arm here, and components built against older versions keep loading.

pub mod since_v0_1_0;

use crate::domain::Problem;
use crate::plugins::PluginKind;
use wasmtime::Engine;
use wasmtime::component::Component;

pub use since_v0_1_0::{Instance, Pre};

/// The package every plugin interface belongs to.
pub const PACKAGE: &str = "orderflow:plugins";

/// Contract versions this host accepts.
pub const SUPPORTED_VERSIONS: &[&str] = &[since_v0_1_0::VERSION];

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
            (Some(kind), Some(version)) if since_v0_1_0::exports(component, kind) => {
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
