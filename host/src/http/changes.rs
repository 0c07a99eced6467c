//! `/api/v1/orders/{order_id}/changes`: changes to a placed order, previewed, requested,
//! confirmed, declined or cancelled (`docs/order-changes.md`).

use super::auth::{AdminUser, AuthUser};
use super::error::ErrorBody;
use super::extract::{Json, OptionalJson};
use super::params::{idempotency_key, order_id};
use super::responses::{BadRequest, Forbidden, JsonBody, NotFound, Unauthorized, Unavailable};
use super::{ApiError, AppState};
use crate::orders::{
    Caller, ChangeRequest, Ending, Order, OrderChange, check_change_texts, limits,
};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/orders/{order_id}/changes", get(list).post(request))
        .route(
            "/api/v1/orders/{order_id}/changes/{change_id}/confirm",
            post(confirm),
        )
        .route(
            "/api/v1/orders/{order_id}/changes/{change_id}/decline",
            post(decline),
        )
        .route(
            "/api/v1/orders/{order_id}/changes/{change_id}/cancel",
            post(cancel),
        )
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
struct ChangePath {
    /// The order id (UUID).
    order_id: String,
    /// The change id (UUID).
    change_id: String,
}

impl ChangePath {
    /// Ids that cannot be an order's or a change's are not found.
    fn parse(self) -> Result<(crate::orders::OrderId, Uuid), ApiError> {
        let change = self.change_id.parse().map_err(|_| ApiError::NotFound)?;
        Ok((order_id(&self.order_id)?, change))
    }
}

/// Why a change is declined or cancelled.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct EndBody {
    #[schema(max_length = 1000)]
    reason: Option<String>,
}

/// A confirmed change and the order it made.
#[derive(Serialize, utoipa::ToSchema)]
struct Confirmed {
    change: OrderChange,
    order: Order,
}

/// Preview a change of an order (`dry_run: true`), or request it: the order as the actions
/// would make it, validated and priced again by its workflow, with the difference to pay or
/// to refund.
#[utoipa::path(post, path = "/api/v1/orders/{order_id}/changes", operation_id = "request_order_change", tag = "orders",
    params(("order_id" = String, Path, description = "The order id (UUID)"),
        ("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255, pattern = r"^[!-~]([\t -~]*[!-~])?$",
        description = "A retry with the same key answers the change recorded first")),
    request_body = ChangeRequest,
    responses(
        (status = 200, description = "A preview (`dry_run`), not recorded", body = OrderChange),
        (status = 201, description = "Requested: recorded with the order, `order.change_requested` announced", body = OrderChange),
        BadRequest, Unauthorized, NotFound, JsonBody, Unavailable,
        (status = 409, description = "The order changed meanwhile, or the Idempotency-Key was used for another request", body = ErrorBody),
        (status = 422, description = "An action is not allowed now, or a rule refused the order it makes; each problem names its action", body = ErrorBody),
    ),
    security(("bearer" = [])))]
async fn request(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(mut body): Json<ChangeRequest>,
) -> Result<(StatusCode, axum::Json<OrderChange>), ApiError> {
    let key = idempotency_key(&headers)?;
    check_change_texts([("reason", &mut body.reason, limits::NOTES)])?;
    let (change, recorded) = (state.orders)
        .request_change(&caller, order_id(&id)?, body, key)
        .await?;
    let status = if recorded {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(change)))
}

/// The changes of an order, oldest first.
#[utoipa::path(get, path = "/api/v1/orders/{order_id}/changes", operation_id = "list_order_changes", tag = "orders",
    params(("order_id" = String, Path, description = "The order id (UUID)")),
    responses((status = 200, description = "Every change, oldest first", body = Vec<OrderChange>), Unauthorized, NotFound, Unavailable),
    security(("bearer" = [])))]
async fn list(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(id): Path<String>,
) -> Result<axum::Json<Vec<OrderChange>>, ApiError> {
    Ok(axum::Json(
        state.orders.changes(&caller, order_id(&id)?).await?,
    ))
}

/// Apply a requested change: it is decided again on the order as it is now, and must still
/// be allowed and cost what its preview said; the order, the change and `order.changed` are
/// one write.
#[utoipa::path(post, path = "/api/v1/orders/{order_id}/changes/{change_id}/confirm", operation_id = "confirm_order_change", tag = "orders",
    params(ChangePath),
    responses((status = 200, description = "Confirmed: the change and the order it made", body = Confirmed),
        Unauthorized, NotFound, Unavailable,
        (status = 409, description = "Not requested any more, outdated by another change or by moved prices, or the order changed meanwhile", body = ErrorBody),
        (status = 422, description = "Not allowed any more, or refused by a rule now", body = ErrorBody)),
    security(("bearer" = [])))]
async fn confirm(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(path): Path<ChangePath>,
) -> Result<axum::Json<Confirmed>, ApiError> {
    let (order, change) = path.parse()?;
    let (order, change) = state.orders.confirm_change(&caller, order, change).await?;
    Ok(axum::Json(Confirmed { change, order }))
}

/// Decline a requested change (admin).
#[utoipa::path(post, path = "/api/v1/orders/{order_id}/changes/{change_id}/decline", operation_id = "decline_order_change", tag = "admin",
    params(ChangePath), request_body(content = Option<EndBody>, description = "Optional: why"),
    responses((status = 200, description = "Declined", body = OrderChange), BadRequest, Unauthorized, Forbidden, NotFound, JsonBody, Unavailable,
        (status = 409, description = "Not requested any more, or the order changed meanwhile", body = ErrorBody),
        (status = 422, description = "A reason over 1,000 characters", body = ErrorBody)),
    security(("bearer" = [])))]
async fn decline(
    State(state): State<AppState>,
    AdminUser(caller): AdminUser,
    Path(path): Path<ChangePath>,
    OptionalJson(body): OptionalJson<EndBody>,
) -> Result<axum::Json<OrderChange>, ApiError> {
    end(&state, &caller, path, Ending::Decline, body).await
}

/// Cancel a requested change (its requester, or an admin).
#[utoipa::path(post, path = "/api/v1/orders/{order_id}/changes/{change_id}/cancel", operation_id = "cancel_order_change", tag = "orders",
    params(ChangePath), request_body(content = Option<EndBody>, description = "Optional: why"),
    responses((status = 200, description = "Cancelled", body = OrderChange), BadRequest, Unauthorized, NotFound, JsonBody, Unavailable,
        (status = 409, description = "Not requested any more, or the order changed meanwhile", body = ErrorBody),
        (status = 422, description = "Someone else's change, or a reason over 1,000 characters", body = ErrorBody)),
    security(("bearer" = [])))]
async fn cancel(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    Path(path): Path<ChangePath>,
    OptionalJson(body): OptionalJson<EndBody>,
) -> Result<axum::Json<OrderChange>, ApiError> {
    end(&state, &caller, path, Ending::Cancel, body).await
}

async fn end(
    state: &AppState,
    caller: &Caller,
    path: ChangePath,
    ending: Ending,
    mut body: EndBody,
) -> Result<axum::Json<OrderChange>, ApiError> {
    let (order, change) = path.parse()?;
    check_change_texts([("reason", &mut body.reason, limits::NOTES)])?;
    let ended = (state.orders)
        .end_change(caller, order, change, ending, body.reason)
        .await?;
    Ok(axum::Json(ended))
}
