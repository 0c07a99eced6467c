//! What a plugin that imports WASI is granted: deterministic stand-ins with no reach.
//!
//! Toolchains for JavaScript and Python (and Rust's std) build components that import WASI
//! whether or not the rule needs it: an interpreter reads the clock and the environment on
//! start, seeds its hash tables, and prints. Refusing those imports would refuse every such
//! plugin; granting the real ones would let a decision depend on the machine it runs on. So
//! a component that imports WASI gets wasmtime-wasi's implementation over a context that
//! reaches nothing:
//!
//! - both clocks read the decision's `now` (`configure` sees the UNIX epoch), and time
//!   does not pass within a decision: the same order at the same `now` decides the same way;
//! - randomness is a fixed sequence from a fixed seed;
//! - no environment variables, no arguments, no preopened directory (so no file), no TCP,
//!   UDP or name lookup; stdin is empty and stdout/stderr are discarded;
//! - waiting on a clock traps: a sleep would hold a request thread with no fuel spent.
//!
//! A component that imports no WASI (a Rust plugin built for `wasm32-unknown-unknown`)
//! carries none of this: no context is built for its instances.

use super::InstanceState;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use wasmtime::Engine;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, HasData, Linker, Resource, ResourceTable, ResourceType};
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::p2::bindings::sync::clocks::monotonic_clock;
use wasmtime_wasi::{Deterministic, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// Whether the component imports any WASI interface.
pub(crate) fn imported(engine: &Engine, component: &Component) -> bool {
    component
        .component_type()
        .imports(engine)
        .any(|(name, _)| name.starts_with("wasi:"))
}

/// Adds the stand-ins to `linker`, and defines every other import of `component` to trap
/// but the contract's own, which the binding of its version has linked.
pub(crate) fn grant(
    linker: &mut Linker<InstanceState>,
    engine: &Engine,
    component: &Component,
) -> wasmtime::Result<()> {
    trap_the_rest(linker, engine, component)?;
    wasmtime_wasi::p2::add_to_linker_sync(linker)?;
    // The monotonic clock is replaced whole: a pollable on it would block the calling
    // thread for as long as the guest asks, fuel or not.
    linker.allow_shadowing(true);
    monotonic_clock::add_to_linker::<_, StandingClock>(linker, |state| {
        (state.wasi.as_deref()).expect("WASI is linked only for instances that carry its state")
    })?;
    linker.allow_shadowing(false);
    Ok(())
}

/// The WASI 0.2 packages wasmtime-wasi implements (`add_to_linker_sync`).
const GRANTED: [&str; 6] = ["cli", "clocks", "filesystem", "io", "random", "sockets"];

fn granted(import: &str) -> bool {
    let Some((package, version)) = import.strip_prefix("wasi:").and_then(|i| i.split_once('@'))
    else {
        return false;
    };
    let package = package.split('/').next().unwrap_or_default();
    GRANTED.contains(&package) && version.starts_with("0.2.")
}

/// Defines the imports the stand-ins do not grant to trap when called, as
/// `Linker::define_unknown_imports_as_traps` does for a component without WASI. That
/// function cannot be used here: it defines each imported instance under the exact version
/// the guest names (`wasi:io/streams@0.2.0`), which hides the semver-compatible one
/// wasmtime-wasi defines (`@0.2.12`) and would make every WASI call trap.
fn trap_the_rest(
    linker: &mut Linker<InstanceState>,
    engine: &Engine,
    component: &Component,
) -> wasmtime::Result<()> {
    let refused = |name: String| {
        move |_: wasmtime::StoreContextMut<'_, InstanceState>, _, _: &_, _: &mut _| {
            wasmtime::bail!("`{name}` is not granted to plugins")
        }
    };
    let ty = component.component_type();
    let contract = format!("{}/", super::wit::PACKAGE);
    let ours = |name: &str| granted(name) || name.starts_with(&contract);
    for (import, item) in ty.imports(engine).filter(|(name, _)| !ours(name)) {
        match item.ty {
            ComponentItem::ComponentFunc(_) => {
                linker.root().func_new(import, refused(import.into()))?
            }
            ComponentItem::ComponentInstance(instance) => {
                let mut defined = linker.instance(import)?;
                for (name, item) in instance.exports(engine) {
                    match item.ty {
                        ComponentItem::ComponentFunc(_) => {
                            defined.func_new(name, refused(format!("{import}#{name}")))?
                        }
                        ComponentItem::Resource(_) => {
                            defined.resource(name, ResourceType::host::<()>(), |_, _| Ok(()))?
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The monotonic clock of the stand-ins: the decision's `now`, which nothing can wait on.
struct StandingClock;

impl HasData for StandingClock {
    type Data<'a> = &'a WasiState;
}

impl monotonic_clock::Host for &WasiState {
    fn now(&mut self) -> wasmtime::Result<u64> {
        Ok(self.clock.read().as_nanos() as u64)
    }

    fn resolution(&mut self) -> wasmtime::Result<u64> {
        Ok(RESOLUTION.as_nanos() as u64)
    }

    fn subscribe_instant(&mut self, _: u64) -> wasmtime::Result<Resource<DynPollable>> {
        wasmtime::bail!("a plugin cannot wait on a clock: time stands still in a decision")
    }

    fn subscribe_duration(&mut self, _: u64) -> wasmtime::Result<Resource<DynPollable>> {
        wasmtime::bail!("a plugin cannot wait on a clock: time stands still in a decision")
    }
}

const RESOLUTION: Duration = Duration::from_millis(1);

/// The random bytes every instance reads, cycled: fixed, so decisions repeat.
const SEED: &[u8; 32] = b"orderflow deterministic seed 0.1";

/// One instance's WASI context.
pub(crate) struct WasiState {
    ctx: WasiCtx,
    table: ResourceTable,
    clock: DecisionClock,
}

impl WasiState {
    pub(crate) fn new() -> Self {
        let clock = DecisionClock(Arc::new(AtomicU64::new(0)));
        let ctx = WasiCtxBuilder::new()
            .wall_clock(clock.clone())
            .secure_random(Deterministic::new(SEED.to_vec()))
            .insecure_random(Deterministic::new(SEED.to_vec()))
            .insecure_random_seed(u128::from_le_bytes(SEED[..16].try_into().expect("16")))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        WasiState {
            ctx,
            table: ResourceTable::new(),
            clock,
        }
    }

    /// What both clocks read from now on, in milliseconds since the UNIX epoch.
    pub(crate) fn set_now(&self, millis: u64) {
        self.clock.0.store(millis, Ordering::Relaxed);
    }
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        let wasi = (self.wasi.as_mut())
            .expect("WASI is linked only for components whose instances carry its state");
        WasiCtxView {
            ctx: &mut wasi.ctx,
            table: &mut wasi.table,
        }
    }
}

/// An instance's clock: the decision's `now`.
#[derive(Clone)]
struct DecisionClock(Arc<AtomicU64>);

impl DecisionClock {
    fn read(&self) -> Duration {
        Duration::from_millis(self.0.load(Ordering::Relaxed))
    }
}

impl HostWallClock for DecisionClock {
    fn resolution(&self) -> Duration {
        RESOLUTION
    }

    fn now(&self) -> Duration {
        self.read()
    }
}

/// Runs `call` where wasmtime-wasi may block on its futures. Its synchronous bindings wait
/// on a Tokio runtime, which panics on a thread that is driving async tasks: a request
/// handler's. On a multi-threaded runtime `block_in_place` hands the worker's other tasks
/// to another thread for the call's duration; on a current-thread runtime the call gets a
/// thread of its own; outside any runtime it runs as it is.
pub(crate) fn outside_async<R: Send>(call: impl FnOnce() -> R + Send) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Err(_) => call(),
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(call),
        Ok(_) => std::thread::scope(|s| s.spawn(call).join()).unwrap_or_else(|panic| {
            std::panic::resume_unwind(panic);
        }),
    }
}
