//! Replicas' versions: the registry they share ([`SharedRegistry`], MongoDB) keeps every
//! version and says which is active for every replica; this replica's [`Mirror`] serves
//! what an operation changed before it answers, so the answer is true here too.

use super::{DeployError, VersionStore};
use crate::domain::Digest;
use crate::operations::mirror::{Mirror, SharedRegistry};
use crate::plugins::trials::Trials;
use crate::plugins::versions::{Action, Change, StoredVersion};
use async_trait::async_trait;
use bytes::Bytes;
use std::sync::Arc;

pub(super) struct Shared {
    pub(super) shared: Arc<dyn SharedRegistry>,
    pub(super) mirror: Arc<Mirror>,
    pub(super) replica: String,
}

#[async_trait]
impl VersionStore for Shared {
    async fn upload(
        &self,
        plugin: &str,
        digest: &Digest,
        bytes: Bytes,
        by: &str,
    ) -> Result<(), DeployError> {
        let (kept, from) = tokio::join!(
            self.shared.keep(plugin, digest, &bytes),
            self.active(plugin)
        );
        let (_, from) = (kept?, from?);
        // Compiled by the check: shared now, so an activation finds it on every replica.
        self.mirror.share(vec![digest.clone()]);
        let change = Change::new(plugin, Action::Uploaded, by, from.as_ref(), digest);
        Ok(self.shared.record(&change.on(&self.replica)).await?)
    }

    async fn import(&self, plugin: &str, digest: &Digest, bytes: Bytes) -> Result<(), DeployError> {
        Ok(self.shared.keep(plugin, digest, &bytes).await?)
    }

    async fn bytes(&self, plugin: &str, digest: &Digest) -> Result<Option<Vec<u8>>, DeployError> {
        Ok(self.shared.bytes(plugin, digest).await?)
    }

    async fn stored(&self, plugin: &str) -> Result<Vec<StoredVersion>, DeployError> {
        Ok(self.shared.stored(plugin).await?)
    }

    async fn history(&self, plugin: Option<&str>) -> Result<Vec<Change>, DeployError> {
        Ok(self.shared.history(plugin).await?)
    }

    async fn active(&self, plugin: &str) -> Result<Option<Digest>, DeployError> {
        Ok(self.shared.active_version(plugin).await?)
    }

    /// Switches the active version for every replica, unless another replica switched it
    /// first, and serves it here at once (the deployer checks that it does); the others
    /// follow through their mirrors.
    async fn switch(&self, change: Change, bytes: Vec<u8>) -> Result<(), DeployError> {
        let (plugin, to) = (change.plugin.clone(), change.to.clone());
        match self.shared.switch(&change.on(&self.replica)).await? {
            true => Ok(self.mirror.apply(&plugin, &to, bytes).await?),
            false => Err(DeployError::Concurrent(plugin)),
        }
    }

    async fn stage(
        &self,
        staging: Trials,
        change: Change,
        _: Option<Vec<u8>>,
    ) -> Result<(), DeployError> {
        (self.shared)
            .stage(&staging, &change.on(&self.replica))
            .await?;
        self.settle().await
    }

    async fn put_workflow(&self, name: &str, text: &str) -> Result<(), DeployError> {
        let by = format!("file@{}", self.replica);
        self.shared.put_workflow(name, text, &by).await?;
        self.settle().await
    }

    async fn settle(&self) -> Result<(), DeployError> {
        Ok(self.mirror.converge().await.map(drop)?)
    }
}
