//! What every request meets around its handler: the body read whole within the route's
//! size and time limits, a panic turned into a 500, and whatever the framework answers by
//! itself (an unknown method, a path it cannot decode) put into the API's error shape.

use super::ApiError;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::LengthLimitError;
use std::time::Duration;

/// How big a route's body may be and how long it may take to arrive.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    pub max_bytes: usize,
    pub timeout: Duration,
}

/// Reads the body before the handler runs, so that a body too large is a 413 whether or
/// not it says its length, and one sent a byte now and then is a 408 instead of holding a
/// task and a connection for as long as the client likes.
pub async fn read_body(State(limits): State<BodyLimits>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let too_large = ApiError::PayloadTooLarge {
        limit: limits.max_bytes,
    };
    match declared_length(&parts.headers) {
        Some(length) if length > limits.max_bytes as u64 => return unread(too_large),
        Some(0) => return next.run(Request::from_parts(parts, body)).await,
        None if !parts.headers.contains_key(header::TRANSFER_ENCODING) => {
            return next.run(Request::from_parts(parts, body)).await;
        }
        _ => {}
    }
    let read = tokio::time::timeout(limits.timeout, axum::body::to_bytes(body, limits.max_bytes));
    match read.await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Err(e)) if is_length_limit(&e) => unread(too_large),
        Ok(Err(_)) => unread(ApiError::bad_request("the body could not be read", None)),
        Err(_) => unread(ApiError::Timeout(limits.timeout.as_millis())),
    }
}

/// The answer to a request whose body was left (partly) unread: the connection cannot carry
/// another request after it, and says so, so that a client does not send its next request
/// on a connection about to close (it would see it fail, not answered).
fn unread(error: ApiError) -> Response {
    let mut response = error.into_response();
    (response.headers_mut()).insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    response
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(e) = source {
        if e.is::<LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// A panicking handler answers a 500 in the API's shape; what panicked goes to the log.
pub fn panicked(panic: Box<dyn std::any::Any + Send>) -> Response {
    tracing::error!(
        panic = crate::panic_message(panic.as_ref()),
        "a request handler panicked"
    );
    ApiError::Internal.into_response()
}

/// Errors the framework answers by itself come with an empty or plain-text body: they get
/// the API's JSON error body, keeping their status and headers (`Allow` on a 405).
pub async fn json_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if status.as_u16() < 400 || is_json {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let error = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            let allowed = parts
                .headers
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            ApiError::MethodNotAllowed(format!("{method} is not allowed here; allowed: {allowed}"))
        }
        StatusCode::NOT_FOUND => ApiError::NotFound,
        s if s.is_server_error() => ApiError::Internal,
        s => ApiError::Framework(s),
    };
    let (fresh, body) = error.into_response().into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.extend(fresh.headers);
    let mut response = Response::from_parts(parts, body);
    // The status stays the framework's (a 4xx it chose is the right one).
    *response.status_mut() = status;
    response
}
