//! Stock, for admins: a product's units on hand, reserved and available with the orders
//! holding them, and adjustments of what is on hand.

use super::auth::AdminUser;
use super::error::ErrorBody;
use super::extract::Json;
use super::responses::{BadRequest, Forbidden, JsonBody, Unauthorized, Unavailable};
use super::{ApiError, AppState};
use crate::orders::refused;
use crate::orders::stock::{Inventory, Reconciliation};
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/inventory/reconciliation", get(reconcile))
        .route("/api/v1/inventory/{product_id}", get(one))
        .route("/api/v1/inventory/{product_id}/adjustments", post(adjust))
}

/// Why an adjustment's reason may be this long at most.
const REASON: usize = 200;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AdjustmentBody {
    /// Units come in (positive) or gone (negative), never zero.
    delta: i64,
    /// Why: a count, damage, a delivery from the supplier.
    #[schema(min_length = 1, max_length = 200)]
    reason: String,
}

/// A product's stock: on hand, reserved by live orders, available, and the orders holding it.
#[utoipa::path(get, path = "/api/v1/inventory/{product_id}", operation_id = "get_inventory", tag = "admin", params(("product_id" = String, Path, description = "The product id")),
    responses((status = 200, description = "The product's stock", body = Inventory), Unauthorized, Forbidden, Unavailable,
        (status = 404, description = "No such product", body = ErrorBody)),
    security(("bearer" = [])))]
async fn one(
    State(state): State<AppState>,
    _: AdminUser,
    Path(product_id): Path<String>,
) -> Result<axum::Json<Inventory>, ApiError> {
    Ok(axum::Json(state.orders.inventory(&product_id).await?))
}

/// Every product's ledger beside what the stored orders hold of it: `consistent` unless a
/// write was ever torn.
#[utoipa::path(get, path = "/api/v1/inventory/reconciliation", operation_id = "reconcile_inventory", tag = "admin",
    responses((status = 200, description = "The ledger against the orders", body = Reconciliation), Unauthorized, Forbidden, Unavailable),
    security(("bearer" = [])))]
async fn reconcile(
    State(state): State<AppState>,
    _: AdminUser,
) -> Result<axum::Json<Reconciliation>, ApiError> {
    Ok(axum::Json(state.orders.reconcile().await?))
}

/// Moves a product's units on hand, with a reason; never under what orders reserve.
#[utoipa::path(post, path = "/api/v1/inventory/{product_id}/adjustments", operation_id = "adjust_inventory", tag = "admin", params(("product_id" = String, Path, description = "The product id")), request_body = AdjustmentBody,
    responses((status = 200, description = "The product's stock after the adjustment", body = Inventory), BadRequest, Unauthorized, Forbidden, JsonBody, Unavailable,
        (status = 404, description = "No such product", body = ErrorBody),
        (status = 422, description = "A zero delta, a missing or long reason, or on hand under what is reserved (`below_reserved`)", body = ErrorBody)),
    security(("bearer" = [])))]
async fn adjust(
    State(state): State<AppState>,
    AdminUser(caller): AdminUser,
    Path(product_id): Path<String>,
    Json(body): Json<AdjustmentBody>,
) -> Result<axum::Json<Inventory>, ApiError> {
    if body.delta == 0 {
        return Err(invalid(
            "delta",
            "an adjustment moves at least one unit".into(),
        ));
    }
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > REASON {
        return Err(invalid(
            "reason",
            format!("say why, in 1 to {REASON} characters"),
        ));
    }
    Ok(axum::Json(
        (state.orders)
            .adjust_stock(&caller, &product_id, body.delta, reason)
            .await?,
    ))
}

fn invalid(field: &str, message: String) -> ApiError {
    refused("invalid_adjustment", message, field.into()).into()
}
