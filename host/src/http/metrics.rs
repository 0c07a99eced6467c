//! `/metrics`: the Prometheus exposition of `crate::metrics`.

use super::AppState;
use axum::Router;
use axum::extract::State;
use axum::routing::get;

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// Prometheus metrics (OpenMetrics text).
#[utoipa::path(get, path = "/metrics", operation_id = "get_metrics", tag = "operations", responses((status = 200, description = "The metrics, in the OpenMetrics text format", content_type = "application/openmetrics-text", body = String)))]
async fn metrics(State(state): State<AppState>) -> impl axum::response::IntoResponse {
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    let metrics = crate::metrics::metrics();
    let me = &state.membership;
    metrics.replica(
        &me.identity.replica,
        &me.identity.incarnation,
        &me.shards(),
        &state.registry.current().digests(),
    );
    if let Some(storage) = state.orders.store().storage() {
        metrics.storage(&storage);
    }
    (
        [(axum::http::header::CONTENT_TYPE, content_type)],
        metrics.render(),
    )
}
