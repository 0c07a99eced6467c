//! Configured snapshots of interpreter plugins: `configure` once per binding, not per
//! decision.
//!
//! Every decision runs in a fresh instance configured with its workflow's parameters. For a
//! Rust plugin that costs microseconds; an interpreter parses its parameters in its own
//! code, and the JavaScript pricing rule spent ~1.2 ms instantiating and configuring
//! against ~0.34 ms deciding (2026-12-06, `cargo bench --bench decisions`). So a component
//! carrying an interpreter is loaded instrumented by wasmtime-wizer, and each binding of it
//! configures one instance, snapshots its state (memories and globals) into a new component
//! and prepares its instances from that: each starts configured, as if `configure` had just
//! returned. Fresh instances still, so nothing leaks from one decision to the next.
//!
//! Not snapshotted (their instances configure each time, as before): compiled plugins (no
//! gain worth a second compile), a component that imports WASI (a snapshot would keep
//! handles to host resources that a new instance does not have), and any component wizer
//! cannot rewrite. A binding that is only tried (a trial, a dry run) is not snapshotted
//! either: it serves a call or two.

use super::cache::ArtifactCache;
use super::component::{Digest, LoadedComponent, is_core_module};
use super::pool::Prepared;
use super::{InstanceState, RUNTIME_CARRYING_BYTES};
use crate::panic_message;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use wasmtime::component::{Instance, Lift, WasmList};
use wasmtime::{Engine, Store};
use wasmtime_wizer::{ComponentInstanceState, Wizer};

/// The bytes to compile for a plugin file: instrumented for a snapshot when it carries an
/// interpreter and wizer can rewrite it, or None to compile the file as it is. The
/// instrumentation only adds exports that read the instance's state.
pub(crate) fn instrumented(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.len() < RUNTIME_CARRYING_BYTES || is_core_module(bytes) {
        return None;
    }
    match Wizer::new().instrument_component(bytes) {
        Ok((_, instrumented)) => Some(instrumented),
        Err(e) => {
            tracing::info!(error = %format!("{e:#}"), "a component that will not be snapshotted");
            None
        }
    }
}

/// The component `configured` was prepared from, with `configured`'s state as its initial
/// state, compiled (through `cache`) and checked as any plugin is. None when it cannot be
/// made: the binding then configures each instance, as compiled plugins do.
pub(crate) fn image(
    engine: &Engine,
    cache: &ArtifactCache,
    component: &LoadedComponent,
    mut configured: Prepared,
) -> Option<Arc<LoadedComponent>> {
    let source = component.snapshot_source.as_ref()?;
    let take = || -> wasmtime::Result<LoadedComponent> {
        let wizer = Wizer::new();
        let (cx, _) = wizer.instrument_component(source)?;
        // Reading the state back runs the instrumentation's exports, not the plugin.
        configured.store.set_fuel(u64::MAX)?;
        let mut state = State {
            store: &mut configured.store,
            instance: configured.raw,
        };
        let bytes = synchronously(wizer.snapshot_component(&cx, &mut state))?;
        let compiled = cache.component(engine, &Digest::of(&bytes), &bytes)?;
        let name = &component.name;
        let (digest, size) = (component.digest.clone(), component.size);
        LoadedComponent::new(engine, name, digest, size, &compiled)
            .map_err(|e| wasmtime::format_err!("{e}"))
    };
    // wizer reports a failed read of the instance's state by panicking.
    match std::panic::catch_unwind(AssertUnwindSafe(take)) {
        Ok(Ok(image)) => Some(Arc::new(image)),
        Ok(Err(e)) => {
            tracing::warn!(plugin = %component.name, error = %format!("{e:#}"), "not snapshotted");
            None
        }
        Err(panic) => {
            let why = panic_message(panic.as_ref());
            tracing::warn!(plugin = %component.name, error = %why, "not snapshotted");
            None
        }
    }
}

/// Runs a future whose every step is ready at once: wizer's interface is async, the calls
/// behind it here are not.
fn synchronously<T>(future: impl Future<Output = T>) -> T {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(value) => value,
        Poll::Pending => unreachable!("a snapshot's calls never wait"),
    }
}

/// A configured instance, as wizer reads it: through the exports its instrumentation added.
struct State<'a> {
    store: &'a mut Store<InstanceState>,
    instance: Instance,
}

impl State<'_> {
    fn call<R: Lift + 'static, T>(
        &mut self,
        instance: &str,
        func: &str,
        read: impl FnOnce(&Store<InstanceState>, R) -> T,
    ) -> T {
        let store = &mut *self.store;
        let (_, exported) = (self.instance.get_export(&mut *store, None, instance))
            .expect("the instrumentation exports its instance");
        let (_, index) = (self.instance.get_export(&mut *store, Some(&exported), func))
            .expect("the instrumentation exports its functions");
        let func = (self.instance.get_typed_func::<(), (R,)>(&mut *store, index))
            .expect("the instrumentation's functions have the types wizer asks for");
        let (value,) = func
            .call(&mut *store, ())
            .expect("reading an instance's state does not trap");
        read(store, value)
    }
}

impl ComponentInstanceState for State<'_> {
    async fn call_func_ret_list_u8(
        &mut self,
        instance: &str,
        func: &str,
        contents: impl FnOnce(&[u8]) + Send,
    ) {
        self.call(instance, func, |store, list: WasmList<u8>| {
            contents(list.as_le_slice(store))
        })
    }

    async fn call_func_ret_s32(&mut self, instance: &str, func: &str) -> i32 {
        self.call(instance, func, |_, value| value)
    }

    async fn call_func_ret_s64(&mut self, instance: &str, func: &str) -> i64 {
        self.call(instance, func, |_, value| value)
    }

    async fn call_func_ret_f32(&mut self, instance: &str, func: &str) -> u32 {
        self.call(instance, func, |_, value: f32| value.to_bits())
    }

    async fn call_func_ret_f64(&mut self, instance: &str, func: &str) -> u64 {
        self.call(instance, func, |_, value: f64| value.to_bits())
    }
}
