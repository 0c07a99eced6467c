//! A compiled component, checked to make one known decision in a supported WIT version.

use super::{InstanceState, Limits, PluginKind, wasi, wit};
use crate::domain::Digest;
use std::fmt;
use std::time::SystemTime;
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

/// Why a component cannot serve.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadError {
    #[error("not a valid component: {0}")]
    Compile(String),
    #[error("{0}")]
    Contract(String),
    #[error("it makes {found} decisions, not {expected} decisions")]
    WrongKind {
        expected: PluginKind,
        found: PluginKind,
    },
    #[error("its parameters were refused: {0}")]
    Params(String),
    #[error("it fails on start: {0}")]
    Start(String),
}

/// Compiles a plugin file: a component, or a core module carrying its WIT world (what
/// wit-bindgen builds for `wasm32-unknown-unknown`), which is wrapped into a component
/// first. Such a module imports nothing, so its component is one core instance; a std guest
/// built for `wasm32-wasip2` imports WASI, and its shims and adapter tables make every
/// instance dearer to create and to free (the standard decisions: 19 µs against 27 µs).
pub(crate) fn compile(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Component> {
    if !is_core_module(bytes) {
        return Component::from_binary(engine, bytes);
    }
    let component = wit_component::ComponentEncoder::default()
        .module(bytes)
        .and_then(|encoder| encoder.validate(true).encode())
        .map_err(wasmtime::Error::from_anyhow)?;
    Component::from_binary(engine, &component)
}

/// A core module's preamble: the magic and version 1 (a component's version differs).
fn is_core_module(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\0asm\x01\0\0\0")
}

pub struct LoadedComponent {
    pub name: String,
    pub kind: PluginKind,
    /// The WIT contract version it was built against.
    pub contract: wit::ContractVersion,
    pub digest: Digest,
    pub size: usize,
    pub loaded_at: SystemTime,
    /// Whether it imports WASI, and so runs with the stand-ins of [`wasi`].
    pub wasi: bool,
    pub(crate) pre: wit::Pre,
}

impl fmt::Debug for LoadedComponent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} plugin {} (wit {})",
            self.name, self.kind, self.digest, self.contract
        )
    }
}

impl LoadedComponent {
    /// The limits of its calls unless its workflow sets them: by what it is.
    pub fn default_limits(&self) -> Limits {
        Limits::for_component(self.size)
    }

    /// Links and type-checks a compiled component. What its contract version imports from
    /// the host (0.3.0's `log`) is linked; WASI is granted as the deterministic stand-ins of
    /// [`wasi`], which reach no real clock, file, network or randomness; any other import is
    /// defined to trap.
    pub(crate) fn new(
        engine: &Engine,
        name: &str,
        digest: Digest,
        size: usize,
        component: &Component,
    ) -> Result<Self, LoadError> {
        let (kind, contract) = wit::detect(engine, component).map_err(LoadError::Contract)?;
        let mut linker = Linker::<InstanceState>::new(engine);
        let refused = |e: wasmtime::Error| LoadError::Contract(format!("{e:#}"));
        contract.link(&mut linker).map_err(refused)?;
        let wasi = wasi::imported(engine, component);
        if wasi {
            wasi::grant(&mut linker, engine, component).map_err(refused)?;
        } else {
            (linker.define_unknown_imports_as_traps(component)).map_err(refused)?;
        }
        let pre = wit::Pre::new(
            kind,
            contract,
            linker.instantiate_pre(component).map_err(refused)?,
        )
        .map_err(refused)?;
        Ok(LoadedComponent {
            name: name.to_owned(),
            kind,
            contract,
            digest,
            size,
            loaded_at: SystemTime::now(),
            wasi,
            pre,
        })
    }
}
