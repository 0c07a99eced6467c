//! Compiled plugins shared among replicas. Compiling a component takes seconds (an
//! interpreter's most of them), so a replica that starts with an empty `DATA_DIR`, or meets
//! a version another replica already compiled, takes the artifact that replica shared
//! through the store instead of compiling it again.
//!
//! An artifact is native code that the process runs without checking it, so it is shared
//! signed with a key only the replicas hold ([`ArtifactKey`]) and loaded only with a valid
//! signature: write access to the database must never become code execution on a replica.
//! With no key every replica compiles for itself, as a single process does.

use crate::domain::Digest;
use crate::domain::StoreError;
use crate::plugins::Registry;
use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

type Signer = Hmac<Sha256>;

/// The key replicas sign the artifacts they share with.
#[derive(Clone)]
pub struct ArtifactKey(Vec<u8>);

impl ArtifactKey {
    /// The key derived from a secret every replica holds: the secret itself never signs
    /// anything else than what it was given for.
    pub fn derive(secret: &[u8]) -> Self {
        ArtifactKey(Self::mac(secret, b"orderflow shared plugin artifacts").to_vec())
    }

    fn mac(key: &[u8], message: &[u8]) -> [u8; 32] {
        let mut signer = Signer::new_from_slice(key).expect("HMAC takes a key of any length");
        signer.update(message);
        signer.finalize().into_bytes().into()
    }

    fn signer(&self, name: &str) -> Signer {
        let mut signer = Signer::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        // The name (digest and engine) is signed with the bytes: a valid artifact cannot
        // be passed off as another version's.
        signer.update(name.as_bytes());
        signer.update(&[0]);
        signer
    }

    pub fn sign(&self, name: &str, artifact: &[u8]) -> Vec<u8> {
        let mut signer = self.signer(name);
        signer.update(artifact);
        signer.finalize().into_bytes().to_vec()
    }

    /// Whether `signature` is this key's for `artifact` under `name` (in constant time).
    pub fn verify(&self, name: &str, artifact: &[u8], signature: &[u8]) -> bool {
        let mut signer = self.signer(name);
        signer.update(artifact);
        signer.verify_slice(signature).is_ok()
    }
}

/// An artifact as the replicas share it.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedArtifact {
    pub bytes: Vec<u8>,
    pub signature: Vec<u8>,
}

/// Where the replicas share their artifacts: the store they share.
#[async_trait]
pub trait ArtifactStore: Send + Sync + 'static {
    /// The artifact replicas shared under `name`, if one did.
    async fn artifact(&self, name: &str) -> Result<Option<SignedArtifact>, StoreError>;
    /// Shares `artifact` under `name`; a name already shared is left as it is.
    async fn share_artifact(&self, name: &str, artifact: &SignedArtifact)
    -> Result<(), StoreError>;
}

/// This replica's side of the sharing: takes what the others compiled, gives what it did.
pub struct Artifacts {
    shared: Arc<dyn ArtifactStore>,
    registry: Arc<Registry>,
    key: ArtifactKey,
    /// Names known to be shared already: not asked for or offered again.
    known: Mutex<HashSet<String>>,
}

impl Artifacts {
    pub fn new(
        shared: Arc<dyn ArtifactStore>,
        registry: Arc<Registry>,
        key: ArtifactKey,
    ) -> Arc<Self> {
        Arc::new(Artifacts {
            shared,
            registry,
            key,
            known: Mutex::new(HashSet::new()),
        })
    }

    fn known(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Installs the shared artifact of each of `digests` this replica has not compiled,
    /// all asked for at once. A missing or unreadable one is compiled here as usual.
    pub async fn fetch(&self, digests: &[Digest]) {
        let cache = self.registry.runtime().artifacts();
        let wanted = digests.iter().filter(|d| cache.artifact(d).is_none());
        let fetches = wanted.map(|digest| async move {
            let name = cache.key(digest);
            match self.shared.artifact(&name).await {
                Ok(Some(artifact)) => {
                    self.known().insert(name.clone());
                    if !self.key.verify(&name, &artifact.bytes, &artifact.signature) {
                        tracing::warn!(artifact = %name, "a shared plugin artifact has no valid signature: compiling here");
                        return;
                    }
                    if let Err(e) = cache.install(digest, &artifact.bytes) {
                        tracing::warn!(artifact = %name, error = %e, "a shared plugin artifact could not be kept");
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(artifact = %name, error = %e, "shared plugin artifacts not read: compiling here"),
            }
        });
        futures_util::future::join_all(fetches).await;
    }

    /// Shares the artifact of each of `digests` this process compiled itself and has not
    /// shared yet, in the background: nothing waits for it, and a failure only means others
    /// compile too. One it found in its own cache was compiled, and shared, before.
    pub fn share(self: &Arc<Self>, digests: Vec<Digest>) {
        let this = self.clone();
        tokio::spawn(async move {
            let cache = this.registry.runtime().artifacts();
            for digest in digests {
                let name = cache.key(&digest);
                if this.known().contains(&name) || !cache.compiled_here(&digest) {
                    continue;
                }
                let Some(bytes) = cache.artifact(&digest) else {
                    continue;
                };
                let signature = this.key.sign(&name, &bytes);
                match (this.shared)
                    .share_artifact(&name, &SignedArtifact { bytes, signature })
                    .await
                {
                    Ok(()) => {
                        this.known().insert(name);
                    }
                    Err(e) => {
                        tracing::warn!(artifact = %name, error = %e, "a plugin artifact was not shared")
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_key_that_signed_an_artifact_under_its_name_verifies_it() {
        let key = ArtifactKey::derive(b"a secret the replicas share");
        let signature = key.sign("abc-1", b"native code");
        assert!(key.verify("abc-1", b"native code", &signature));
        assert!(!key.verify("abc-1", b"native codE", &signature));
        assert!(!key.verify("abd-1", b"native code", &signature));
        let other = ArtifactKey::derive(b"a secret the database holder guessed");
        assert!(!other.verify("abc-1", b"native code", &signature));
        assert!(!key.verify("abc-1", b"native code", &signature[..31]));
    }
}
