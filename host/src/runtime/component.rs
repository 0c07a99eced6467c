//! A compiled component, checked to make one known decision in a supported WIT version.

use super::{InstanceState, Limits, PluginKind, wasi, wit};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use std::fmt;
use std::time::SystemTime;
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

/// The SHA-256 of a component's bytes: the identity of a plugin version.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub struct Digest([u8; 32]);

impl Digest {
    pub fn of(bytes: &[u8]) -> Self {
        Digest(Sha256::digest(bytes).into())
    }

    pub fn hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(64);
        for byte in self.0 {
            hex.push(DIGITS[usize::from(byte >> 4)] as char);
            hex.push(DIGITS[usize::from(byte & 15)] as char);
        }
        hex
    }

    /// `sha256:<64 hex digits>`, as recorded in orders and shown by the API.
    pub fn full(&self) -> String {
        format!("sha256:{}", self.hex())
    }

    /// Reads `sha256:<64 hex digits>` (or the 64 digits alone), as [`Digest::full`] prints it.
    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.strip_prefix("sha256:").unwrap_or(text).as_bytes();
        if hex.len() != 64 {
            return None;
        }
        let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
            *byte = digit(pair[0])? << 4 | digit(pair[1])?;
        }
        Some(Digest(bytes))
    }

    /// The first 12 hex digits, as shown in logs.
    pub fn short(&self) -> String {
        self.hex()[..12].to_owned()
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.short())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> Self {
        d.full()
    }
}

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

#[cfg(test)]
mod tests {
    use super::Digest;

    #[test]
    fn digests_print_as_standard_sha256_hex() {
        let abc = Digest::of(b"abc");
        assert_eq!(
            abc.hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(abc.full(), format!("sha256:{}", abc.hex()));
        assert_eq!(abc.to_string(), "sha256:ba7816bf8f01");
        assert_eq!(Digest::parse(&abc.full()), Some(abc.clone()));
        assert_eq!(Digest::parse(&abc.hex()), Some(abc.clone()));
        assert_eq!(Digest::parse("sha256:ba7816bf"), None);
        assert_eq!(Digest::parse(&abc.full().replace('b', "g")), None);
    }
}
