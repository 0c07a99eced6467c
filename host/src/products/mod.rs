//! Products: availability and the current price of each item, from the product service
//! over HTTP when `PRODUCT_SERVICE_URL` is set, else from a catalog file.
//!
//! The product service's contract: `GET {base}/api/v1/products/{id}` →
//! `200 {"id", "name", "sku", "price", "currency", "stock", "is_active"}` with `price` a
//! decimal number in major units; `404` for an unknown id. Anything else — 5xx, a timeout,
//! malformed JSON — means the service is unavailable, which is not the customer's fault.

mod catalog;
mod client;

pub use catalog::CatalogFile;
pub use client::ProductService;

use crate::domain::{Money, ProductSnapshot};
use async_trait::async_trait;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("product service unavailable: {0}")]
pub struct Unavailable(pub String);

#[async_trait]
pub trait Products: Send + Sync + 'static {
    /// The product now, or None when it does not exist.
    async fn lookup(&self, id: &str) -> Result<Option<ProductSnapshot>, Unavailable>;
}

/// Looks every id up concurrently; the answers keep the order of `ids`. The lookups run
/// as one task: they wait on the network together, with no task spawned per item (for the
/// catalog file, which answers at once, spawning was most of a lookup's cost).
pub async fn lookup_all<'a>(
    products: &Arc<dyn Products>,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Option<ProductSnapshot>>, Unavailable> {
    futures_util::future::try_join_all(ids.into_iter().map(|id| products.lookup(id))).await
}

/// A product as the product service (and the catalog file) write it.
#[derive(Debug, Deserialize)]
struct WireProduct {
    id: String,
    name: String,
    sku: String,
    /// Kept as the number's text, so the conversion to minor units is exact.
    price: serde_json::Number,
    currency: String,
    stock: i64,
    is_active: bool,
}

impl WireProduct {
    fn snapshot(self) -> Result<ProductSnapshot, String> {
        let currency = self
            .currency
            .parse()
            .map_err(|e| format!("product {}: {e}", self.id))?;
        let unit_price = Money::from_decimal(&self.price.to_string(), currency)
            .map_err(|e| format!("product {}: {e}", self.id))?;
        if unit_price.minor < 0 {
            return Err(format!("product {}: negative price", self.id));
        }
        Ok(ProductSnapshot {
            product_id: self.id,
            name: self.name,
            sku: self.sku,
            unit_price,
            stock: self.stock,
            active: self.is_active,
            available: None,
        })
    }
}
