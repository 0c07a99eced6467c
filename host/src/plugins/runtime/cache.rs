//! Precompiled components on disk, so a restart or a roll-back to a known version does not
//! pay for compilation again.
//!
//! An artifact only loads into an engine with the same settings and wasmtime version, so
//! the file name carries both the component digest and the engine's compatibility hash.
//! Artifacts are published by write-then-rename, so a reader never sees half a file.

use super::Digest;
use super::component::compile;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

pub struct ArtifactCache {
    dir: Option<PathBuf>,
    engine_key: String,
}

impl ArtifactCache {
    pub fn new(engine: &Engine, dir: Option<PathBuf>) -> Self {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        ArtifactCache {
            dir,
            engine_key: format!("{:016x}", hasher.finish()),
        }
    }

    fn path(&self, dir: &Path, digest: &Digest) -> PathBuf {
        dir.join(format!("{}-{}.cwasm", digest.hex(), self.engine_key))
    }

    /// The compiled component for `bytes` (see [`compile`]), from the cache when present.
    pub fn component(
        &self,
        engine: &Engine,
        digest: &Digest,
        bytes: &[u8],
    ) -> wasmtime::Result<Component> {
        let Some(dir) = &self.dir else {
            return compile(engine, bytes);
        };
        let path = self.path(dir, digest);
        if let Ok(artifact) = std::fs::read(&path) {
            // Read, not mapped (`deserialize_file`): a mapped artifact that something else
            // truncates would crash the process with SIGBUS.
            // SAFETY: only this cache writes into its directory, each file complete before
            // it is renamed into place, and the name pins the engine it was compiled for;
            // wasmtime still checks the header and refuses an artifact of another engine.
            match unsafe { Component::deserialize(engine, &artifact) } {
                Ok(component) => return Ok(component),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "discarding unusable precompiled component")
                }
            }
        }
        let component = compile(engine, bytes)?;
        if let Err(e) = self.store(dir, &path, &component) {
            tracing::warn!(path = %path.display(), error = %e, "could not cache a precompiled component");
        }
        Ok(component)
    }

    /// Write-then-rename: a reader never maps a half-written artifact. Each writer has a
    /// file of its own until the rename, as two threads may store the same component.
    fn store(&self, dir: &Path, path: &Path, component: &Component) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        std::io::Write::write_all(&mut tmp, &component.serialize()?)?;
        tmp.persist(path)?;
        Ok(())
    }
}
