//! One try of a delivery: a signed POST of the event's envelope to the endpoint's URL,
//! over a client that connects only to addresses the service may reach (checked on what
//! the name resolves to at that moment, so a name that later resolves to a private address
//! is refused) and follows no redirect (which could lead there too).

use super::delivery::{Delivery, EXCERPT, Try};
use super::endpoint::Endpoint;
use super::signature;
use super::target::Targets;
use chrono::Utc;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Resolves names as the system does, keeping only the addresses `Targets` allows.
struct Guarded(Targets);

impl Resolve for Guarded {
    fn resolve(&self, name: Name) -> Resolving {
        let targets = self.0;
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|address| targets.allowed(address.ip()).is_ok())
                .collect();
            if found.is_empty() {
                let refused = format!(
                    "{} resolves to no address deliveries may go to",
                    name.as_str()
                );
                return Err(refused.into());
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

/// The client deliveries are sent with.
pub struct Sender {
    client: reqwest::Client,
    targets: Targets,
}

impl Sender {
    /// A receiver has `timeout` to answer.
    pub fn new(targets: Targets, timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(Guarded(targets)))
            .user_agent(concat!("orderflow-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a client with no TLS settings of its own builds");
        Sender { client, targets }
    }

    /// Tries `delivery` at `endpoint`: what happened, to record.
    pub async fn send(&self, endpoint: &Endpoint, delivery: &Delivery) -> Try {
        let at = Utc::now();
        let started = Instant::now();
        let (status, excerpt) = match self.post(endpoint, delivery, at.timestamp()).await {
            Ok((status, body)) => (Some(status), body),
            Err(why) => (None, why),
        };
        Try {
            at,
            status,
            latency_ms: started.elapsed().as_millis() as u64,
            excerpt,
        }
    }

    async fn post(
        &self,
        endpoint: &Endpoint,
        delivery: &Delivery,
        unix_seconds: i64,
    ) -> Result<(u16, String), String> {
        // A literal address is not resolved: it is checked here.
        self.targets
            .parse(&endpoint.url)
            .map_err(|e| e.to_string())?;
        let body = delivery.body.as_bytes().to_vec();
        let signed = signature::sign(&endpoint.secret, unix_seconds, &body);
        let response = (self.client.post(&endpoint.url))
            .header("content-type", "application/json")
            .header(signature::HEADER, signed)
            .header("orderflow-delivery", delivery.id.to_string())
            .header("orderflow-event", &delivery.event_type)
            .body(body)
            .send()
            .await
            .map_err(|e| excerpt(&error_chain(&e)))?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        Ok((status, excerpt(&text)))
    }
}

/// An error with its causes: "error sending request" alone says nothing.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}
