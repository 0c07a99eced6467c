//! `/api/v1/plugins/{name}/replays` (admin): a stored version decides past orders again,
//! off the request path; the replay is read while it runs and may be cancelled.

use super::auth::AdminUser;
use super::extract::Json;
use super::params::{PluginPath, digest, plugin_name};
use super::responses::{BadRequest, Forbidden, JsonBody, NotFound, Unauthorized, Unavailable};
use super::{ApiError, AppState};
use crate::operations::replays::{DEFAULT_LIMIT, MAX_LIMIT, Replay, Selection};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/plugins/{name}/replays", post(start).get(list))
        .route("/api/v1/plugins/{name}/replays/{id}", get(one))
        .route("/api/v1/plugins/{name}/replays/{id}/cancel", post(cancel))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayBody {
    /// The stored version to replay (`sha256:…`), e.g. one uploaded and not active yet.
    #[schema(pattern = r"^(sha256:)?[0-9A-Fa-f]{64}$")]
    digest: String,
    /// Orders placed through this workflow only.
    workflow: Option<String>,
    /// Orders of the workflow serving this sales channel only.
    channel: Option<String>,
    /// Orders in this status only.
    status: Option<String>,
    /// Placed at or after (RFC 3339).
    from: Option<DateTime<Utc>>,
    /// Placed before (RFC 3339).
    to: Option<DateTime<Utc>>,
    /// The newest this many matching orders; 1,000 unless given.
    #[schema(minimum = 1, maximum = 100000)]
    limit: Option<u32>,
}

/// A replay's `{name}` and `{id}`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
struct ReplayPath {
    /// The plugin.
    name: String,
    /// The replay's id (UUID).
    id: String,
}

impl ReplayPath {
    fn checked(self) -> Result<(String, Uuid), ApiError> {
        let name = plugin_name(self.name)?;
        let id = self.id.parse().map_err(|_| ApiError::NotFound)?;
        Ok((name, id))
    }
}

/// Replay a stored version of plugin `name` over past orders: each order is decided again
/// on its own recorded inputs (its items as sold, its address and code, the `now` it was
/// decided at) and compared with what it got. Answers at once; the replay runs on.
#[utoipa::path(post, path = "/api/v1/plugins/{name}/replays", operation_id = "start_replay", tag = "plugins", params(PluginPath), request_body = ReplayBody,
    responses((status = 202, description = "Started", body = Replay), BadRequest, Unauthorized, Forbidden, JsonBody, NotFound, Unavailable,
        (status = 422, description = "No such stored version, an unknown workflow or channel, or a selection that cannot hold the plugin's orders", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
async fn start(
    State(state): State<AppState>,
    AdminUser(caller): AdminUser,
    Path(PluginPath { name }): Path<PluginPath>,
    Json(body): Json<ReplayBody>,
) -> Result<(StatusCode, axum::Json<Replay>), ApiError> {
    let name = plugin_name(name)?;
    let digest = digest(&body.digest, "digest")?;
    let limit = body.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(
            format!("limit is 1 to {MAX_LIMIT}"),
            Some("limit".into()),
        ));
    }
    if let (Some(from), Some(to)) = (body.from, body.to)
        && from >= to
    {
        return Err(ApiError::bad_request(
            "from must be before to",
            Some("from".into()),
        ));
    }
    let selection = Selection {
        workflow: body.workflow,
        channel: body.channel,
        status: body.status,
        from: body.from,
        to: body.to,
        limit,
    };
    let replay = state
        .replays
        .start(&name, &digest, selection, &caller.user_id)
        .await?;
    Ok((StatusCode::ACCEPTED, axum::Json(replay)))
}

/// The replays of plugin `name`, newest first (the last 50).
#[utoipa::path(get, path = "/api/v1/plugins/{name}/replays", operation_id = "list_replays", tag = "plugins", params(PluginPath),
    responses((status = 200, description = "The plugin's replays, newest first", body = Vec<Replay>), BadRequest, Unauthorized, Forbidden, Unavailable),
    security(("bearer" = [])))]
async fn list(
    State(state): State<AppState>,
    _: AdminUser,
    Path(PluginPath { name }): Path<PluginPath>,
) -> Result<axum::Json<Vec<Replay>>, ApiError> {
    let name = plugin_name(name)?;
    Ok(axum::Json(state.replays.list(&name).await?))
}

/// One replay, as far as it has run: its progress and its report so far.
#[utoipa::path(get, path = "/api/v1/plugins/{name}/replays/{id}", operation_id = "get_replay", tag = "plugins", params(ReplayPath),
    responses((status = 200, description = "The replay: its progress, and its report once done", body = Replay), BadRequest, Unauthorized, Forbidden, NotFound, Unavailable),
    security(("bearer" = [])))]
async fn one(
    State(state): State<AppState>,
    _: AdminUser,
    Path(path): Path<ReplayPath>,
) -> Result<axum::Json<Replay>, ApiError> {
    let (name, id) = path.checked()?;
    Ok(axum::Json(state.replays.get(&name, id).await?))
}

/// Stops a running replay after the page of orders it is deciding; its report keeps what
/// it compared. A replay that ended is answered as it is.
#[utoipa::path(post, path = "/api/v1/plugins/{name}/replays/{id}/cancel", operation_id = "cancel_replay", tag = "plugins", params(ReplayPath),
    responses((status = 202, description = "Asked to stop", body = Replay), BadRequest, Unauthorized, Forbidden, NotFound, Unavailable),
    security(("bearer" = [])))]
async fn cancel(
    State(state): State<AppState>,
    _: AdminUser,
    Path(path): Path<ReplayPath>,
) -> Result<(StatusCode, axum::Json<Replay>), ApiError> {
    let (name, id) = path.checked()?;
    let replay = state.replays.cancel(&name, id).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(replay)))
}
