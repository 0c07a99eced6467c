//! Path and query parameters several routes share, parsed once here: an order id, a page,
//! a plugin's name, a version's digest.

use super::ApiError;
use crate::domain::{Digest, PluginName};
use crate::orders::OrderId;
use serde::Deserialize;

/// Ids that cannot be an order are not found, like ids of someone else's orders.
pub(super) fn order_id(raw: &str) -> Result<OrderId, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound)
}

/// Page and page size, checked: 1-based pages of 1 to 100 orders.
pub(super) fn paging(page: Option<u32>, page_size: Option<u32>) -> Result<(u32, u32), ApiError> {
    let page = page.unwrap_or(1);
    let size = page_size.unwrap_or(20);
    if page == 0 {
        return Err(ApiError::bad_request(
            "page starts at 1",
            Some("page".into()),
        ));
    }
    if !(1..=100).contains(&size) {
        return Err(ApiError::bad_request(
            "page_size must be between 1 and 100",
            Some("page_size".into()),
        ));
    }
    Ok((page, size))
}

/// The `{name}` of every plugin route, as the deployer checks it (it becomes a file name).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct PluginPath {
    /// Lowercase letters, digits, `-` and `_`, at most 64 characters.
    #[param(pattern = "^[a-z0-9_-]{1,64}$")]
    pub(super) name: String,
}

/// The deployer checks a name where it writes; the reading routes check it here, before it
/// becomes a path to read (`..` would be one), by the same rule.
pub(super) fn plugin_name(name: String) -> Result<String, ApiError> {
    PluginName::parse(&name)
        .map(|_| name)
        .map_err(|e| ApiError::bad_request(e.to_string(), Some("name".into())))
}

/// A version as the API names it; a malformed one is a 400 naming `field`.
pub(super) fn digest(raw: &str, field: &str) -> Result<Digest, ApiError> {
    Digest::parse(raw)
        .ok_or_else(|| ApiError::bad_request("expected sha256:<64 hex digits>", Some(field.into())))
}

/// The `Idempotency-Key` header, if sent: 1 to 255 visible characters (spaces and tabs only
/// inside), trimmed.
pub(super) fn idempotency_key(headers: &axum::http::HeaderMap) -> Result<Option<String>, ApiError> {
    Ok(match headers.get("idempotency-key") {
        None => None,
        Some(value) => {
            let key = value
                .to_str()
                .ok()
                .map(str::trim)
                .filter(|k| !k.is_empty() && k.len() <= 255);
            Some(
                key.ok_or_else(|| {
                    ApiError::bad_request(
                        "Idempotency-Key must be 1 to 255 visible characters",
                        Some("Idempotency-Key".into()),
                    )
                })?
                .to_owned(),
            )
        }
    })
}
