//! `/api/v1/orders`: what a customer does with their orders.

use super::auth::AuthUser;
use super::error::ErrorBody;
use super::extract::{Json, OptionalJson, Query};
use super::params::{idempotency_key, order_id, paging};
use super::responses::{BadRequest, JsonBody, Unauthorized, Unavailable};
use super::{ApiError, AppState};
use crate::domain::{Machine, StatusChange};
use crate::orders::{NewOrder, Order, check_change_texts, limits};
use crate::orders::{OrderQuery, Page, StoredEvent};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, patch};
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/orders", get(list).post(create))
        .route("/api/v1/orders/", get(list).post(create))
        .route("/api/v1/orders/status/options", get(status_options))
        .route("/api/v1/orders/{order_id}", get(one))
        .route("/api/v1/orders/{order_id}/cancel", patch(cancel))
        .route("/api/v1/orders/{order_id}/events", get(events))
}

/// Place an order: products are checked, then the workflow's plugins validate, price and
/// create it; the order and its `order.created` event are written together.
#[utoipa::path(post, path = "/api/v1/orders/", operation_id = "place_order", tag = "orders", request_body = NewOrder,
    // What the handler reads: visible ASCII, spaces and tabs only inside (HTTP trims them at
    // either end, and so does the handler), 1 to 255 characters.
    params(("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255, pattern = r"^[!-~]([\t -~]*[!-~])?$",
        description = "A retry with the same key returns the first order")),
    responses(
        (status = 201, description = "Placed (or replayed: header `idempotent-replayed: true`)", body = Order),
        BadRequest, Unauthorized, JsonBody, Unavailable,
        (status = 409, description = "Idempotency-Key reused for a different request", body = ErrorBody),
        (status = 422, description = "A business rule refused; every problem listed", body = ErrorBody),
    ),
    security(("bearer" = [])))]
async fn create(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    headers: HeaderMap,
    Json(new): Json<NewOrder>,
) -> Result<impl IntoResponse, ApiError> {
    let key = idempotency_key(&headers)?;
    let (order, created) = state.orders.place(&caller, new, key).await?;
    let replayed = if created { "false" } else { "true" };
    Ok((
        StatusCode::CREATED,
        [
            ("idempotent-replayed", replayed),
            (
                axum::http::header::CONTENT_TYPE.as_str(),
                "application/json",
            ),
        ],
        order.into_json(),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListParams {
    /// 1-based, default 1.
    #[param(minimum = 1, maximum = 4294967295_u32, format = Int64)]
    page: Option<u32>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    page_size: Option<u32>,
    status: Option<String>,
}

/// The caller's orders, newest first.
#[utoipa::path(get, path = "/api/v1/orders/", operation_id = "list_orders", tag = "orders", params(ListParams),
    responses((status = 200, description = "A page of the caller's orders, newest first", body = Page<Order>), BadRequest, Unauthorized, Unavailable),
    security(("bearer" = [])))]
async fn list(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    Query(params): Query<ListParams>,
) -> Result<axum::Json<Page<Order>>, ApiError> {
    let (page, page_size) = paging(params.page, params.page_size)?;
    let query = OrderQuery {
        user_id: Some(caller.user_id.to_string()),
        status: params.status,
        page,
        page_size,
        ..OrderQuery::default()
    };
    Ok(axum::Json(state.orders.list(&caller, query).await?))
}

/// One of the caller's orders (any order, for an admin).
#[utoipa::path(get, path = "/api/v1/orders/{order_id}", operation_id = "get_order", tag = "orders", params(("order_id" = String, Path, description = "The order id (UUID)")),
    responses((status = 200, description = "The order", body = Order), BadRequest, Unauthorized, Unavailable,
        (status = 404, description = "No such order, or not yours", body = ErrorBody)),
    security(("bearer" = [])))]
async fn one(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    // The stored document is the API's JSON already: passed on as it is.
    let json = state.orders.get_json(&caller, order_id(&id)?).await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        json,
    ))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CancelBody {
    #[schema(max_length = 1000)]
    reason: Option<String>,
}

/// Cancel an order; the lifecycle plugin decides whether it still may be.
#[utoipa::path(patch, path = "/api/v1/orders/{order_id}/cancel", operation_id = "cancel_order", tag = "orders", params(("order_id" = String, Path, description = "The order id (UUID)")),
    request_body(content = Option<CancelBody>, description = "Optional: no body, or `null`, is no reason"),
    responses((status = 200, description = "The order, cancelled", body = Order), BadRequest, Unauthorized, JsonBody, Unavailable,
        (status = 404, description = "No such order, or not yours", body = ErrorBody),
        (status = 409, description = "Changed concurrently", body = ErrorBody),
        (status = 422, description = "Not allowed in its state", body = ErrorBody)),
    security(("bearer" = [])))]
async fn cancel(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
    OptionalJson(mut body): OptionalJson<CancelBody>,
) -> Result<axum::Json<Order>, ApiError> {
    check_change_texts([("reason", &mut body.reason, limits::NOTES)])?;
    let change = StatusChange {
        to: "cancelled".into(),
        tracking_number: None,
        carrier: None,
        reason: body.reason,
    };
    Ok(axum::Json(
        state
            .orders
            .change_status(&caller, order_id(&id)?, change)
            .await?,
    ))
}

/// The order's events, oldest first, with when each was published.
#[utoipa::path(get, path = "/api/v1/orders/{order_id}/events", operation_id = "list_order_events", tag = "orders", params(("order_id" = String, Path, description = "The order id (UUID)")),
    responses((status = 200, description = "The order's events, oldest first", body = Vec<StoredEvent>), BadRequest, Unauthorized, Unavailable,
        (status = 404, description = "No such order, or not yours", body = ErrorBody)),
    security(("bearer" = [])))]
async fn events(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
) -> Result<axum::Json<Vec<StoredEvent>>, ApiError> {
    Ok(axum::Json(
        state.orders.events(&caller, order_id(&id)?).await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct OptionsParams {
    /// The sales channel whose workflow to describe; absent, the default workflow.
    sales_channel: Option<String>,
}

/// A workflow's states and allowed moves.
#[derive(Serialize, utoipa::ToSchema)]
struct StatusOptions {
    workflow: String,
    #[serde(flatten)]
    machine: Machine,
}

/// The states and allowed moves of the workflow new orders follow (of a sales channel's).
#[utoipa::path(get, path = "/api/v1/orders/status/options", operation_id = "get_status_options", tag = "orders", params(OptionsParams),
    responses((status = 200, description = "The workflow's states and allowed moves", body = StatusOptions), BadRequest, Unavailable,
        (status = 422, description = "No workflow serves that sales channel", body = ErrorBody)))]
async fn status_options(
    State(state): State<AppState>,
    Query(params): Query<OptionsParams>,
) -> Result<axum::Json<StatusOptions>, ApiError> {
    let (workflow, machine) = state.orders.machine(params.sales_channel.as_deref())?;
    Ok(axum::Json(StatusOptions { workflow, machine }))
}
