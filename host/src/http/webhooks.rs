//! `/api/v1/webhooks`: the endpoints order events are delivered to, for admins.

use super::auth::AdminUser;
use super::error::ErrorBody;
use super::extract::{Json, Query};
use super::responses::{BadRequest, Forbidden, JsonBody, NotFound, Unauthorized, Unavailable};
use super::{ApiError, AppState};
use crate::live::webhooks::Refused;
use crate::live::webhooks::delivery::{Delivery, State as DeliveryState};
use crate::live::webhooks::endpoint::{Endpoint, NewEndpoint};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/webhooks", get(list).post(register))
        .route("/api/v1/webhooks/{id}", get(one).delete(remove))
        .route("/api/v1/webhooks/{id}/deliveries", get(deliveries))
        .route(
            "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
            post(redeliver),
        )
}

/// An endpoint as the API shows it: its secret only in the answer that registered it.
#[derive(Serialize, utoipa::ToSchema)]
struct EndpointView {
    id: Uuid,
    url: String,
    /// Event types, families (`order.*`) or `*`, as registered.
    events: Vec<String>,
    description: Option<String>,
    created_at: DateTime<Utc>,
    created_by: String,
    /// The signing secret: in the registration's answer only. Keep it: the service never
    /// shows it again.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl EndpointView {
    fn of(endpoint: Endpoint, with_secret: bool) -> Self {
        EndpointView {
            id: endpoint.id,
            url: endpoint.url,
            events: endpoint.events,
            description: endpoint.description,
            created_at: endpoint.created_at,
            created_by: endpoint.created_by,
            secret: with_secret.then_some(endpoint.secret),
        }
    }
}

fn endpoint_id(raw: &str) -> Result<Uuid, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound)
}

/// Registers an endpoint: deliveries of the events it takes go to its URL, signed with its
/// secret (`docs/live.md`).
#[utoipa::path(post, path = "/api/v1/webhooks", operation_id = "register_webhook", tag = "webhooks", request_body = NewEndpoint,
    responses((status = 201, description = "Registered; the answer carries the secret, shown this once", body = EndpointView),
        BadRequest, Unauthorized, Forbidden, JsonBody, Unavailable,
        (status = 422, description = "An invalid or refused URL (`invalid_url`, `refused_target`), an unknown event type, a bad secret, or a URL registered already (`duplicate_endpoint`); each problem names its field", body = ErrorBody)),
    security(("bearer" = [])))]
async fn register(
    State(state): State<AppState>,
    AdminUser(caller): AdminUser,
    Json(new): Json<NewEndpoint>,
) -> Result<impl IntoResponse, ApiError> {
    let by = caller.user_id.to_string();
    match state.webhooks.register(new, &by, Utc::now()).await {
        Ok(endpoint) => Ok((
            StatusCode::CREATED,
            axum::Json(EndpointView::of(endpoint, true)),
        )),
        Err(Refused::Invalid(problems)) => Err(ApiError::Refused(problems)),
        Err(Refused::Store(e)) => Err(e.into()),
    }
}

/// Every endpoint, oldest first (without their secrets).
#[utoipa::path(get, path = "/api/v1/webhooks", operation_id = "list_webhooks", tag = "webhooks",
    responses((status = 200, description = "The endpoints", body = Vec<EndpointView>), Unauthorized, Forbidden, Unavailable),
    security(("bearer" = [])))]
async fn list(
    State(state): State<AppState>,
    _: AdminUser,
) -> Result<axum::Json<Vec<EndpointView>>, ApiError> {
    let endpoints = state.webhooks.endpoints().await?;
    Ok(axum::Json(
        endpoints
            .into_iter()
            .map(|e| EndpointView::of(e, false))
            .collect(),
    ))
}

/// One endpoint (without its secret).
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", operation_id = "get_webhook", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id")),
    responses((status = 200, description = "The endpoint", body = EndpointView), Unauthorized, Forbidden, NotFound, Unavailable),
    security(("bearer" = [])))]
async fn one(
    State(state): State<AppState>,
    _: AdminUser,
    Path(id): Path<String>,
) -> Result<axum::Json<EndpointView>, ApiError> {
    match state.webhooks.endpoint(endpoint_id(&id)?).await? {
        Some(endpoint) => Ok(axum::Json(EndpointView::of(endpoint, false))),
        None => Err(ApiError::NotFound),
    }
}

/// Removes an endpoint: nothing more is delivered to it.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", operation_id = "remove_webhook", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id")),
    responses((status = 204, description = "Removed"), Unauthorized, Forbidden, NotFound, Unavailable),
    security(("bearer" = [])))]
async fn remove(
    State(state): State<AppState>,
    _: AdminUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    match state.webhooks.remove(endpoint_id(&id)?).await? {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(ApiError::NotFound),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct DeliveriesParams {
    /// Only deliveries in this state: `pending`, `delivered` or `dead` (the dead-letter list).
    state: Option<DeliveryState>,
}

/// An endpoint's delivery log: its latest deliveries (100 at most), newest first, each with
/// its tries (status, latency, the start of the answer).
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", operation_id = "list_webhook_deliveries", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id"), DeliveriesParams),
    responses((status = 200, description = "The deliveries", body = Vec<Delivery>), BadRequest, Unauthorized, Forbidden, NotFound, Unavailable),
    security(("bearer" = [])))]
async fn deliveries(
    State(state): State<AppState>,
    _: AdminUser,
    Path(id): Path<String>,
    Query(params): Query<DeliveriesParams>,
) -> Result<axum::Json<Vec<Delivery>>, ApiError> {
    let id = endpoint_id(&id)?;
    if state.webhooks.endpoint(id).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    Ok(axum::Json(
        state.webhooks.deliveries(id, params.state).await?,
    ))
}

/// Tries a dead (or delivered) delivery again from now, with a fresh retry budget.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", operation_id = "redeliver_webhook", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id"), ("delivery_id" = String, Path, description = "The delivery's id")),
    responses((status = 202, description = "Pending again: tried at once", body = Delivery), Unauthorized, Forbidden, NotFound, Unavailable,
        (status = 409, description = "The delivery is pending already", body = ErrorBody)),
    security(("bearer" = [])))]
async fn redeliver(
    State(state): State<AppState>,
    _: AdminUser,
    Path((id, delivery)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let (id, delivery) = (endpoint_id(&id)?, endpoint_id(&delivery)?);
    match state.webhooks.redeliver(id, delivery, Utc::now()).await? {
        Some(Ok(revived)) => Ok((StatusCode::ACCEPTED, axum::Json(revived))),
        Some(Err(_)) => Err(ApiError::Conflict(
            "the delivery is pending already: it will be tried",
        )),
        None => Err(ApiError::NotFound),
    }
}
