//! `/api/v1/plugins` and `/api/v1/workflows` (admin): what serves, and changing it while
//! the service runs: upload a version (checked before it is kept), activate one, roll
//! back, read who changed what. These lead to the same registry as a file dropped into the
//! plugin directory.

use super::auth::AdminUser;
use super::error::ErrorBody;
use super::extract::{Json, Query};
use super::params::{PluginPath, digest, plugin_name};
use super::responses::{
    BadRequest, BodyLimits, Forbidden, JsonBody, NotFound, Unauthorized, Unavailable,
};
use super::{ApiError, AppState};
use crate::domain::Digest;
use crate::metrics::{HourCount, add_up, metrics};
use crate::operations::deploy::{Activation, Candidate, DeployError};
use crate::plugins::{Action, Change, LoadFailure, Serving, Share, StoredVersion};
use crate::replicas::Heartbeat;
use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};

/// Components are bigger than orders; this is what one plugin upload may weigh. A Python
/// component carries CPython (~18 MB); the limit leaves room for its libraries.
pub(super) const COMPONENT_LIMIT: usize = 64 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/plugins", get(list))
        .route("/api/v1/plugins/{name}", get(one))
        .route("/api/v1/plugins/{name}/versions", post(upload))
        .route("/api/v1/plugins/{name}/activate", post(activate))
        .route("/api/v1/plugins/{name}/rollback", post(rollback))
        .route("/api/v1/plugins/{name}/history", get(history))
        .layer(DefaultBodyLimit::max(COMPONENT_LIMIT))
}

/// A plugin as it serves now.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PluginView {
    name: String,
    /// `validation`, `pricing` or `lifecycle`; absent when no version ever loaded.
    kind: Option<String>,
    wit_version: Option<String>,
    /// The active version.
    digest: Option<Digest>,
    size: Option<u64>,
    /// The file it serves from.
    source: String,
    loaded_at: Option<DateTime<Utc>>,
    /// How the active version came to serve (an activation through the API, a rollback,
    /// or a file dropped into the plugin directory), when recorded.
    last_change: Option<Change>,
    /// Why the file in the plugin directory does not serve, if it does not.
    last_error: Option<LoadFailure>,
    /// The workflows whose decisions it makes.
    used_by: Vec<String>,
    /// Whether every live replica serves the active version (one process alone always
    /// does).
    converged: bool,
    /// What each live replica serves, from its last heartbeat (empty without replicas).
    replicas: Vec<ReplicaServing>,
    /// A stored version deciding a share of new orders again, changing nothing.
    shadow: Option<Share>,
    /// A stored version deciding a share of customers' new orders.
    rollout: Option<Share>,
    /// Which version decides which share of new orders (of the rollout's workflow, when
    /// it names one).
    split: Vec<Share>,
    /// Its calls per hour, by outcome, over the last 48 hours (hours without calls left
    /// out): this replica's and every other live replica's as of its last heartbeat.
    hourly: Vec<HourCount>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReplicaServing {
    replica: String,
    /// The version it serves; none if it serves no version of the plugin.
    digest: Option<Digest>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PluginDetail {
    #[serde(flatten)]
    plugin: PluginView,
    /// Every stored version, oldest first: any of them can be activated.
    versions: Vec<VersionView>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct VersionView {
    #[serde(flatten)]
    version: StoredVersion,
    active: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Uploaded {
    #[serde(flatten)]
    candidate: Candidate,
    /// Whether it serves now (`?activate=true`).
    active: bool,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivateBody {
    /// A stored version, `sha256:…` as listed (the 64 hex digits alone are read too).
    #[schema(pattern = r"^(sha256:)?[0-9A-Fa-f]{64}$")]
    digest: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
    #[serde(default)]
    activate: bool,
}

/// The body of an upload in the document: the bytes themselves, not a JSON array of them
/// (as `Vec<u8>` would be described).
struct ComponentBytes;

impl utoipa::PartialSchema for ComponentBytes {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl utoipa::ToSchema for ComponentBytes {}

/// Plugin `name` as it serves; `history` holds its recorded changes (and maybe others').
fn plugin_view(
    state: &AppState,
    serving: &Serving,
    live: &[Heartbeat],
    history: &[Change],
    name: &str,
) -> PluginView {
    let component = serving.components.get(name);
    let active = component.map(|c| c.digest.clone());
    let last_change = (history.iter().rev())
        .find(|c| {
            c.plugin == name && c.action != Action::Uploaded && Some(&c.to) == active.as_ref()
        })
        .cloned();
    let registry = &state.registry;
    let replicas: Vec<ReplicaServing> = live
        .iter()
        .map(|beat| ReplicaServing {
            replica: beat.replica.clone(),
            digest: beat.plugins.get(name).cloned(),
        })
        .collect();
    let staging = serving.staging.get(name).cloned().unwrap_or_default();
    let rollout = staging.rollout.as_ref().map_or(0, |r| r.percent);
    let split = (active.iter())
        .map(|digest| Share {
            digest: digest.clone(),
            percent: 100 - rollout,
            workflow: None,
        })
        .chain(staging.rollout.clone())
        .filter(|share| share.percent > 0)
        .collect();
    PluginView {
        hourly: {
            let own = metrics().activity().hours(name, Utc::now());
            let others = (live.iter())
                .filter(|beat| beat.replica != state.membership.identity.replica)
                .filter_map(|beat| beat.hourly.get(name).map(Vec::as_slice));
            add_up(others.chain([own.as_slice()]))
        },
        split,
        shadow: staging.shadow,
        rollout: staging.rollout,
        converged: replicas.iter().all(|r| r.digest == active),
        replicas,
        name: name.to_owned(),
        kind: component.map(|c| c.kind.to_string()),
        wit_version: component.map(|c| c.contract.to_string()),
        digest: active,
        size: component.map(|c| c.size as u64),
        source: registry
            .plugin_dir()
            .join(format!("{name}.wasm"))
            .display()
            .to_string(),
        loaded_at: component.map(|c| c.loaded_at.into()),
        last_change,
        last_error: serving.errors.get(&format!("{name}.wasm")).cloned(),
        used_by: serving
            .workflows
            .values()
            .filter(|w| w.step(name).is_some())
            .map(|w| w.name.clone())
            .collect(),
    }
}

/// Every plugin: the active version of each, where it serves from, how it got there.
#[utoipa::path(get, path = "/api/v1/plugins", operation_id = "list_plugins", tag = "plugins",
    responses((status = 200, description = "Every plugin, as it serves", body = Vec<PluginView>), Unauthorized, Forbidden, Unavailable),
    security(("bearer" = [])))]
async fn list(
    State(state): State<AppState>,
    _: AdminUser,
) -> Result<axum::Json<Vec<PluginView>>, ApiError> {
    let (history, live) = tokio::join!(state.deployer.history(None), state.membership.live_now());
    let history = history.unwrap_or_default();
    let serving = state.registry.current();
    let failed = serving
        .errors
        .keys()
        .filter_map(|file| file.strip_suffix(".wasm"));
    let mut names: Vec<&str> = serving
        .components
        .keys()
        .map(String::as_str)
        .chain(failed)
        .collect();
    names.sort_unstable();
    names.dedup();
    Ok(axum::Json(
        (names.into_iter())
            .map(|name| plugin_view(&state, &serving, &live, &history, name))
            .collect(),
    ))
}

/// One plugin, with every stored version.
#[utoipa::path(get, path = "/api/v1/plugins/{name}", operation_id = "get_plugin", tag = "plugins", params(PluginPath),
    responses((status = 200, description = "The plugin, with every stored version", body = PluginDetail), BadRequest, Unauthorized, Forbidden, NotFound, Unavailable),
    security(("bearer" = [])))]
async fn one(
    State(state): State<AppState>,
    _: AdminUser,
    Path(PluginPath { name }): Path<PluginPath>,
) -> Result<axum::Json<PluginDetail>, ApiError> {
    let name = plugin_name(name)?;
    let stored = match state.deployer.stored(&name).await {
        Err(DeployError::NoArchive) => Vec::new(),
        stored => stored?,
    };
    let history = state
        .deployer
        .history(Some(&name))
        .await
        .unwrap_or_default();
    let serving = state.registry.current();
    let plugin = plugin_view(
        &state,
        &serving,
        &state.membership.live_now().await,
        &history,
        &name,
    );
    if plugin.kind.is_none() && plugin.last_error.is_none() && stored.is_empty() {
        return Err(ApiError::NotFound);
    }
    let versions = stored
        .into_iter()
        .map(|version| VersionView {
            active: plugin.digest.as_ref() == Some(&version.digest),
            version,
        })
        .collect();
    Ok(axum::Json(PluginDetail { plugin, versions }))
}

/// Upload a version of plugin `name` (the component's bytes as the body). It is compiled,
/// checked against every workflow that uses the plugin and tried on a trial order before
/// it is kept; `?activate=true` also makes it serve.
#[utoipa::path(post, path = "/api/v1/plugins/{name}/versions", operation_id = "upload_plugin_version", tag = "plugins",
    params(PluginPath, ("activate" = Option<bool>, Query, description = "Make it the active version too")),
    request_body(description = "The component (.wasm)",
        content((inline(ComponentBytes) = "application/wasm"), (inline(ComponentBytes) = "application/octet-stream"))),
    responses((status = 201, description = "Stored (and serving, with `?activate=true`)", body = Uploaded), Unauthorized, Forbidden, BodyLimits, Unavailable,
        (status = 400, description = "A bad name or parameter", body = ErrorBody),
        (status = 415, description = "A body not of type `application/wasm` (or `application/octet-stream`)", body = ErrorBody),
        (status = 422, description = "It cannot serve: the reason says why", body = ErrorBody)),
    security(("bearer" = [])))]
async fn upload(
    State(state): State<AppState>,
    AdminUser(caller): AdminUser,
    Path(PluginPath { name }): Path<PluginPath>,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, axum::Json<Uploaded>), ApiError> {
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !["application/wasm", "application/octet-stream"]
        .iter()
        .any(|t| essence.eq_ignore_ascii_case(t))
    {
        return Err(ApiError::UnsupportedMediaType(
            "the body must be the component's bytes (Content-Type: application/wasm)",
        ));
    }
    let on_body = |e| ApiError::deploy(e, Some("body"));
    let deployer = &state.deployer;
    let candidate = (deployer.upload(&name, body, &caller.user_id).await).map_err(on_body)?;
    if query.activate {
        (deployer
            .activate(&name, &candidate.digest, &caller.user_id)
            .await)
            .map_err(on_body)?;
    }
    let uploaded = Uploaded {
        candidate,
        active: query.activate,
    };
    Ok((StatusCode::CREATED, axum::Json(uploaded)))
}

/// Make a stored version the active one; the next decision uses it.
#[utoipa::path(post, path = "/api/v1/plugins/{name}/activate", operation_id = "activate_plugin_version", tag = "plugins", params(PluginPath), request_body = ActivateBody,
    responses((status = 200, description = "The version that serves now, and the one it replaced", body = Activation), BadRequest, Unauthorized, Forbidden, JsonBody, Unavailable,
        (status = 422, description = "No such stored version, or it cannot serve with the workflows as they are now", body = ErrorBody)),
    security(("bearer" = [])))]
async fn activate(
    State(state): State<AppState>,
    AdminUser(caller): AdminUser,
    Path(PluginPath { name }): Path<PluginPath>,
    Json(body): Json<ActivateBody>,
) -> Result<axum::Json<Activation>, ApiError> {
    let digest = digest(&body.digest, "digest")?;
    let activated = state
        .deployer
        .activate(&name, &digest, &caller.user_id)
        .await;
    activated
        .map(axum::Json)
        .map_err(|e| ApiError::deploy(e, Some("digest")))
}

/// Make the version active before the current one active again. Rollbacks undo in turn.
#[utoipa::path(post, path = "/api/v1/plugins/{name}/rollback", operation_id = "roll_back_plugin", tag = "plugins", params(PluginPath),
    responses((status = 200, description = "The version that serves now, and the one it replaced", body = Activation), BadRequest, Unauthorized, Forbidden, Unavailable,
        (status = 409, description = "No earlier version", body = ErrorBody),
        (status = 422, description = "The earlier version cannot serve with the workflows as they are now", body = ErrorBody)),
    security(("bearer" = [])))]
async fn rollback(
    State(state): State<AppState>,
    AdminUser(caller): AdminUser,
    Path(PluginPath { name }): Path<PluginPath>,
) -> Result<axum::Json<Activation>, ApiError> {
    Ok(axum::Json(
        state.deployer.rollback(&name, &caller.user_id).await?,
    ))
}

/// Every recorded change of a plugin, oldest first: uploads, activations, rollbacks and
/// files dropped into the plugin directory, with who and when.
#[utoipa::path(get, path = "/api/v1/plugins/{name}/history", operation_id = "get_plugin_history", tag = "plugins", params(PluginPath),
    responses((status = 200, description = "Every recorded change, oldest first", body = Vec<Change>), BadRequest, Unauthorized, Forbidden, Unavailable),
    security(("bearer" = [])))]
async fn history(
    State(state): State<AppState>,
    _: AdminUser,
    Path(PluginPath { name }): Path<PluginPath>,
) -> Result<axum::Json<Vec<Change>>, ApiError> {
    let name = plugin_name(name)?;
    Ok(axum::Json(state.deployer.history(Some(&name)).await?))
}
