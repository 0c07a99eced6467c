//! The error answers operations share, as the OpenAPI document lists them: each status
//! described once, here, for the handlers' `responses(...)`.

use std::collections::BTreeMap;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

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
