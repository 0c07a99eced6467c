use super::{Products, Unavailable, WireProduct};
use crate::domain::ProductSnapshot;
use async_trait::async_trait;
use std::time::Duration;

/// The product service over HTTP: a timeout on every request, and a bounded number of
/// retries with backoff for what may pass (5xx, timeouts, refused connections).
pub struct ProductService {
    client: reqwest::Client,
    base: String,
    retries: u32,
}

impl ProductService {
    pub fn new(base: &str, timeout: Duration, retries: u32) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder().timeout(timeout).build()?;
        Ok(ProductService {
            client,
            base: base.trim_end_matches('/').to_owned(),
            retries,
        })
    }

    async fn attempt(&self, id: &str) -> Result<Option<ProductSnapshot>, Attempt> {
        let url = format!("{}/api/v1/products/{id}", self.base);
        let response = self
            .client
            .get(&url)
            .send()
            .await
            .map_err(|e| Attempt::Retry(e.to_string()))?;
        match response.status().as_u16() {
            200 => {
                let body = response
                    .bytes()
                    .await
                    .map_err(|e| Attempt::Retry(e.to_string()))?;
                let wire: WireProduct = serde_json::from_slice(&body)
                    .map_err(|e| Attempt::Fail(format!("malformed product {id}: {e}")))?;
                if wire.id != id {
                    return Err(Attempt::Fail(format!(
                        "asked for product {id}, got {}",
                        wire.id
                    )));
                }
                wire.snapshot().map(Some).map_err(Attempt::Fail)
            }
            404 => Ok(None),
            status @ 500..=599 => Err(Attempt::Retry(format!("status {status}"))),
            status => Err(Attempt::Fail(format!("status {status} for product {id}"))),
        }
    }
}

enum Attempt {
    /// Worth trying again.
    Retry(String),
    Fail(String),
}

#[async_trait]
impl Products for ProductService {
    async fn lookup(&self, id: &str) -> Result<Option<ProductSnapshot>, Unavailable> {
        // An id that cannot be a path segment cannot name a product.
        if id.is_empty()
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Ok(None);
        }
        let mut backoff = Duration::from_millis(50);
        for attempt in 0..=self.retries {
            match self.attempt(id).await {
                Ok(found) => return Ok(found),
                Err(Attempt::Fail(why)) => return Err(Unavailable(why)),
                Err(Attempt::Retry(why)) if attempt == self.retries => {
                    return Err(Unavailable(why));
                }
                Err(Attempt::Retry(why)) => {
                    tracing::debug!(product = id, attempt, error = %why, "retrying the product service");
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                }
            }
        }
        unreachable!("the last attempt returns")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::{Path, State};
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A real product service on a free port: `flaky-N` fails N times before answering,
    /// `slow` answers after 2 s, `garbage` sends invalid JSON, `down` always fails.
    async fn product_service() -> String {
        let failures = Arc::new(AtomicU32::new(0));
        let app = axum::Router::new()
            .route(
                "/api/v1/products/{id}",
                axum::routing::get(|Path(id): Path<String>, State(failures): State<Arc<AtomicU32>>| async move {
                    let product = |price: &str| {
                        format!(r#"{{"id":"{id}","name":"Widget","sku":"W-1","price":{price},"currency":"USD","stock":7,"is_active":true}}"#)
                    };
                    let ok = |body: String| ([("content-type", "application/json")], body).into_response();
                    match id.as_str() {
                        "widget" => ok(product("19.99")),
                        "down" => StatusCode::SERVICE_UNAVAILABLE.into_response(),
                        "garbage" => ok("{not json".into()),
                        "fractional" => ok(product("1.005")),
                        "slow" => {
                            tokio::time::sleep(Duration::from_secs(2)).await;
                            ok(product("1"))
                        }
                        id if id.starts_with("flaky-") => {
                            let needed: u32 = id[6..].parse().unwrap();
                            if failures.fetch_add(1, Ordering::SeqCst) < needed {
                                StatusCode::INTERNAL_SERVER_ERROR.into_response()
                            } else {
                                ok(product("5"))
                            }
                        }
                        _ => Response::builder().status(404).body(axum::body::Body::empty()).unwrap(),
                    }
                }),
            )
            .with_state(failures);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        base
    }

    fn client(base: &str) -> ProductService {
        ProductService::new(base, Duration::from_millis(300), 2).unwrap()
    }

    #[tokio::test]
    async fn answers_of_the_product_service() {
        let base = product_service().await;
        let products = client(&base);
        let widget = products.lookup("widget").await.unwrap().unwrap();
        assert_eq!(
            (widget.unit_price.minor, widget.stock, widget.active),
            (1999, 7, true)
        );
        assert_eq!(products.lookup("unknown").await.unwrap(), None);
        assert_eq!(products.lookup("../etc").await.unwrap(), None);
        assert!(
            products
                .lookup("garbage")
                .await
                .unwrap_err()
                .0
                .contains("malformed")
        );
        // A price finer than the currency's minor unit is refused, not rounded.
        assert!(products.lookup("fractional").await.is_err());
    }

    #[tokio::test]
    async fn passing_failures_are_retried_and_lasting_ones_reported() {
        let base = product_service().await;
        assert_eq!(
            client(&base)
                .lookup("flaky-2")
                .await
                .unwrap()
                .unwrap()
                .unit_price
                .minor,
            500
        );
        assert!(
            client(&base)
                .lookup("down")
                .await
                .unwrap_err()
                .0
                .contains("503")
        );
        let started = std::time::Instant::now();
        assert!(client(&base).lookup("slow").await.is_err());
        assert!(
            started.elapsed() < Duration::from_millis(1900),
            "timeouts bound every attempt"
        );
    }

    #[tokio::test]
    async fn a_service_that_is_not_there_is_unavailable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        assert!(client(&base).lookup("widget").await.is_err());
    }

    #[tokio::test]
    async fn lookups_run_concurrently_and_keep_their_order() {
        let base = product_service().await;
        let products: Arc<dyn Products> = Arc::new(client(&base));
        let ids = ["widget", "unknown", "widget"];
        let found = super::super::lookup_all(&products, ids).await.unwrap();
        assert_eq!(
            found.iter().map(Option::is_some).collect::<Vec<_>>(),
            [true, false, true]
        );
        let with_down = ["widget", "down"];
        assert!(
            super::super::lookup_all(&products, with_down)
                .await
                .is_err()
        );
    }
}
