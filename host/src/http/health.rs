//! `/health`: whether the store answers and which plugins and workflows serve.

use super::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::json;

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

/// Store, plugin and event relay status. The relay's state does not make the service
/// unhealthy: orders are still accepted while the broker is away, their events wait.
#[utoipa::path(get, path = "/health", operation_id = "get_health", tag = "operations",
    responses((status = 200, description = "Serving"), (status = 503, description = "The store does not answer, or no workflow is loaded")))]
async fn health(State(state): State<AppState>) -> (StatusCode, axum::Json<serde_json::Value>) {
    let store = state.orders.store().ping().await;
    let backlog = state.orders.store().backlog().await.unwrap_or_default();
    let relay = match &state.relay {
        Some(status) => json!(*status.lock().unwrap_or_else(|e| e.into_inner())),
        None => json!({ "state": "disabled" }),
    };
    let serving = state.registry.current();
    let workflows: Vec<_> = serving
        .workflows
        .values()
        .map(|w| {
            let plugins = [&w.validation, &w.pricing, &w.lifecycle].map(|p| {
                json!({ "kind": p.kind(), "name": p.component().name, "digest": p.component().digest.full() })
            });
            json!({ "name": w.name, "plugins": plugins })
        })
        .collect();
    let healthy = store.is_ok() && !serving.workflows.is_empty();
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    if let Err(e) = &store {
        tracing::error!(error = %e, "store health check failed");
    }
    let body = json!({
        "status": if healthy { "ok" } else { "unavailable" },
        "store": if store.is_ok() { "ok" } else { "unavailable" },
        "storage": state.orders.store().storage(),
        "events": {
            "relay": relay,
            "backlog": backlog.events,
            "oldest_age_seconds": backlog.oldest_age_seconds(),
        },
        "workflows": workflows,
        "load_errors": serving.errors.values().collect::<Vec<_>>(),
        "hot_reload": state.registry.hot_reload(),
        "replica": {
            "id": state.membership.identity.replica,
            "incarnation": state.membership.identity.incarnation,
            "started_at": state.membership.started_at,
            "relay_shards": state.membership.shards(),
        },
        "replicas": state.membership.live(),
    });
    (status, axum::Json(body))
}
