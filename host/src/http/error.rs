//! The one error type of the API. Its variants are the status codes; the body is always
//! `{"error": {"code", "message", "field"?, "problems"?}}`. Internal failures are logged
//! with their detail and answered with a generic message: a 5xx never leaks internals.

use crate::domain::Problem;
use crate::domain::StoreError;
use crate::operations::deploy::DeployError;
use crate::orders::CustomerError;
use crate::orders::OrderError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed request: bad JSON, a wrong type, a missing field.
    #[error("{message}")]
    BadRequest {
        message: String,
        field: Option<String>,
    },
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("this needs the admin role")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(&'static str),
    /// What the request names is no longer kept.
    #[error("{0}")]
    Gone(&'static str),
    /// A business rule refused: the problems name the fields.
    #[error("refused")]
    Refused(Vec<Problem>),
    /// The body is over the route's limit.
    #[error("the body is larger than the {limit} bytes this route accepts")]
    PayloadTooLarge { limit: usize },
    /// The body is not of the type the route reads.
    #[error("{0}")]
    UnsupportedMediaType(&'static str),
    /// The route exists, the method does not (the `Allow` header lists those that do).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The body did not arrive in time.
    #[error("the request body did not arrive within {0} ms")]
    Timeout(u128),
    /// Any other client error the framework found before a handler ran.
    #[error("{}", .0.canonical_reason().unwrap_or("the request cannot be served"))]
    Framework(StatusCode),
    /// A handler panicked; the panic is logged, the caller learns nothing of it.
    #[error("an internal error occurred; it has been logged")]
    Internal,
    /// A dependency (product service, a plugin, the store) cannot serve now.
    #[error("{code}: {public}")]
    Unavailable {
        code: &'static str,
        public: String,
        detail: String,
    },
}

impl ApiError {
    /// The API's answer to a failed operation; `field` names what was at fault.
    pub fn deploy(e: DeployError, field: Option<&str>) -> ApiError {
        let refused = |code: &str, message: String, field: Option<&str>| {
            ApiError::Refused(vec![Problem {
                code: code.into(),
                message,
                field: field.map(Into::into),
            }])
        };
        match e {
            DeployError::BadName(_) => ApiError::bad_request(e.to_string(), Some("name".into())),
            DeployError::NotServing(_) => ApiError::NotFound,
            DeployError::Rejected(_) => refused("plugin_rejected", e.to_string(), field),
            DeployError::UnknownVersion { .. } => refused("unknown_version", e.to_string(), field),
            DeployError::NothingToRollBack(_) => {
                ApiError::Conflict("there is no earlier version to roll back to")
            }
            DeployError::Concurrent(_) => ApiError::Conflict(
                "another replica changed the active version meanwhile; read it again and retry",
            ),
            DeployError::NoArchive | DeployError::Archive(_) => ApiError::Unavailable {
                code: "plugin_archive_unavailable",
                public: "the plugin version archive is unavailable; nothing was changed".into(),
                detail: e.to_string(),
            },
        }
    }

    pub fn bad_request(message: impl Into<String>, field: Option<String>) -> Self {
        ApiError::BadRequest {
            message: message.into(),
            field,
        }
    }
}

/// A failed operation with no field of the request to blame.
impl From<DeployError> for ApiError {
    fn from(e: DeployError) -> Self {
        ApiError::deploy(e, None)
    }
}

/// A store failing is the service unavailable, as for an order.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::from(OrderError::from(e))
    }
}

impl From<OrderError> for ApiError {
    fn from(e: OrderError) -> Self {
        match e {
            OrderError::Refused(problems) => ApiError::Refused(problems),
            OrderError::NotFound => ApiError::NotFound,
            OrderError::Conflict => {
                ApiError::Conflict("the order was changed by someone else; reload it and try again")
            }
            OrderError::ChangeClosed(why) => ApiError::Conflict(why),
            OrderError::KeyReused => {
                ApiError::Conflict("this Idempotency-Key was used for a different request")
            }
            OrderError::Plugin(fault) => ApiError::Unavailable {
                code: "plugin_unavailable",
                // Naming the plugin and version is what ops need; the fault's detail stays in the log.
                public: format!(
                    "the {} plugin ({}) could not decide; nothing was written",
                    fault.plugin, fault.digest
                ),
                detail: fault.to_string(),
            },
            OrderError::Customer(CustomerError::Rejected) => {
                ApiError::Unauthorized("the user service does not know this token")
            }
            OrderError::Customer(CustomerError::Unavailable(detail)) => ApiError::Unavailable {
                code: "user_service_unavailable",
                public: "the user service is unavailable; nothing was written".into(),
                detail,
            },
            OrderError::ProductsUnavailable(detail) => ApiError::Unavailable {
                code: "product_service_unavailable",
                public: "the product service is unavailable; nothing was written".into(),
                detail,
            },
            OrderError::NoWorkflow(name) => ApiError::Unavailable {
                code: "workflow_unavailable",
                public: "the order workflow is not loaded".into(),
                detail: name,
            },
            OrderError::StoreUnavailable(detail) => ApiError::Unavailable {
                code: "store_unavailable",
                public: "the order store is unavailable".into(),
                detail,
            },
        }
    }
}

/// Every error answer: `{"error": {...}}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable: `bad_request`, `unauthorized`, `forbidden`, `not_found`, `conflict`,
    /// a plugin's refusal code (`insufficient_stock`, …), or `…_unavailable`.
    code: String,
    message: String,
    /// The request field at fault, e.g. `items[0].quantity`.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    /// Every problem a business rule found (422 only), the first [`MAX_PROBLEMS`] of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    problems: Option<Vec<Problem>>,
    /// How many more problems there were than are listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    problems_omitted: Option<usize>,
}

/// Problems listed in one answer at most: a client marks the fields it shows, and an
/// order of a thousand bad lines must not make a body of hundreds of kilobytes.
pub const MAX_PROBLEMS: usize = 50;

fn detail(code: &str, message: impl Into<String>) -> ErrorDetail {
    ErrorDetail {
        code: code.into(),
        message: message.into(),
        field: None,
        problems: None,
        problems_omitted: None,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error) = match self {
            ApiError::BadRequest { message, field } => (
                StatusCode::BAD_REQUEST,
                ErrorDetail {
                    field,
                    ..detail("bad_request", message)
                },
            ),
            ApiError::Unauthorized(message) => {
                (StatusCode::UNAUTHORIZED, detail("unauthorized", message))
            }
            ApiError::Forbidden => (
                StatusCode::FORBIDDEN,
                detail("forbidden", ApiError::Forbidden.to_string()),
            ),
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                detail("not_found", ApiError::NotFound.to_string()),
            ),
            ApiError::Conflict(message) => (StatusCode::CONFLICT, detail("conflict", message)),
            ApiError::Gone(message) => (StatusCode::GONE, detail("gone", message)),
            ApiError::Refused(mut problems) => {
                // The first problem is the headline; the first MAX_PROBLEMS are listed.
                let first = problems.first().cloned();
                let omitted = problems.len().saturating_sub(MAX_PROBLEMS);
                problems.truncate(MAX_PROBLEMS);
                let error = ErrorDetail {
                    code: first.as_ref().map_or("refused".into(), |p| p.code.clone()),
                    message: first
                        .as_ref()
                        .map_or("refused".into(), |p| p.message.clone()),
                    field: first.and_then(|p| p.field),
                    problems: Some(problems),
                    problems_omitted: (omitted > 0).then_some(omitted),
                };
                (StatusCode::UNPROCESSABLE_ENTITY, error)
            }
            e @ ApiError::PayloadTooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                detail("payload_too_large", e.to_string()),
            ),
            ApiError::UnsupportedMediaType(message) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                detail("unsupported_media_type", message),
            ),
            ApiError::MethodNotAllowed(message) => (
                StatusCode::METHOD_NOT_ALLOWED,
                detail("method_not_allowed", message),
            ),
            e @ ApiError::Timeout(_) => (
                StatusCode::REQUEST_TIMEOUT,
                detail("request_timeout", e.to_string()),
            ),
            e @ ApiError::Framework(status) => {
                let code = e.to_string().to_lowercase().replace([' ', '-'], "_");
                (status, detail(&code, e.to_string()))
            }
            ApiError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                detail("internal", ApiError::Internal.to_string()),
            ),
            ApiError::Unavailable {
                code,
                public,
                detail: internal,
            } => {
                tracing::error!(code, detail = %internal, "dependency unavailable");
                (StatusCode::SERVICE_UNAVAILABLE, detail(code, public))
            }
        };
        (status, axum::Json(ErrorBody { error })).into_response()
    }
}
