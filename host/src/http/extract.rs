//! Body and query extractors whose errors name the field at fault
//! (`items[0].quantity: invalid type …`), as a 400.

use super::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

fn field_error<E: std::fmt::Display>(e: serde_path_to_error::Error<E>) -> ApiError {
    let path = e.path().to_string();
    let field = (path != "." && !path.is_empty()).then_some(path);
    ApiError::bad_request(e.into_inner().to_string(), field)
}

/// A JSON body: an object (or, for [`OptionalJson`], `null`), as every body this API reads
/// is. serde would also read a struct from an array of its fields in order
/// (`["shipped", null]`), which no client means and the document does not allow.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType(
                "the body must be JSON (Content-Type: application/json)",
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text(), None))?;
        if bytes.trim_ascii_start().starts_with(b"[") {
            return Err(ApiError::bad_request(
                "the body must be a JSON object",
                None,
            ));
        }
        // Tracking the path costs an allocation per field, so only a body that fails is
        // read again to find where.
        match serde_json::from_slice(&bytes) {
            Ok(value) => Ok(Json(value)),
            Err(_) => Err(body_error::<T>(&bytes)),
        }
    }
}

/// `application/json`, or a JSON-based type (`application/problem+json`), any parameters.
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json") || {
        let essence = essence.to_ascii_lowercase();
        essence.starts_with("application/") && essence.ends_with("+json")
    }
}

/// Why `bytes` is not a `T`, naming the field at fault.
fn body_error<T: DeserializeOwned>(bytes: &[u8]) -> ApiError {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Err(e) => field_error(e),
        Ok(_) => match deserializer.end() {
            Err(e) => ApiError::bad_request(e.to_string(), None),
            // Unreachable: serde_json refused these bytes the first time.
            Ok(()) => ApiError::bad_request("the body is not valid JSON", None),
        },
    }
}

/// A JSON body that may be left out entirely, or be `null` (then `T::default()`).
pub struct OptionalJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let has_body = req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .is_some_and(|l| l != "0")
            || req
                .headers()
                .contains_key(axum::http::header::TRANSFER_ENCODING);
        if !has_body {
            return Ok(OptionalJson(T::default()));
        }
        Json::<Option<T>>::from_request(req, state)
            .await
            .map(|Json(value)| OptionalJson(value.unwrap_or_default()))
    }
}

/// Query parameters.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(Query)
            .map_err(field_error)
    }
}
