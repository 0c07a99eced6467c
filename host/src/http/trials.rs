//! `/api/v1/plugins/{name}/shadow` and `/rollout` (admin): a stored version staged beside
//! the active one on a share of new orders, as a shadow (decides them again, changes
//! nothing, and reports the differences) or a rollout (decides them, for a share of
//! customers). Raising a share is the same call with a larger percent; one `DELETE` ends
//! either.

use super::auth::AdminUser;
use super::extract::Json;
use super::params::{PluginPath, digest, plugin_name};
use super::responses::{BadRequest, Forbidden, JsonBody, NotFound, Unauthorized, Unavailable};
use super::{ApiError, AppState};
use crate::domain::UserId;
use crate::operations::shadows::ShadowReport;
use crate::plugins::{Mode, Share, Trials};
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::post;
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/plugins/{name}/shadow",
            post(shadow).delete(end_shadow).get(shadow_report),
        )
        .route(
            "/api/v1/plugins/{name}/rollout",
            post(rollout).delete(end_rollout),
        )
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageBody {
    /// A stored version (`sha256:…`).
    #[schema(pattern = r"^(sha256:)?[0-9A-Fa-f]{64}$")]
    digest: String,
    /// The share of new orders, 1 to 100.
    #[schema(minimum = 1, maximum = 100)]
    percent: u8,
    /// Only this workflow's orders; absent: every workflow using the plugin.
    workflow: Option<String>,
}

/// A plugin's shadow: the version staged, and what it found so far on every replica.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ShadowView {
    shadow: Option<Share>,
    /// Since the version started shadowing (or the replicas started); none before its
    /// first order.
    observed: Option<ShadowReport>,
}

async fn stage(
    state: AppState,
    caller: UserId,
    name: String,
    mode: Mode,
    body: Option<StageBody>,
) -> Result<axum::Json<Trials>, ApiError> {
    let name = plugin_name(name)?;
    let share = match body {
        Some(StageBody {
            digest: raw,
            percent,
            workflow,
        }) => {
            if !(1..=100).contains(&percent) {
                return Err(ApiError::bad_request(
                    "percent is 1 to 100",
                    Some("percent".into()),
                ));
            }
            Some((digest(&raw, "digest")?, percent, workflow))
        }
        None => None,
    };
    let field = match share {
        Some((_, _, Some(_))) => "workflow",
        _ => "digest",
    };
    let staged = state.deployer.stage(&name, mode, share, &caller).await;
    staged
        .map(axum::Json)
        .map_err(|e| ApiError::deploy(e, Some(field)))
}

/// Shadow plugin `name` with a stored version on `percent` of new orders: each such order
/// is decided again by it after it has been decided for real; the order never changes.
#[utoipa::path(post, path = "/api/v1/plugins/{name}/shadow", operation_id = "start_shadow", tag = "plugins", params(PluginPath), request_body = StageBody,
    responses((status = 200, description = "The plugin's shadow and rollout, as staged now", body = Trials), BadRequest, Unauthorized, Forbidden, JsonBody, NotFound, Unavailable,
        (status = 422, description = "No such stored version, or it cannot serve with the workflows as they are now", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
async fn shadow(
    State(state): State<AppState>,
    AdminUser(caller): AdminUser,
    Path(PluginPath { name }): Path<PluginPath>,
    Json(body): Json<StageBody>,
) -> Result<axum::Json<Trials>, ApiError> {
    stage(state, caller.user_id, name, Mode::Shadow, Some(body)).await
}

/// End plugin `name`'s shadow.
#[utoipa::path(delete, path = "/api/v1/plugins/{name}/shadow", operation_id = "end_shadow", tag = "plugins", params(PluginPath),
    responses((status = 200, description = "The plugin's shadow and rollout, as staged now", body = Trials), BadRequest, Unauthorized, Forbidden, NotFound, Unavailable),
    security(("bearer" = [])))]
async fn end_shadow(
    State(state): State<AppState>,
    AdminUser(caller): AdminUser,
    Path(PluginPath { name }): Path<PluginPath>,
) -> Result<axum::Json<Trials>, ApiError> {
    stage(state, caller.user_id, name, Mode::Shadow, None).await
}

/// Plugin `name`'s shadow and its differences so far, over every replica's orders.
#[utoipa::path(get, path = "/api/v1/plugins/{name}/shadow", operation_id = "get_shadow_report", tag = "plugins", params(PluginPath),
    responses((status = 200, description = "The shadow and what it found, over every replica's orders", body = ShadowView), BadRequest, Unauthorized, Forbidden, NotFound),
    security(("bearer" = [])))]
async fn shadow_report(
    State(state): State<AppState>,
    _: AdminUser,
    Path(PluginPath { name }): Path<PluginPath>,
) -> Result<axum::Json<ShadowView>, ApiError> {
    let name = plugin_name(name)?;
    let serving = state.registry.current();
    if !serving.components.contains_key(&name) {
        return Err(ApiError::NotFound);
    }
    let shadow = serving.staging.get(&name).and_then(|s| s.shadow.clone());
    let digest = shadow.as_ref().map(|share| share.digest.full());
    let observed = state.shadows.report(&name, digest.as_deref()).await?;
    Ok(axum::Json(ShadowView { shadow, observed }))
}

/// Roll a stored version of plugin `name` out to `percent` of customers: their new orders
/// are decided by it (each customer's by one version, the same on every replica); the
/// same call with another percent raises or lowers the share.
#[utoipa::path(post, path = "/api/v1/plugins/{name}/rollout", operation_id = "start_rollout", tag = "plugins", params(PluginPath), request_body = StageBody,
    responses((status = 200, description = "The plugin's shadow and rollout, as staged now", body = Trials), BadRequest, Unauthorized, Forbidden, JsonBody, NotFound, Unavailable,
        (status = 422, description = "No such stored version, or it cannot serve with the workflows as they are now", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
async fn rollout(
    State(state): State<AppState>,
    AdminUser(caller): AdminUser,
    Path(PluginPath { name }): Path<PluginPath>,
    Json(body): Json<StageBody>,
) -> Result<axum::Json<Trials>, ApiError> {
    stage(state, caller.user_id, name, Mode::Rollout, Some(body)).await
}

/// Roll back a rollout in one call: every new order is decided by the active version again.
#[utoipa::path(delete, path = "/api/v1/plugins/{name}/rollout", operation_id = "end_rollout", tag = "plugins", params(PluginPath),
    responses((status = 200, description = "The plugin's shadow and rollout, as staged now", body = Trials), BadRequest, Unauthorized, Forbidden, NotFound, Unavailable),
    security(("bearer" = [])))]
async fn end_rollout(
    State(state): State<AppState>,
    AdminUser(caller): AdminUser,
    Path(PluginPath { name }): Path<PluginPath>,
) -> Result<axum::Json<Trials>, ApiError> {
    stage(state, caller.user_id, name, Mode::Rollout, None).await
}
