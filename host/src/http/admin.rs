//! Admin endpoints: status and payment updates, statistics, the filtered listing.

use super::auth::AdminUser;
use super::error::ErrorBody;
use super::extract::{Json, OptionalJson, Query};
use super::params::{digest, order_id, paging};
use super::responses::{BadRequest, Forbidden, JsonBody, Unauthorized, Unavailable};
use super::{ApiError, AppState};
use crate::domain::{PaymentChange, StatusChange};
use crate::operations::dry_run::Repricing;
use crate::orders::{Order, check_change_texts, limits};
use crate::orders::{OrderQuery, Page, Sort, Stats};
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, patch, post};
use chrono::{DateTime, Datelike, Days, Duration, NaiveDate, NaiveTime, Utc};
use serde::Deserialize;
use utoipa::openapi::schema::{
    AnyOfBuilder, KnownFormat, Object, ObjectBuilder, Schema, SchemaFormat, Type,
};

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
#[utoipa::path(patch, path = "/api/v1/orders/{order_id}/status", operation_id = "set_order_status", tag = "admin", params(("order_id" = String, Path, description = "The order id (UUID)")), request_body = StatusBody,
    responses((status = 200, description = "The order in its new status", body = Order), BadRequest, Unauthorized, Forbidden, JsonBody, Unavailable,
        (status = 404, description = "No such order", body = ErrorBody),
        (status = 409, description = "Changed concurrently", body = ErrorBody),
        (status = 422, description = "Not allowed in its state, or a text too long", body = ErrorBody)),
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
    #[schema(pattern = r"^(sha256:)?[0-9A-Fa-f]{64}$")]
    digest: Option<String>,
    /// Deprecated: the former name of `digest`, still read (not both at once).
    #[schema(pattern = r"^(sha256:)?[0-9A-Fa-f]{64}$", deprecated)]
    version: Option<String>,
}

impl RepriceBody {
    /// The stored version asked for, as written, and the field the client wrote it in.
    fn digest(&self) -> Result<Option<(&str, &'static str)>, ApiError> {
        match (&self.digest, &self.version) {
            (Some(_), Some(_)) => Err(ApiError::bad_request(
                "give the version as `digest` (`version` is its former name), not both",
                Some("version".into()),
            )),
            (Some(raw), None) => Ok(Some((raw, "digest"))),
            (None, Some(raw)) => Ok(Some((raw, "version"))),
            (None, None) => Ok(None),
        }
    }
}

/// Dry run: the order priced again by a workflow's current pricing plugin, or by a stored
/// version of it (`digest`), beside its own price and the difference. Nothing is written.
#[utoipa::path(post, path = "/api/v1/orders/{order_id}/reprice", operation_id = "reprice_order", tag = "admin", params(("order_id" = String, Path, description = "The order id (UUID)")),
    request_body(content = Option<RepriceBody>, description = "Optional: no body, or `null`, asks the order's own workflow's active version"),
    responses((status = 200, description = "The order priced again beside its own price, and the difference; nothing was written", body = Repricing), BadRequest, Unauthorized, Forbidden, JsonBody, Unavailable,
        (status = 404, description = "No such order", body = ErrorBody),
        (status = 422, description = "Unknown workflow or version, or the plugin refused the order", body = ErrorBody)),
    security(("bearer" = [])))]
async fn reprice(
    State(state): State<AppState>,
    AdminUser(caller): AdminUser,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<RepriceBody>,
) -> Result<axum::Json<Repricing>, ApiError> {
    let version = match body.digest()? {
        Some((raw, field)) => Some((digest(raw, field)?, field)),
        None => None,
    };
    Ok(axum::Json(
        state
            .repricer
            .reprice(
                &caller,
                order_id(&id)?,
                body.workflow.as_deref(),
                version.as_ref().map(|(digest, field)| (digest, *field)),
            )
            .await?,
    ))
}

/// Record a payment outcome, as the order's lifecycle plugin allows.
#[utoipa::path(patch, path = "/api/v1/orders/{order_id}/payment", operation_id = "set_order_payment", tag = "admin", params(("order_id" = String, Path, description = "The order id (UUID)")), request_body = PaymentBody,
    responses((status = 200, description = "The order with its new payment status", body = Order), BadRequest, Unauthorized, Forbidden, JsonBody, Unavailable,
        (status = 404, description = "No such order", body = ErrorBody),
        (status = 409, description = "Changed concurrently", body = ErrorBody),
        (status = 422, description = "Not allowed in its state, or a text too long", body = ErrorBody)),
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

/// A date parameter's schema, as [`instant`] reads it: a date or an RFC 3339 time whose
/// year, as written, is in [`YEARS`] (a pattern, since `date` alone allows year 0000).
fn date_schema() -> Schema {
    let of = |format| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(format)))
            .pattern(Some(
                r"^(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})-",
            ))
    };
    Schema::AnyOf(
        AnyOfBuilder::new()
            .item(of(KnownFormat::Date))
            .item(of(KnownFormat::DateTime))
            .build(),
    )
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct StatsParams {
    /// From the start of this day (`2026-11-25`), or this RFC 3339 time; years 0001 to 9999.
    #[param(schema_with = date_schema)]
    from: Option<String>,
    /// To the end of this day, or this RFC 3339 time; after `from`.
    #[param(schema_with = date_schema)]
    to: Option<String>,
}

/// Statistics over orders created from `from` (default: 30 days ago) to `to` (default: now).
#[utoipa::path(get, path = "/api/v1/orders/admin/stats", operation_id = "get_order_stats", tag = "admin", params(StatsParams),
    responses((status = 200, description = "The statistics of the window", body = Stats), BadRequest, Unauthorized, Forbidden, Unavailable),
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
    /// Created from the start of this day (`2026-11-25`), or this RFC 3339 time; years 0001
    /// to 9999.
    #[param(schema_with = date_schema)]
    from: Option<String>,
    /// Created to the end of this day, or this RFC 3339 time; after `from`.
    #[param(schema_with = date_schema)]
    to: Option<String>,
    /// In minor units.
    min_total: Option<i64>,
    max_total: Option<i64>,
    /// Default `newest`.
    #[param(schema_with = sort_schema)]
    sort: Option<String>,
    /// 1-based, default 1.
    #[param(minimum = 1, maximum = 4294967295_u32, format = Int64)]
    page: Option<u32>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    page_size: Option<u32>,
}

/// The orders of [`all`], as its `sort` names them.
const SORTS: [(&str, Sort); 4] = [
    ("newest", Sort::NewestFirst),
    ("oldest", Sort::OldestFirst),
    ("total_desc", Sort::TotalHighFirst),
    ("total_asc", Sort::TotalLowFirst),
];

fn sort_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(SORTS.map(|(name, _)| name)))
        .build()
}

/// Every order, filtered, sorted (`newest`, `oldest`, `total_desc`, `total_asc`) and paged.
#[utoipa::path(get, path = "/api/v1/orders/admin/all", operation_id = "list_all_orders", tag = "admin", params(AllParams),
    responses((status = 200, description = "A page of the orders that match", body = Page<Order>), BadRequest, Unauthorized, Forbidden, Unavailable),
    security(("bearer" = [])))]
async fn all(
    State(state): State<AppState>,
    AdminUser(caller): AdminUser,
    Query(p): Query<AllParams>,
) -> Result<axum::Json<Page<Order>>, ApiError> {
    let (page, page_size) = paging(p.page, p.page_size)?;
    let (created_from, created_to) = range(p.from.as_deref(), p.to.as_deref())?;
    let wanted = p.sort.as_deref().unwrap_or("newest");
    let Some(&(_, sort)) = SORTS.iter().find(|(name, _)| *name == wanted) else {
        return Err(ApiError::bad_request(
            "sort is one of newest, oldest, total_desc, total_asc",
            Some("sort".into()),
        ));
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
