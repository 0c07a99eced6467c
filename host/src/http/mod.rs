//! The REST API: one module per resource, each with its `router()`, merged here.

mod admin;
pub mod auth;
mod changes;
pub mod claims;
pub mod console;
mod edge;
mod error;
mod extract;
mod health;
mod inventory;
pub mod jwks;
mod live;
mod metrics;
mod openapi;
mod orders;
mod params;
mod plugins;
mod replays;
mod responses;
pub mod server;
mod trials;
mod webhooks;
mod workflows;

pub use auth::Auth;
pub use error::ApiError;

use crate::orders::OrderService;

use crate::operations::deploy::Deployer;
use crate::operations::dry_run::Repricer;
use crate::operations::replays::Replays;
use crate::operations::shadows::Shadows;
use crate::plugins::Registry;
use crate::relay::RelayStatus;
use crate::replicas::Membership;
use crate::vitals::Vitals;
use axum::Router;
use axum::http::{HeaderName, HeaderValue};
use edge::BodyLimits;
use openapi::ApiDoc;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_scalar::{Scalar, Servable};

/// What every handler shares, behind one reference count: axum clones the state for each
/// request and drops it after, and with a count per service that was ~5 % of a GET's CPU
/// (perf, 2026-12-06).
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    pub fn new(services: Services) -> Self {
        AppState(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

pub struct Services {
    pub orders: Arc<OrderService>,
    /// The live streams of order events.
    pub streams: Arc<crate::live::streams::Streams>,
    /// The webhook endpoints.
    pub webhooks: Arc<crate::live::webhooks::Webhooks>,
    pub repricer: Arc<Repricer>,
    /// Replays of stored plugin versions over past orders.
    pub replays: Arc<Replays>,
    /// The shadows staged plugin versions run on live orders, and what they found.
    pub shadows: Arc<Shadows>,
    pub auth: Arc<Auth>,
    pub registry: Arc<Registry>,
    /// The registry's plugin operations (upload, activate, roll back).
    pub deployer: Arc<Deployer>,
    /// The Kafka relay's state; None: Kafka is disabled.
    pub relay: Option<Arc<Mutex<RelayStatus>>>,
    /// This replica, and the replicas alive with it.
    pub membership: Arc<Membership>,
    /// What the health probes answer from.
    pub vitals: Arc<Vitals>,
}

/// Counts every routed request by its route pattern (not its path: ids would explode the
/// label space).
async fn track(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    // Both clones share what they copy (an `Arc<str>`, a standard method's constant).
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .cloned();
    let method = request.method().clone();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    crate::metrics::metrics().request(
        method.as_str(),
        route.as_ref().map_or("unmatched", |p| p.as_str()),
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// Every route's requests counted, and a panicking handler answered with a JSON 500 (inside
/// `track`, so that the panic is counted as the 500 it answers).
fn observed<S: Clone + Send + Sync + 'static>(routes: Router<S>) -> Router<S> {
    routes
        .route_layer(CatchPanicLayer::custom(edge::panicked))
        .route_layer(axum::middleware::from_fn(track))
}

/// Orders are small; anything bigger than this is not an order.
const BODY_LIMIT: usize = 256 * 1024;

/// The whole API. `cors_origins`: origins allowed to call it from a browser (`*`: any);
/// `body_timeout`: how long a request body may take to arrive.
pub fn router(state: AppState, cors_origins: &[String], body_timeout: Duration) -> Router {
    let body = |max_bytes| {
        axum::middleware::from_fn_with_state(
            BodyLimits {
                max_bytes,
                timeout: body_timeout,
            },
            edge::read_body,
        )
    };
    let request_id = HeaderName::from_static("x-request-id");
    let cors = if cors_origins.iter().any(|o| o == "*") {
        CorsLayer::permissive()
    } else {
        let origins: Vec<HeaderValue> =
            cors_origins.iter().filter_map(|o| o.parse().ok()).collect();
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods(tower_http::cors::Any)
            .allow_headers(tower_http::cors::Any)
    };
    let api = Router::new()
        .merge(
            orders::router()
                .merge(admin::router())
                .merge(changes::router())
                .merge(inventory::router())
                .route_layer(body(BODY_LIMIT)),
        )
        .merge(live::router())
        .merge(plugins::router().route_layer(body(plugins::COMPONENT_LIMIT)))
        .merge(replays::router().route_layer(body(BODY_LIMIT)))
        .merge(trials::router().route_layer(body(BODY_LIMIT)))
        .merge(workflows::router().route_layer(body(BODY_LIMIT)))
        .merge(webhooks::router().route_layer(body(BODY_LIMIT)))
        .merge(health::router())
        .merge(metrics::router());
    observed(api)
        .with_state(state)
        .route("/openapi.json", axum::routing::get(|| async { axum::Json(ApiDoc::openapi()) }))
        .merge(Scalar::with_url("/docs", ApiDoc::openapi()))
        .merge(console::router())
        .fallback(|| async { ApiError::NotFound })
        .layer(axum::middleware::from_fn(edge::json_errors))
        .layer(cors)
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
            let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn panics() -> &'static str {
        panic!("a secret detail")
    }

    #[tokio::test]
    async fn a_panicking_handler_is_a_counted_json_500_that_shows_nothing() {
        let app = observed(Router::new().route("/test/panics", axum::routing::get(panics)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/test/panics", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        for _ in 0..2 {
            let response = reqwest::get(&url).await.unwrap();
            assert_eq!(response.status(), 500);
            let body = response.text().await.unwrap();
            let error: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(error["error"]["code"], "internal", "{body}");
            assert!(!body.contains("secret"), "{body}");
        }
        // The server lives on, and counted both.
        let counted = crate::metrics::metrics().render();
        assert!(
            counted
                .lines()
                .any(|l| l.starts_with("orderflow_http_requests_total")
                    && l.contains("/test/panics")
                    && l.contains("500")
                    && l.ends_with(" 2")),
            "{counted}"
        );
    }
}
