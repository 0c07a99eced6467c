//! The OpenAPI 3.1 description, generated from the handlers and types themselves, served at
//! `/openapi.json` with interactive docs at `/docs`.

use super::{
    admin, changes, error, health, inventory, live, metrics, orders, plugins, replays, trials,
    webhooks, workflows,
};
use utoipa::Modify;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "orderflow",
        description = "Orders whose validation, pricing and lifecycle are decided by WebAssembly plugins. \
                       Money is always integer minor units with an ISO-4217 currency.",
    ),
    paths(
        orders::create, orders::list, orders::one, orders::cancel, orders::events, orders::status_options,
        changes::request, changes::list, changes::confirm, changes::decline, changes::cancel,
        admin::set_status, admin::set_payment, admin::reprice, admin::stats, admin::all,
        inventory::one, inventory::adjust, inventory::reconcile,
        live::orders, live::order,
        webhooks::register, webhooks::list, webhooks::one, webhooks::remove,
        webhooks::deliveries, webhooks::redeliver,
        plugins::list, plugins::one, plugins::upload, plugins::activate, plugins::rollback,
        plugins::history, workflows::list,
        replays::start, replays::list, replays::one, replays::cancel,
        trials::shadow, trials::end_shadow, trials::shadow_report, trials::rollout, trials::end_rollout,
        health::health, health::live, health::ready, metrics::metrics,
    ),
    components(schemas(error::ErrorBody)),
    modifiers(&BearerJwt),
    tags(
        (name = "orders", description = "A customer's orders"),
        (name = "admin", description = "Needs a token with the admin role"),
        (name = "webhooks", description = "Endpoints order events are delivered to (admin role)"),
        (name = "plugins", description = "Plugin operations: what serves, uploads, activation, rollback, history (admin role)"),
        (name = "operations", description = "Health and metrics"),
    ),
)]
pub struct ApiDoc;

struct BearerJwt;

impl Modify for BearerJwt {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        );
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", scheme);
    }
}
