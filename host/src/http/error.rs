//! The one error type of the API. Its variants are the status codes; the body is always
//! `{"error": {"code", "message", "field"?, "problems"?}}`. Internal failures are logged
//! with their detail and answered with a generic message: a 5xx never leaks internals.

use crate::domain::Problem;
use crate::orders::OrderError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

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
    /// A business rule refused: the problems name the fields.
    #[error("refused")]
    Refused(Vec<Problem>),
    /// A dependency (product service, a plugin, the store) cannot serve now.
    #[error("{code}: {public}")]
    Unavailable {
        code: &'static str,
        public: String,
        detail: String,
    },
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>, field: Option<String>) -> Self {
        ApiError::BadRequest {
            message: message.into(),
            field,
        }
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error) = match &self {
            ApiError::BadRequest { message, field } => (
                StatusCode::BAD_REQUEST,
                json!({ "code": "bad_request", "message": message, "field": field }),
            ),
            ApiError::Unauthorized(message) => (
                StatusCode::UNAUTHORIZED,
                json!({ "code": "unauthorized", "message": message }),
            ),
            ApiError::Forbidden => (
                StatusCode::FORBIDDEN,
                json!({ "code": "forbidden", "message": self.to_string() }),
            ),
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                json!({ "code": "not_found", "message": self.to_string() }),
            ),
            ApiError::Conflict(message) => (
                StatusCode::CONFLICT,
                json!({ "code": "conflict", "message": message }),
            ),
            ApiError::Refused(problems) => {
                // The first problem is the headline; all of them are listed.
                let first = problems.first();
                let error = json!({
                    "code": first.map_or("refused", |p| p.code.as_str()),
                    "message": first.map_or("refused", |p| p.message.as_str()),
                    "field": first.and_then(|p| p.field.clone()),
                    "problems": problems,
                });
                (StatusCode::UNPROCESSABLE_ENTITY, error)
            }
            ApiError::Unavailable {
                code,
                public,
                detail,
            } => {
                tracing::error!(code, detail = %detail, "dependency unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({ "code": code, "message": public }),
                )
            }
        };
        (status, axum::Json(json!({ "error": error }))).into_response()
    }
}
