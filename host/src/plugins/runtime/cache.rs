//! Precompiled components on disk, so a restart or a roll-back to a known version does not
//! pay for compilation again.
//!
//! An artifact only loads into an engine with the same settings and wasmtime version, so
//! the file name carries both the component digest and the engine's compatibility hash.
//! Artifacts are published by write-then-rename, so a reader never sees half a file.
//! Replicas share what they compiled (`operations/artifacts.rs`): an artifact another
//! replica compiled is installed here only once its signature is checked.

use super::Digest;
use super::component::compile;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

pub struct ArtifactCache {
    dir: Option<PathBuf>,
    engine_key: String,
    /// What this process compiled itself (not found in the cache): what it shares.
    compiled: std::sync::Mutex<std::collections::HashSet<Digest>>,
}

impl ArtifactCache {
    pub fn new(engine: &Engine, dir: Option<PathBuf>) -> Self {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        ArtifactCache {
            dir,
            engine_key: format!("{:016x}", hasher.finish()),
            compiled: Default::default(),
        }
    }

    fn path(&self, dir: &Path, digest: &Digest) -> PathBuf {
        dir.join(format!("{}.cwasm", self.key(digest)))
    }

    /// What names the artifact of `digest` for this engine, here and among replicas.
    pub fn key(&self, digest: &Digest) -> String {
        format!("{}-{}", digest.hex(), self.engine_key)
    }

    /// Whether this process compiled `digest` itself.
    pub fn compiled_here(&self, digest: &Digest) -> bool {
        (self.compiled.lock().unwrap_or_else(|e| e.into_inner())).contains(digest)
    }

    /// The artifact of `digest`, if this cache holds it.
    pub fn artifact(&self, digest: &Digest) -> Option<Vec<u8>> {
        std::fs::read(self.path(self.dir.as_ref()?, digest)).ok()
    }

    /// Keeps `artifact` as the compiled `digest`, as if compiled here: the caller vouches
    /// for it (a replica of this service compiled it and signed it). False when there is
    /// no cache directory to keep it in.
    pub fn install(&self, digest: &Digest, artifact: &[u8]) -> std::io::Result<bool> {
        let Some(dir) = &self.dir else {
            return Ok(false);
        };
        write_whole(dir, &self.path(dir, digest), artifact)?;
        Ok(true)
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
            // it is renamed into place: compiled here, or by another replica and installed
            // only with a valid signature (`install`). The name pins the engine it was
            // compiled for; wasmtime still checks the header and refuses another engine's.
            match unsafe { Component::deserialize(engine, &artifact) } {
                Ok(component) => return Ok(component),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "discarding unusable precompiled component")
                }
            }
        }
        let component = compile(engine, bytes)?;
        (self.compiled.lock().unwrap_or_else(|e| e.into_inner())).insert(digest.clone());
        let stored = (component.serialize()).and_then(|artifact| {
            write_whole(dir, &path, &artifact)?;
            Ok(())
        });
        if let Err(e) = stored {
            tracing::warn!(path = %path.display(), error = %e, "could not cache a precompiled component");
        }
        Ok(component)
    }
}

/// Write-then-rename: a reader never reads a half-written artifact. Each writer has a file
/// of its own until the rename, as two threads may store the same component.
fn write_whole(dir: &Path, path: &Path, artifact: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, artifact)?;
    tmp.persist(path)?;
    Ok(())
}
