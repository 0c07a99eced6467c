//! Admin endpoints: status and payment updates, statistics, the filtered listing.

use super::auth::AdminUser;
use super::error::ErrorBody;
use super::extract::{Json, OptionalJson, Query};
use super::orders::{order_id, paging};
use super::plugins::digest;
use super::{ApiError, AppState};
use crate::domain::{PaymentChange, StatusChange};
use crate::orders::{Order, Repricing, check_change_texts, limits};
use crate::store::{OrderQuery, Page, Sort, Stats};
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, patch, post};
use chrono::{DateTime, Datelike, Days, Duration, NaiveDate, NaiveTime, Utc};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/orders/{order_id}/status", patch(set_status))
        .route("/api/v1/orders/{order_id}/payment", patch(set_payment))
        .route("/api/v1/orders/{order_id}/reprice", post(reprice))
        .route("/api/v1/orders/admin/stats", get(stats))
        .route("/api/v1/orders/admin/all", get(all))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    status: String,
    #[schema(max_length = 200)]
    tracking_number: Option<String>,
    #[schema(max_length = 200)]
    carrier: Option<String>,
    #[schema(max_length = 1000)]
    notes: Option<String>,
}

/// Move an order to a status, as the order's lifecycle plugin allows.
#[utoipa::path(patch, path = "/api/v1/orders/{order_id}/status", tag = "admin", params(("order_id" = String, Path, description = "The order id (UUID)")), request_body = StatusBody,
    responses((status = 200, body = Order), (status = 401, body = ErrorBody), (status = 403, description = "Not an admin", body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn set_status(
    State(state): State<AppState>,
    AdminUser(caller): AdminUser,
    Path(id): Path<String>,
    Json(mut body): Json<StatusBody>,
) -> Result<axum::Json<Order>, ApiError> {
    check_change_texts([
        (
            "tracking_number",
            &mut body.tracking_number,
            limits::REFERENCE,
        ),
        ("carrier", &mut body.carrier, limits::REFERENCE),
        ("notes", &mut body.notes, limits::NOTES),
    ])?;
    let change = StatusChange {
        to: body.status,
        tracking_number: body.tracking_number,
        carrier: body.carrier,
        reason: body.notes,
    };
    Ok(axum::Json(
        state
            .orders
            .change_status(&caller, order_id(&id)?, change)
            .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PaymentBody {
    payment_status: String,
    #[schema(max_length = 200)]
    transaction_id: Option<String>,
    #[schema(max_length = 1000)]
    notes: Option<String>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RepriceBody {
    /// Whose pricing plugin to ask; absent, the order's own workflow's (as it is now).
    workflow: Option<String>,
    /// A stored version of that pricing plugin (`sha256:…`, e.g. one just uploaded and not
    /// active yet); absent, the active one.
    version: Option<String>,
}

/// Dry run: the order priced again by a workflow's current pricing plugin, beside its own
/// price and the difference. Nothing is written.
#[utoipa::path(post, path = "/api/v1/orders/{order_id}/reprice", tag = "admin", params(("order_id" = String, Path, description = "The order id (UUID)")), request_body = RepriceBody,
    responses((status = 200, body = Repricing), (status = 401, body = ErrorBody), (status = 403, description = "Not an admin", body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, description = "Unknown workflow, or the plugin refused the order", body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
async fn reprice(
    State(state): State<AppState>,
    AdminUser(caller): AdminUser,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<RepriceBody>,
) -> Result<axum::Json<Repricing>, ApiError> {
    let version = body
        .version
        .as_deref()
        .map(|raw| digest(raw, "version"))
        .transpose()?;
    Ok(axum::Json(
        state
            .orders
            .reprice(
                &caller,
                order_id(&id)?,
                body.workflow.as_deref(),
                version.as_ref(),
            )
            .await?,
    ))
}

/// Record a payment outcome, as the order's lifecycle plugin allows.
#[utoipa::path(patch, path = "/api/v1/orders/{order_id}/payment", tag = "admin", params(("order_id" = String, Path, description = "The order id (UUID)")), request_body = PaymentBody,
    responses((status = 200, body = Order), (status = 401, body = ErrorBody), (status = 403, description = "Not an admin", body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn set_payment(
    State(state): State<AppState>,
    AdminUser(caller): AdminUser,
    Path(id): Path<String>,
    Json(mut body): Json<PaymentBody>,
) -> Result<axum::Json<Order>, ApiError> {
    check_change_texts([
        (
            "transaction_id",
            &mut body.transaction_id,
            limits::REFERENCE,
        ),
        ("notes", &mut body.notes, limits::NOTES),
    ])?;
    let change = PaymentChange {
        to: body.payment_status,
        transaction_id: body.transaction_id,
        reason: body.notes,
    };
    Ok(axum::Json(
        state
            .orders
            .change_payment(&caller, order_id(&id)?, change)
            .await?,
    ))
}

/// The years a date parameter may name: RFC 3339's four digits, year 0 left out (chrono
/// reads it as 1 BC, most clients' date types have none). Within them every window the
/// API computes (the day after `to`, 30 days before it) is a valid instant for chrono and
/// both stores.
const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

/// A date (`2026-11-25`, the whole day: its start, or with `end_of_day` the next day's) or
/// an RFC 3339 instant, in [`YEARS`] as written.
fn instant(raw: &str, field: &str, end_of_day: bool) -> Result<DateTime<Utc>, ApiError> {
    let parsed = if is_full_date(raw) {
        raw.parse::<NaiveDate>().ok().map(|day| {
            let start = if end_of_day { day + Days::new(1) } else { day };
            (day.year(), start.and_time(NaiveTime::MIN).and_utc())
        })
    } else {
        DateTime::parse_from_rfc3339(raw)
            .ok()
            .map(|at| (at.year(), at.to_utc()))
    };
    match parsed {
        Some((year, at)) if YEARS.contains(&year) => Ok(at),
        _ => Err(ApiError::bad_request(
            format!(
                "{field} must be a date (2026-11-25) or an RFC 3339 time, in the years 0001 to 9999"
            ),
            Some(field.into()),
        )),
    }
}

/// `YYYY-MM-DD` exactly, as RFC 3339 writes a date: chrono alone would also take signed,
/// longer or shorter numbers (`+262142-1-5`).
fn is_full_date(raw: &str) -> bool {
    raw.len() == 10
        && raw.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        })
}

/// A created-date window; either end may be open.
type Window = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

fn range(from: Option<&str>, to: Option<&str>) -> Result<Window, ApiError> {
    let from = from.map(|f| instant(f, "from", false)).transpose()?;
    let to = to.map(|t| instant(t, "to", true)).transpose()?;
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        return Err(ApiError::bad_request(
            "`from` must come before `to`",
            Some("from".into()),
        ));
    }
    Ok((from, to))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct StatsParams {
    from: Option<String>,
    to: Option<String>,
}

/// Statistics over orders created from `from` (default: 30 days ago) to `to` (default: now).
#[utoipa::path(get, path = "/api/v1/orders/admin/stats", tag = "admin", params(StatsParams),
    responses((status = 200, body = Stats), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, description = "Not an admin", body = ErrorBody)),
    security(("bearer" = [])))]
async fn stats(
    State(state): State<AppState>,
    AdminUser(_): AdminUser,
    Query(params): Query<StatsParams>,
) -> Result<axum::Json<Stats>, ApiError> {
    let (from, to) = range(params.from.as_deref(), params.to.as_deref())?;
    let to = to.unwrap_or_else(Utc::now);
    let from = from.unwrap_or(to - Duration::days(30));
    Ok(axum::Json(state.orders.stats(from, to).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AllParams {
    status: Option<String>,
    payment_status: Option<String>,
    user_id: Option<String>,
    order_number: Option<String>,
    from: Option<String>,
    to: Option<String>,
    min_total: Option<i64>,
    max_total: Option<i64>,
    sort: Option<String>,
    page: Option<u32>,
    page_size: Option<u32>,
}

/// Every order, filtered, sorted (`newest`, `oldest`, `total_desc`, `total_asc`) and paged.
#[utoipa::path(get, path = "/api/v1/orders/admin/all", tag = "admin", params(AllParams),
    responses((status = 200, body = Page<Order>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, description = "Not an admin", body = ErrorBody)),
    security(("bearer" = [])))]
async fn all(
    State(state): State<AppState>,
    AdminUser(caller): AdminUser,
    Query(p): Query<AllParams>,
) -> Result<axum::Json<Page<Order>>, ApiError> {
    let (page, page_size) = paging(p.page, p.page_size)?;
    let (created_from, created_to) = range(p.from.as_deref(), p.to.as_deref())?;
    let sort = match p.sort.as_deref().unwrap_or("newest") {
        "newest" => Sort::NewestFirst,
        "oldest" => Sort::OldestFirst,
        "total_desc" => Sort::TotalHighFirst,
        "total_asc" => Sort::TotalLowFirst,
        _ => {
            return Err(ApiError::bad_request(
                "sort is one of newest, oldest, total_desc, total_asc",
                Some("sort".into()),
            ));
        }
    };
    let query = OrderQuery {
        user_id: p.user_id,
        status: p.status,
        payment_status: p.payment_status,
        order_number: p.order_number,
        created_from,
        created_to,
        total_min: p.min_total,
        total_max: p.max_total,
        sort,
        page,
        page_size,
    };
    Ok(axum::Json(state.orders.list(&caller, query).await?))
}
