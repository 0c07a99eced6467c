//! The process-wide plugin runtime: one engine, the artifact cache, the preparer thread.

use super::cache::ArtifactCache;
use super::component::{LoadError, LoadedComponent};
use super::logs::Sampler;
use super::pool::Preparer;
use crate::domain::Digest;
use crate::panic_message;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Memory a reused slot keeps resident: what a plugin decision typically touches.
const KEEP_RESIDENT: usize = 2 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Where precompiled components are kept; None compiles every load.
    pub cache_dir: Option<PathBuf>,
    /// Instances kept ready per bound plugin, so calls skip instantiation. A bound plugin
    /// holds this many pool slots, and up to 64 more spent ones waiting to be freed.
    pub prepared_instances: usize,
    /// Live instances at most (pooling allocator slots).
    pub max_instances: u32,
    /// The largest memory cap a workflow may give a plugin, in MiB.
    pub max_memory_mib: u32,
    /// The share (0.0–1.0) of decisions that logged whose lines go to the service's log.
    pub log_sample: f64,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            cache_dir: None,
            // The preparer is woken when half of them are gone, to refill the rest in one
            // round. With 8, at 15,000 orders/s it was woken 10,000 times a second and
            // often came too late: a tenth of the async workers' time went into preparing
            // instances inline. With 32 both are rare (server CPU per order −10 %); 64
            // gained nothing more.
            prepared_instances: 32,
            // The example workflows' nine bound plugins hold ~430 slots in steady state and
            // ~860 at worst, so a hot swap's new versions still find room.
            max_instances: 2_000,
            max_memory_mib: 256,
            log_sample: 0.0,
        }
    }
}

pub struct Runtime {
    engine: Engine,
    cache: ArtifactCache,
    pub(crate) config: RuntimeConfig,
    pub(crate) preparer: Preparer,
    pub(crate) sampler: Arc<Sampler>,
}

impl Runtime {
    pub fn new(config: RuntimeConfig) -> anyhow::Result<Arc<Self>> {
        // A Rust plugin is one core instance (three as a std `wasm32-wasip2` component); a
        // JavaScript one a handful; a Python one (componentize-py: CPython and its libraries
        // linked as separate modules) 38, with a memory or a table in few of them. A Python
        // binding holds at most 68 instances (4 ready, 64 spent), 2,584 core instances, so
        // 16 a slot leaves room for a dozen such bindings beside the compiled ones. Memories
        // stay at 2 a slot: each is 256 MiB of address space reserved up front (4 a slot
        // was 2 TB a runtime, more than a test process running several could map).
        let slots = config.max_instances;
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(slots)
            .total_core_instances(slots * 16)
            .total_memories(slots * 2)
            .total_tables(slots * 4)
            .max_memory_size(config.max_memory_mib as usize * 1024 * 1024)
            // A fresh instance's first touches of its memory were most of its cost: reset
            // only the pages a spent instance dirtied (PAGEMAP_SCAN, Linux ≥ 6.7; ignored
            // elsewhere) and keep them resident, so the next instance in the slot takes no
            // page faults.
            .pagemap_scan(Enabled::Auto)
            .linear_memory_keep_resident(KEEP_RESIDENT)
            .table_keep_resident(KEEP_RESIDENT);
        let mut wasm = Config::new();
        wasm.consume_fuel(true)
            // With explicit bounds checks and no guard pages a recycled slot keeps its
            // pages read/write: no mprotect (and no cross-CPU TLB shootdown) per instance
            // or per memory.grow. These guests are small; the checks cost less than the
            // syscalls did.
            .signals_based_traps(false)
            .memory_guard_size(0)
            .guard_before_linear_memory(false)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&wasm).map_err(|e| anyhow::anyhow!("wasm engine: {e}"))?;
        let cache = ArtifactCache::new(&engine, config.cache_dir.clone());
        Ok(Arc::new(Runtime {
            engine,
            cache,
            preparer: Preparer::spawn(),
            sampler: Arc::new(Sampler::new(config.log_sample)),
            config,
        }))
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The precompiled components this process keeps.
    pub fn artifacts(&self) -> &ArtifactCache {
        &self.cache
    }

    /// Compiles (or takes from the cache) and type-checks a component.
    ///
    /// The bytes are untrusted (a file dropped by hand, an upload), and the libraries that
    /// read them do not all refuse bad input with an error: `wit-component` panics on some
    /// truncated modules. Such a panic is caught here and becomes a load error like any
    /// other, so it can neither kill the thread that loads (the hot-reload thread, start-up)
    /// nor fail a request. What a failed load built is dropped with it, and the cache
    /// publishes an artifact only once it is whole.
    pub fn load(&self, name: &str, bytes: &[u8]) -> Result<Arc<LoadedComponent>, LoadError> {
        let digest = Digest::of(bytes);
        let load = || {
            let component = self
                .cache
                .component(&self.engine, &digest, bytes)
                .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
            LoadedComponent::new(&self.engine, name, digest.clone(), bytes.len(), &component)
        };
        match std::panic::catch_unwind(AssertUnwindSafe(load)) {
            Ok(loaded) => Ok(Arc::new(loaded?)),
            Err(panic) => Err(LoadError::Compile(format!(
                "it could not be read: {}",
                panic_message(panic.as_ref())
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cut copies of each standard plugin (the first half of standard-pricing made
    /// wit-component panic): every one is refused with an error; the whole file loads.
    #[test]
    fn truncated_plugins_are_load_errors_not_panics() {
        let runtime = Runtime::new(RuntimeConfig {
            max_instances: 8,
            ..RuntimeConfig::default()
        })
        .unwrap();
        for name in [
            "standard-validation",
            "standard-pricing",
            "standard-lifecycle",
        ] {
            let path = PathBuf::from(env!("ORDERFLOW_BUILT_PLUGINS")).join(format!("{name}.wasm"));
            let bytes = std::fs::read(&path).unwrap();
            let len = bytes.len();
            for cut in [
                0,
                4,
                8,
                9,
                64,
                len / 4,
                len / 3,
                len / 2,
                len * 3 / 4,
                len - 1,
            ] {
                let loaded = runtime.load(name, &bytes[..cut]);
                assert!(loaded.is_err(), "{name} cut to {cut} of {len} bytes loaded");
            }
            assert!(runtime.load(name, &bytes).is_ok(), "{name} whole");
        }
    }
}
