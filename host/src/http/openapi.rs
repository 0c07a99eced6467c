//! The OpenAPI 3.1 description, generated from the handlers and types themselves, served at
//! `/openapi.json` with interactive docs at `/docs`.

use super::{admin, error, health, metrics, orders, plugins, replays, staging};
use std::collections::BTreeMap;
use utoipa::Modify;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "orderflow",
        description = "Orders whose validation, pricing and lifecycle are decided by WebAssembly plugins. \
                       Money is always integer minor units with an ISO-4217 currency.",
    ),
    paths(
        orders::create, orders::list, orders::one, orders::cancel, orders::events, orders::status_options,
        admin::set_status, admin::set_payment, admin::reprice, admin::stats, admin::all,
        plugins::list, plugins::one, plugins::upload, plugins::activate, plugins::rollback,
        plugins::history, plugins::workflows,
        replays::start, replays::list, replays::one, replays::cancel,
        staging::shadow, staging::end_shadow, staging::shadow_report, staging::rollout, staging::end_rollout,
        health::health, metrics::metrics,
    ),
    components(schemas(error::ErrorBody)),
    modifiers(&BearerJwt),
    tags(
        (name = "orders", description = "A customer's orders"),
        (name = "admin", description = "Needs a token with the admin role"),
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

/// Defines the error answers several operations share, as `IntoResponses` types an
/// operation lists in its `responses(...)`: each status is described once, here, and an
/// operation's own tuple after them overrides the description where it says more.
macro_rules! error_responses {
    ($($(#[$meta:meta])* $name:ident { $($status:literal => $description:literal),+ $(,)? })*) => {$(
        $(#[$meta])*
        pub struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                [$(($status, $description)),+].into_iter().map(error_response).collect()
            }
        }
    )*};
}

/// A response of `status` whose body is the API's [`error::ErrorBody`].
fn error_response((status, description): (&str, &str)) -> (String, RefOr<Response>) {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorBody")))
        .build();
    let response = ResponseBuilder::new()
        .description(description)
        .content("application/json", content)
        .build();
    (status.to_owned(), response.into())
}

error_responses! {
    /// A parameter, header or body the service cannot read (the extractors' errors).
    BadRequest { "400" => "Malformed request: a parameter, header or body it cannot read; `field` names it" }
    /// Every operation that takes a bearer token.
    Unauthorized { "401" => "No bearer token, or not a valid one" }
    /// Every operation that takes the admin role.
    Forbidden { "403" => "The token does not carry the admin role" }
    NotFound { "404" => "No such resource" }
    /// What the body middleware answers on every route before a handler runs.
    BodyLimits {
        "408" => "The body did not arrive within the time allowed",
        "413" => "The body is larger than this route accepts",
    }
    /// The JSON extractor's refusal of any other content type.
    NotJson { "415" => "The body is not JSON (`Content-Type: application/json`)" }
    /// An operation that needs the store, a plugin or another service.
    Unavailable { "503" => "A dependency (the store, a plugin, the plugin archive, the product or user service) cannot serve now; `code` says which, and nothing was written" }
}

/// An operation whose body is JSON: the body middleware's answers and the extractor's.
pub struct JsonBody;

impl utoipa::IntoResponses for JsonBody {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut responses = BodyLimits::responses();
        responses.extend(NotJson::responses());
        responses
    }
}
