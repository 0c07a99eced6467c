//! The health probes, answered from figures the service keeps ([`Vitals`]), never from the
//! store: a probe answers at once however slow the store is.
//!
//! - `/health/live`: the process serves requests (a liveness probe: restart it if not);
//! - `/health/ready`: it can take orders: the store answered its last ping and a workflow
//!   is loaded (a readiness probe: send it traffic only if so);
//! - `/health`: everything at once, for people: store, relay, backlog, plugins, replicas.
//!
//! [`Vitals`]: crate::vitals::Vitals

use super::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::json;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
}

type Probe = (StatusCode, axum::Json<serde_json::Value>);

/// Whether the store answered its last ping and a workflow serves, and why not.
fn readiness(state: &AppState) -> Result<(), &'static str> {
    if !state.vitals.store_ok() {
        return Err("the store does not answer");
    }
    if state.registry.current().workflows.is_empty() {
        return Err("no workflow is loaded");
    }
    Ok(())
}

fn status(ready: bool) -> StatusCode {
    match ready {
        true => StatusCode::OK,
        false => StatusCode::SERVICE_UNAVAILABLE,
    }
}

#[utoipa::path(get, path = "/health/live", operation_id = "get_liveness", tag = "operations",
    responses((status = 200, description = "The process serves requests")))]
async fn live() -> Probe {
    (StatusCode::OK, axum::Json(json!({ "status": "ok" })))
}

#[utoipa::path(get, path = "/health/ready", operation_id = "get_readiness", tag = "operations",
    responses((status = 200, description = "Ready to take orders"),
        (status = 503, description = "The store does not answer, or no workflow is loaded")))]
async fn ready(State(state): State<AppState>) -> Probe {
    let ready = readiness(&state);
    let body = match ready {
        Ok(()) => json!({ "status": "ok" }),
        Err(why) => json!({ "status": "unavailable", "reason": why }),
    };
    (status(ready.is_ok()), axum::Json(body))
}

/// Store, plugin and event relay status. The relay's state does not make the service
/// unhealthy: orders are still accepted while the broker is away, their events wait.
#[utoipa::path(get, path = "/health", operation_id = "get_health", tag = "operations",
    responses((status = 200, description = "Serving"), (status = 503, description = "The store does not answer, or no workflow is loaded")))]
async fn health(State(state): State<AppState>) -> Probe {
    let figures = state.vitals.figures();
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
    let ready = readiness(&state);
    let store_ok = state.vitals.store_ok();
    let body = json!({
        "status": if ready.is_ok() { "ok" } else { "unavailable" },
        "store": if store_ok { "ok" } else { "unavailable" },
        "store_seen_at": figures.store_seen_at,
        "storage": state.orders.store().storage(),
        "events": {
            "relay": relay,
            "backlog": figures.backlog.events,
            "oldest_age_seconds": figures.backlog.oldest_age_seconds(),
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
    (status(ready.is_ok()), axum::Json(body))
}
