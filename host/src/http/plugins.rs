//! `/api/v1/plugins` and `/api/v1/workflows` (admin): what serves, and changing it while
//! the service runs: upload a version (checked before it is kept), activate one, roll
//! back, read who changed what. These lead to the same registry as a file dropped into the
//! plugin directory.

use super::auth::AdminUser;
use super::error::ErrorBody;
use super::extract::{Json, Query};
use super::openapi::{
    BadRequest, BodyLimits, Forbidden, JsonBody, NotFound, Unauthorized, Unavailable,
};
use super::{ApiError, AppState};
use crate::domain::Problem;
use crate::metrics::{HourCount, add_up, metrics};
use crate::replicas::Heartbeat;
use crate::runtime::Digest;
use crate::workflows::{
    Action, Activation, Candidate, Change, DeployError, LoadFailure, Serving, Share, StoredVersion,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
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
        .route("/api/v1/workflows", get(workflows))
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
    digest: Option<String>,
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
    digest: Option<String>,
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

#[derive(Serialize, utoipa::ToSchema)]
pub struct WorkflowView {
    name: String,
    description: String,
    channels: Vec<String>,
    /// Of the workflow file.
    digest: String,
    source: String,
    loaded_at: DateTime<Utc>,
    /// The plugin of each decision and the version it serves with.
    plugins: Vec<StepView>,
    last_error: Option<LoadFailure>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct StepView {
    kind: String,
    plugin: String,
    digest: String,
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

/// The `{name}` of every plugin route, as the deployer checks it (it becomes a file name).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct PluginName {
    /// Lowercase letters, digits, `-` and `_`, at most 64 characters.
    #[param(pattern = "^[a-z0-9_-]{1,64}$")]
    pub(super) name: String,
}

/// The API's answer to a failed operation; `field` names what was at fault.
pub(super) fn deploy_error(e: DeployError, field: Option<&str>) -> ApiError {
    let refused = |code: &str, message: String, field: Option<&str>| {
        ApiError::Refused(vec![Problem {
            code: code.into(),
            message,
            field: field.map(Into::into),
        }])
    };
    match e {
        DeployError::BadName(_) => ApiError::bad_request(e.to_string(), Some("name".into())),
        DeployError::NotServing(_) => ApiError::NotFound,
        DeployError::Rejected(_) => refused("plugin_rejected", e.to_string(), field),
        DeployError::UnknownVersion { .. } => refused("unknown_version", e.to_string(), field),
        DeployError::NothingToRollBack(_) => {
            ApiError::Conflict("there is no earlier version to roll back to")
        }
        DeployError::Concurrent(_) => ApiError::Conflict(
            "another replica changed the active version meanwhile; read it again and retry",
        ),
        DeployError::NoArchive | DeployError::Archive(_) => ApiError::Unavailable {
            code: "plugin_archive_unavailable",
            public: "the plugin version archive is unavailable; nothing was changed".into(),
            detail: e.to_string(),
        },
    }
}

/// The deployer checks a name where it writes; the reading routes check it here, before it
/// becomes a path to read (`..` would be one), by the same rule the schema states.
pub(super) fn plugin_name(name: String) -> Result<String, ApiError> {
    let safe = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if safe {
        Ok(name)
    } else {
        Err(deploy_error(DeployError::BadName(name), None))
    }
}

/// A version as the API names it; a malformed one is a 400 naming `field`.
pub(super) fn digest(raw: &str, field: &str) -> Result<Digest, ApiError> {
    Digest::parse(raw)
        .ok_or_else(|| ApiError::bad_request("expected sha256:<64 hex digits>", Some(field.into())))
}

/// Compiling and reloading take milliseconds of CPU: off the async workers.
pub(super) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Unavailable {
            code: "internal",
            public: "the operation failed; nothing was changed".into(),
            detail: e.to_string(),
        })?
}

/// Reads the change log: run it off the async workers.
fn plugin_view(state: &AppState, serving: &Serving, live: &[Heartbeat], name: &str) -> PluginView {
    let component = serving.components.get(name);
    let active = component.map(|c| c.digest.full());
    let history = state.deployer.history(Some(name)).unwrap_or_default();
    let last_change = history
        .into_iter()
        .rev()
        .find(|c| c.action != Action::Uploaded && Some(&c.to) == active.as_ref());
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
#[utoipa::path(get, path = "/api/v1/plugins", tag = "plugins",
    responses((status = 200, body = Vec<PluginView>), Unauthorized, Forbidden, Unavailable),
    security(("bearer" = [])))]
async fn list(
    State(state): State<AppState>,
    _: AdminUser,
) -> Result<axum::Json<Vec<PluginView>>, ApiError> {
    blocking(move || {
        let serving = state.registry.current();
        let live = state.membership.live();
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
            names
                .into_iter()
                .map(|name| plugin_view(&state, &serving, &live, name))
                .collect(),
        ))
    })
    .await
}

/// One plugin, with every stored version.
#[utoipa::path(get, path = "/api/v1/plugins/{name}", tag = "plugins", params(PluginName),
    responses((status = 200, body = PluginDetail), BadRequest, Unauthorized, Forbidden, NotFound, Unavailable),
    security(("bearer" = [])))]
async fn one(
    State(state): State<AppState>,
    _: AdminUser,
    Path(PluginName { name }): Path<PluginName>,
) -> Result<axum::Json<PluginDetail>, ApiError> {
    let name = plugin_name(name)?;
    blocking(move || {
        let serving = state.registry.current();
        let stored = match state.deployer.stored(&name) {
            Err(DeployError::NoArchive) => Vec::new(),
            stored => stored.map_err(|e| deploy_error(e, None))?,
        };
        let plugin = plugin_view(&state, &serving, &state.membership.live(), &name);
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
    })
    .await
}

/// Upload a version of plugin `name` (the component's bytes as the body). It is compiled,
/// checked against every workflow that uses the plugin and tried on a trial order before
/// it is kept; `?activate=true` also makes it serve.
#[utoipa::path(post, path = "/api/v1/plugins/{name}/versions", tag = "plugins",
    params(PluginName, ("activate" = Option<bool>, Query, description = "Make it the active version too")),
    request_body(description = "The component (.wasm)",
        content((inline(ComponentBytes) = "application/wasm"), (inline(ComponentBytes) = "application/octet-stream"))),
    responses((status = 201, body = Uploaded), Unauthorized, Forbidden, BodyLimits, Unavailable,
        (status = 400, description = "A bad name or parameter", body = ErrorBody),
        (status = 415, description = "A body not of type `application/wasm` (or `application/octet-stream`)", body = ErrorBody),
        (status = 422, description = "It cannot serve: the reason says why", body = ErrorBody)),
    security(("bearer" = [])))]
async fn upload(
    State(state): State<AppState>,
    AdminUser(caller): AdminUser,
    Path(PluginName { name }): Path<PluginName>,
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
    let deployer = state.deployer.clone();
    let uploaded = blocking(move || {
        let candidate = deployer
            .upload(&name, &body, &caller.user_id)
            .map_err(|e| deploy_error(e, Some("body")))?;
        if query.activate {
            let digest = Digest::parse(&candidate.digest).expect("a digest we printed");
            deployer
                .activate(&name, &digest, &caller.user_id)
                .map_err(|e| deploy_error(e, Some("body")))?;
        }
        Ok(Uploaded {
            candidate,
            active: query.activate,
        })
    })
    .await?;
    Ok((StatusCode::CREATED, axum::Json(uploaded)))
}

/// Make a stored version the active one; the next decision uses it.
#[utoipa::path(post, path = "/api/v1/plugins/{name}/activate", tag = "plugins", params(PluginName), request_body = ActivateBody,
    responses((status = 200, body = Activation), BadRequest, Unauthorized, Forbidden, JsonBody, Unavailable,
        (status = 422, description = "No such stored version, or it cannot serve with the workflows as they are now", body = ErrorBody)),
    security(("bearer" = [])))]
async fn activate(
    State(state): State<AppState>,
    AdminUser(caller): AdminUser,
    Path(PluginName { name }): Path<PluginName>,
    Json(body): Json<ActivateBody>,
) -> Result<axum::Json<Activation>, ApiError> {
    let digest = digest(&body.digest, "digest")?;
    let deployer = state.deployer.clone();
    blocking(move || {
        deployer
            .activate(&name, &digest, &caller.user_id)
            .map_err(|e| deploy_error(e, Some("digest")))
    })
    .await
    .map(axum::Json)
}

/// Make the version active before the current one active again. Rollbacks undo in turn.
#[utoipa::path(post, path = "/api/v1/plugins/{name}/rollback", tag = "plugins", params(PluginName),
    responses((status = 200, body = Activation), BadRequest, Unauthorized, Forbidden, Unavailable,
        (status = 409, description = "No earlier version", body = ErrorBody),
        (status = 422, description = "The earlier version cannot serve with the workflows as they are now", body = ErrorBody)),
    security(("bearer" = [])))]
async fn rollback(
    State(state): State<AppState>,
    AdminUser(caller): AdminUser,
    Path(PluginName { name }): Path<PluginName>,
) -> Result<axum::Json<Activation>, ApiError> {
    let deployer = state.deployer.clone();
    blocking(move || {
        deployer
            .rollback(&name, &caller.user_id)
            .map_err(|e| deploy_error(e, None))
    })
    .await
    .map(axum::Json)
}

/// Every recorded change of a plugin, oldest first: uploads, activations, rollbacks and
/// files dropped into the plugin directory, with who and when.
#[utoipa::path(get, path = "/api/v1/plugins/{name}/history", tag = "plugins", params(PluginName),
    responses((status = 200, body = Vec<Change>), BadRequest, Unauthorized, Forbidden, Unavailable),
    security(("bearer" = [])))]
async fn history(
    State(state): State<AppState>,
    _: AdminUser,
    Path(PluginName { name }): Path<PluginName>,
) -> Result<axum::Json<Vec<Change>>, ApiError> {
    let name = plugin_name(name)?;
    blocking(move || {
        state
            .deployer
            .history(Some(&name))
            .map(axum::Json)
            .map_err(|e| deploy_error(e, None))
    })
    .await
}

/// Every workflow: its file, its channels and the plugin version of each decision.
#[utoipa::path(get, path = "/api/v1/workflows", tag = "plugins",
    responses((status = 200, body = Vec<WorkflowView>), Unauthorized, Forbidden),
    security(("bearer" = [])))]
async fn workflows(State(state): State<AppState>, _: AdminUser) -> axum::Json<Vec<WorkflowView>> {
    let serving: Arc<Serving> = state.registry.current();
    let dir = state.registry.workflow_dir();
    axum::Json(
        serving
            .workflows
            .values()
            .map(|w| WorkflowView {
                name: w.name.clone(),
                description: w.description.clone(),
                channels: w.channels.clone(),
                digest: w.digest.full(),
                source: dir.join(format!("{}.toml", w.name)).display().to_string(),
                loaded_at: w.loaded_at.into(),
                plugins: w
                    .plugins()
                    .iter()
                    .map(|p| StepView {
                        kind: p.kind().to_string(),
                        plugin: p.component().name.clone(),
                        digest: p.component().digest.full(),
                    })
                    .collect(),
                last_error: serving.errors.get(&format!("{}.toml", w.name)).cloned(),
            })
            .collect(),
    )
}
