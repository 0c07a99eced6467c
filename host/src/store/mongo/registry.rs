//! The plugin registry replicas share: `plugin_versions` (one document per version, never
//! changed once written), its bytes in GridFS (`plugin_bytes.files`, `plugin_bytes.chunks`:
//! a component may be over the 16 MB a document holds, as a Python one is), `plugins` (one
//! per plugin: the active version and the plugin's change log) and `workflows` (one per
//! workflow: its definition). Versions written before GridFS carry their bytes inline, and
//! are read as they are. `plugin_artifacts` (and its GridFS bucket) keeps the compiled
//! components replicas share, signed (`operations/artifacts.rs`).
//!
//! A plugin's log lives in its own document so that switching the active version and
//! recording the switch are one single-document update, conditional on the version the
//! switch replaces: two replicas switching at once cannot both win, and no switch is ever
//! unrecorded.

use super::documents::{date, decode, document};
use super::{MongoStore, bounded, is_duplicate_key, unavailable};
use crate::domain::Digest;
use crate::domain::StoreError;
use crate::operations::artifacts::{ArtifactStore, SignedArtifact};
use crate::operations::mirror::{ActiveSet, SharedRegistry};
use crate::plugins::Trials;
use crate::plugins::{Change, StoredVersion};
use async_trait::async_trait;
use bson::{Bson, Document, doc};
use chrono::Utc;
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use mongodb::gridfs::GridFsBucket;
use mongodb::options::GridFsBucketOptions;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Moving a component's megabytes may take longer than one operation is given.
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs a GridFS transfer with a deadline of its own.
async fn bounded_transfer<T, E: std::fmt::Display>(
    work: impl Future<Output = Result<T, E>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(TRANSFER_TIMEOUT, work).await {
        Ok(done) => done.map_err(unavailable),
        Err(_) => Err(unavailable(
            "MongoDB did not take the plugin's bytes in time",
        )),
    }
}

fn io(e: mongodb::error::Error) -> std::io::Error {
    std::io::Error::other(e)
}

pub(super) fn bucket(db: &mongodb::Database, name: &str) -> GridFsBucket {
    let options = GridFsBucketOptions::builder()
        .bucket_name(name.to_owned())
        .build();
    db.gridfs_bucket(options)
}

impl MongoStore {
    /// Writes `bytes` as a GridFS file of its own, named `name`: its id.
    async fn upload(bucket: &GridFsBucket, name: &str, bytes: &[u8]) -> Result<Bson, StoreError> {
        bounded_transfer(async {
            let mut upload = bucket.open_upload_stream(name).await.map_err(io)?;
            upload.write_all(bytes).await?;
            upload.close().await?;
            Ok::<_, std::io::Error>(upload.id().clone())
        })
        .await
    }

    async fn download(bucket: &GridFsBucket, file: &Bson) -> Result<Vec<u8>, StoreError> {
        bounded_transfer(async {
            let mut bytes = Vec::new();
            let mut download = bucket
                .open_download_stream(file.clone())
                .await
                .map_err(io)?;
            download.read_to_end(&mut bytes).await?;
            Ok::<_, std::io::Error>(bytes)
        })
        .await
    }

    /// Inserts `record`, which names the GridFS `file` of `bucket`: should another writer
    /// have inserted it first, that one stays and `file` is deleted (no record names it).
    async fn insert_naming(
        &self,
        collection: &mongodb::Collection<Document>,
        record: Document,
        bucket: &GridFsBucket,
        file: Bson,
    ) -> Result<(), StoreError> {
        let inserted = bounded(async { Ok(collection.insert_one(record).await) });
        let outcome = match inserted.await {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(e)) if is_duplicate_key(&e) => Ok(()),
            Ok(Err(e)) => Err(unavailable(e)),
            Err(e) => Err(e),
        };
        // Best effort: a file no record names is never read.
        let _ = bucket.delete(file).await;
        outcome
    }
}

fn version_id(plugin: &str, digest: &Digest) -> String {
    format!("{plugin}@{}", digest.full())
}

fn changes_of(plugin: &Document) -> Result<Vec<Change>, StoreError> {
    let Ok(changes) = plugin.get_array("changes") else {
        return Ok(Vec::new());
    };
    changes
        .iter()
        .filter_map(Bson::as_document)
        .map(|change| decode(change.clone()))
        .collect()
}

#[async_trait]
impl SharedRegistry for MongoStore {
    /// Each writer stores the bytes as a GridFS file of its own, then inserts the version
    /// document naming that file: of two replicas keeping one version at once, one document
    /// wins and the other's file is deleted, so a version is never seen before its bytes
    /// are whole.
    async fn keep(&self, plugin: &str, digest: &Digest, bytes: &[u8]) -> Result<(), StoreError> {
        let id = version_id(plugin, digest);
        let kept = bounded(async {
            let found = self
                .plugin_versions
                .find_one(doc! { "_id": &id })
                .projection(doc! { "_id": 1 });
            found.await.map_err(unavailable)
        });
        if kept.await?.is_some() {
            return Ok(());
        }
        let bucket = &self.plugin_bytes;
        let file = Self::upload(bucket, &id, bytes).await?;
        let version = doc! {
            "_id": &id,
            "plugin": plugin,
            "digest": digest.full(),
            "size": bytes.len() as i64,
            "stored_at": date(Utc::now()),
            "file": file.clone(),
        };
        self.insert_naming(&self.plugin_versions, version, bucket, file)
            .await
    }

    async fn bytes(&self, plugin: &str, digest: &Digest) -> Result<Option<Vec<u8>>, StoreError> {
        let found = bounded(async {
            let found = self
                .plugin_versions
                .find_one(doc! { "_id": version_id(plugin, digest) });
            found.await.map_err(unavailable)
        })
        .await?;
        let Some(version) = found else {
            return Ok(None);
        };
        match (version.get("bytes"), version.get("file")) {
            (Some(Bson::Binary(inline)), _) => Ok(Some(inline.bytes.clone())),
            (_, Some(file)) => Ok(Some(Self::download(&self.plugin_bytes, file).await?)),
            _ => Err(unavailable("a stored plugin version has no bytes")),
        }
    }

    async fn stored(&self, plugin: &str) -> Result<Vec<StoredVersion>, StoreError> {
        bounded(async {
            let cursor = self
                .plugin_versions
                .find(doc! { "plugin": plugin })
                .projection(doc! { "bytes": 0 })
                .sort(doc! { "stored_at": 1, "digest": 1 })
                .await
                .map_err(unavailable)?;
            super::documents::all(cursor, |version| {
                Ok(StoredVersion {
                    digest: (version.get_str("digest").map_err(unavailable)?)
                        .parse()
                        .map_err(unavailable)?,
                    size: version.get_i64("size").map_err(unavailable)? as u64,
                    stored_at: version
                        .get_datetime("stored_at")
                        .map_err(unavailable)?
                        .to_chrono(),
                })
            })
            .await
        })
        .await
    }

    async fn record(&self, change: &Change) -> Result<(), StoreError> {
        let entry = document(change)?;
        bounded(async {
            self.plugins
                .update_one(
                    doc! { "_id": &change.plugin },
                    doc! {
                        "$push": { "changes": entry },
                        "$setOnInsert": { "active": Bson::Null },
                    },
                )
                .upsert(true)
                .await
                .map(drop)
                .map_err(unavailable)
        })
        .await
    }

    async fn switch(&self, change: &Change) -> Result<bool, StoreError> {
        let entry = document(change)?;
        let from = (change.from.as_ref()).map_or(Bson::Null, |d| Bson::String(d.full()));
        bounded(async {
            let switched = self
                .plugins
                .update_one(
                    doc! { "_id": &change.plugin, "active": from },
                    doc! {
                        "$set": { "active": change.to.full(), "changed_at": date(change.at) },
                        "$push": { "changes": entry },
                    },
                )
                // A plugin's first version creates its document; should another replica
                // create it first, the insert is a duplicate: that replica won.
                .upsert(change.from.is_none())
                .await;
            match switched {
                Ok(result) => Ok(result.matched_count == 1 || result.upserted_id.is_some()),
                Err(e) if is_duplicate_key(&e) => Ok(false),
                Err(e) => Err(unavailable(e)),
            }
        })
        .await
    }

    async fn stage(&self, staging: &Trials, change: &Change) -> Result<(), StoreError> {
        let entry = document(change)?;
        let staging = document(staging)?;
        let staged = bounded(async {
            (self.plugins)
                .update_one(
                    doc! { "_id": &change.plugin },
                    doc! { "$set": { "staging": staging }, "$push": { "changes": entry } },
                )
                .await
                .map_err(unavailable)
        });
        match staged.await?.matched_count {
            1 => Ok(()),
            _ => Err(unavailable(format!(
                "no plugin `{}` is stored",
                change.plugin
            ))),
        }
    }

    async fn history(&self, plugin: Option<&str>) -> Result<Vec<Change>, StoreError> {
        let filter = plugin.map_or_else(Document::new, |p| doc! { "_id": p });
        let mut changes = bounded(async {
            let cursor = self.plugins.find(filter).await.map_err(unavailable)?;
            super::documents::all(cursor, |plugin| changes_of(&plugin)).await
        })
        .await?
        .concat();
        changes.sort_by_key(|c| c.at);
        Ok(changes)
    }

    async fn active_version(&self, plugin: &str) -> Result<Option<Digest>, StoreError> {
        let found = bounded(async {
            (self.plugins)
                .find_one(doc! { "_id": plugin })
                .projection(doc! { "active": 1 })
                .await
                .map_err(unavailable)
        })
        .await?;
        match found.as_ref().map(|p| p.get_str("active")) {
            None | Some(Err(_)) => Ok(None),
            Some(Ok(active)) => Digest::parse(active)
                .map(Some)
                .ok_or_else(|| unavailable("a corrupt active version")),
        }
    }

    async fn active(&self) -> Result<ActiveSet, StoreError> {
        bounded(async {
            let mut set = ActiveSet::default();
            let mut plugins = self
                .plugins
                .find(doc! { "active": { "$type": "string" } })
                .projection(doc! { "active": 1, "staging": 1 })
                .await
                .map_err(unavailable)?;
            while plugins.advance().await.map_err(unavailable)? {
                let plugin = plugins.deserialize_current().map_err(unavailable)?;
                let name = plugin.get_str("_id").map_err(unavailable)?;
                let digest = plugin.get_str("active").ok().and_then(Digest::parse);
                let digest = digest.ok_or_else(|| unavailable("a corrupt active version"))?;
                set.plugins.insert(name.to_owned(), digest);
                if let Ok(staging) = plugin.get_document("staging") {
                    let staging: Trials = decode(staging.clone())?;
                    if !staging.is_empty() {
                        set.staging.insert(name.to_owned(), staging);
                    }
                }
            }
            let mut workflows = self
                .workflows
                .find(doc! {})
                .projection(doc! { "text": 1 })
                .await
                .map_err(unavailable)?;
            while workflows.advance().await.map_err(unavailable)? {
                let workflow = workflows.deserialize_current().map_err(unavailable)?;
                set.workflows.insert(
                    workflow.get_str("_id").map_err(unavailable)?.to_owned(),
                    workflow.get_str("text").map_err(unavailable)?.to_owned(),
                );
            }
            Ok(set)
        })
        .await
    }

    async fn put_workflow(&self, name: &str, text: &str, by: &str) -> Result<(), StoreError> {
        bounded(async {
            self.workflows
                .update_one(
                    doc! { "_id": name },
                    doc! { "$set": {
                        "text": text,
                        "digest": Digest::of(text.as_bytes()).full(),
                        "by": by,
                        "changed_at": date(Utc::now()),
                    } },
                )
                .upsert(true)
                .await
                .map(drop)
                .map_err(unavailable)
        })
        .await
    }

    async fn follow(&self, changed: Arc<Notify>) {
        let collections = [self.plugins.name(), self.workflows.name()];
        self.follow_collections(&collections, changed).await
    }
}

/// Stored as a version's bytes are: the file first, then the record naming it.
#[async_trait]
impl ArtifactStore for MongoStore {
    async fn artifact(&self, name: &str) -> Result<Option<SignedArtifact>, StoreError> {
        let found = bounded(async {
            let found = self.plugin_artifacts.find_one(doc! { "_id": name });
            found.await.map_err(unavailable)
        })
        .await?;
        let Some(record) = found else {
            return Ok(None);
        };
        let (Some(file), Ok(signature)) =
            (record.get("file"), record.get_binary_generic("signature"))
        else {
            return Err(unavailable(
                "a shared plugin artifact has no file or signature",
            ));
        };
        Ok(Some(SignedArtifact {
            signature: signature.clone(),
            bytes: Self::download(&self.artifact_bytes, file).await?,
        }))
    }

    /// Stored as a version's bytes are: the file first, then the record naming it.
    async fn share_artifact(
        &self,
        name: &str,
        artifact: &SignedArtifact,
    ) -> Result<(), StoreError> {
        let bucket = &self.artifact_bytes;
        let file = Self::upload(bucket, name, &artifact.bytes).await?;
        let record = doc! {
            "_id": name,
            "signature": bson::Binary { subtype: bson::spec::BinarySubtype::Generic, bytes: artifact.signature.clone() },
            "size": artifact.bytes.len() as i64,
            "stored_at": date(Utc::now()),
            "file": file.clone(),
        };
        self.insert_naming(&self.plugin_artifacts, record, bucket, file)
            .await
    }
}
