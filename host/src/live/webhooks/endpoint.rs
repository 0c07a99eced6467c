//! A webhook endpoint: where deliveries go, which events it takes, and the secret they are
//! signed with. Parsed once from what an admin sends; the API never shows the secret again
//! after the answer that registered it.

use super::target::{Refusal, Targets};
use crate::domain::Problem;
use crate::live::Position;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The events the service emits by itself (a custom workflow's lifecycle may emit others:
/// an endpoint takes those through `*` or their family's `order.*`).
pub const EVENT_TYPES: [&str; 16] = [
    "order.created",
    "order.confirmed",
    "order.cancelled",
    "order.shipped",
    "order.delivered",
    "order.payment_completed",
    "order.payment_failed",
    "order.change_requested",
    "order.changed",
    "order.change_declined",
    "order.change_cancelled",
    "order.return_requested",
    "order.return_received",
    "order.refunded",
    "order.reservation_expired",
    crate::orders::STOCK_LOW,
];

/// Families of events an endpoint may take whole (`order.*`).
const FAMILIES: [&str; 2] = ["order", "stock"];
/// Shortest secret accepted: HMAC's key should be as long as its output to be worth it.
const SECRET_MIN: usize = 24;
const SECRET_MAX: usize = 256;
const DESCRIPTION_MAX: usize = 200;
/// Event types an endpoint may list.
const EVENTS_MAX: usize = 32;

/// Which events an endpoint takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Takes {
    All,
    Family(String),
    One(String),
}

impl Takes {
    fn parse(text: &str) -> Option<Takes> {
        if text == "*" {
            return Some(Takes::All);
        }
        if let Some(family) = text.strip_suffix(".*") {
            return FAMILIES
                .contains(&family)
                .then(|| Takes::Family(family.to_owned()));
        }
        EVENT_TYPES
            .contains(&text)
            .then(|| Takes::One(text.to_owned()))
    }

    pub fn covers(&self, event_type: &str) -> bool {
        match self {
            Takes::All => true,
            Takes::Family(family) => event_type
                .strip_prefix(family.as_str())
                .is_some_and(|rest| rest.starts_with('.')),
            Takes::One(one) => one == event_type,
        }
    }
}

/// A registered endpoint, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    pub id: Uuid,
    pub url: String,
    /// As registered: event types, `order.*`, `*`.
    pub events: Vec<String>,
    pub secret: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    /// Where the commits stood when it was registered: it takes the events after.
    pub from: Position,
}

impl Endpoint {
    /// Whether deliveries of `event_type` go to this endpoint.
    pub fn takes(&self, event_type: &str) -> bool {
        (self.events.iter())
            .filter_map(|text| Takes::parse(text))
            .any(|takes| takes.covers(event_type))
    }
}

/// What an admin sends to register an endpoint.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    /// `https://…` (or `http://`); not on loopback or a private range unless the service
    /// allows it.
    #[schema(max_length = 2048)]
    pub url: String,
    /// Event types (`order.shipped`), a family (`order.*`) or `*`; at least one.
    pub events: Vec<String>,
    /// The signing secret, 24 to 256 characters; one is made when absent (shown once).
    #[schema(min_length = 24, max_length = 256)]
    pub secret: Option<String>,
    #[schema(max_length = 200)]
    pub description: Option<String>,
}

fn problem(code: &str, message: impl Into<String>, field: impl Into<String>) -> Problem {
    Problem {
        code: code.into(),
        message: message.into(),
        field: Some(field.into()),
    }
}

impl NewEndpoint {
    /// The endpoint registered by `by` now, or every problem with what was sent, each
    /// naming its field. The URL's host is resolved: a name that leads to a refused
    /// address is refused as its literal would be.
    pub async fn check(
        self,
        targets: &Targets,
        by: &str,
        now: DateTime<Utc>,
        from: Position,
    ) -> Result<Endpoint, Vec<Problem>> {
        let mut problems = Vec::new();
        let url = match targets.parse(self.url.trim()) {
            Ok(url) => match targets.resolve(&url).await {
                Ok(_) => Some(url),
                Err(refusal) => {
                    problems.push(url_problem(&refusal));
                    None
                }
            },
            Err(refusal) => {
                problems.push(url_problem(&refusal));
                None
            }
        };
        if self.events.is_empty() || self.events.len() > EVENTS_MAX {
            problems.push(problem(
                "invalid_events",
                format!("1 to {EVENTS_MAX} event types, `order.*` or `*`"),
                "events",
            ));
        }
        for (n, text) in self.events.iter().enumerate() {
            if Takes::parse(text).is_none() {
                problems.push(problem(
                    "unknown_event_type",
                    format!(
                        "`{text}` is not an event this service emits, a family (`order.*`) or `*`"
                    ),
                    format!("events[{n}]"),
                ));
            }
        }
        if let Some(secret) = &self.secret
            && !(SECRET_MIN..=SECRET_MAX).contains(&secret.chars().count())
        {
            problems.push(problem(
                "invalid_secret",
                format!("a secret of {SECRET_MIN} to {SECRET_MAX} characters"),
                "secret",
            ));
        }
        let description = self
            .description
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty());
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > DESCRIPTION_MAX)
        {
            problems.push(problem(
                "invalid_description",
                format!("a description of at most {DESCRIPTION_MAX} characters"),
                "description",
            ));
        }
        match (url, problems.is_empty()) {
            (Some(url), true) => Ok(Endpoint {
                id: Uuid::now_v7(),
                url: url.to_string(),
                events: self.events,
                secret: self.secret.unwrap_or_else(made_secret),
                description,
                created_at: now,
                created_by: by.to_owned(),
                from,
            }),
            _ => Err(problems),
        }
    }
}

fn url_problem(refusal: &Refusal) -> Problem {
    let code = match refusal {
        Refusal::Private(_) => "refused_target",
        _ => "invalid_url",
    };
    problem(code, refusal.to_string(), "url")
}

/// A secret for an endpoint registered without one: 32 random bytes (two v4 UUIDs' worth
/// of the system's randomness), `whsec_` and hex.
fn made_secret() -> String {
    let bytes = [Uuid::new_v4().into_bytes(), Uuid::new_v4().into_bytes()].concat();
    format!("whsec_{}", hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(url: &str, events: &[&str]) -> NewEndpoint {
        NewEndpoint {
            url: url.into(),
            events: events.iter().map(|e| e.to_string()).collect(),
            secret: None,
            description: None,
        }
    }

    #[test]
    fn an_endpoint_takes_its_types_its_families_or_everything() {
        let endpoint = |events: &[&str]| Endpoint {
            id: Uuid::now_v7(),
            url: "https://example.com/".into(),
            events: events.iter().map(|e| e.to_string()).collect(),
            secret: made_secret(),
            description: None,
            created_at: Utc::now(),
            created_by: "ops".into(),
            from: Position::START,
        };
        assert!(endpoint(&["order.shipped"]).takes("order.shipped"));
        assert!(!endpoint(&["order.shipped"]).takes("order.delivered"));
        assert!(endpoint(&["order.*"]).takes("order.packed_by_robot"));
        assert!(!endpoint(&["order.*"]).takes("stock.low"));
        assert!(!endpoint(&["order.*"]).takes("orders.x"));
        assert!(endpoint(&["*"]).takes("stock.low"));
        assert_eq!(made_secret().len(), "whsec_".len() + 64);
        assert_ne!(made_secret(), made_secret());
    }

    #[tokio::test]
    async fn each_problem_names_its_field() {
        let targets = Targets {
            allow_private: false,
        };
        let checked = |n: NewEndpoint| async move {
            n.check(&targets, "ops", Utc::now(), Position::START).await
        };
        let problems = checked(new(
            "http://10.0.0.1/hook",
            &["order.shipped", "order.teleported", "refund.*"],
        ))
        .await
        .unwrap_err();
        let fields: Vec<_> = problems
            .iter()
            .map(|p| (p.code.as_str(), p.field.as_deref().unwrap()))
            .collect();
        assert_eq!(
            fields,
            [
                ("refused_target", "url"),
                ("unknown_event_type", "events[1]"),
                ("unknown_event_type", "events[2]")
            ]
        );
        let problems = checked(NewEndpoint {
            secret: Some("short".into()),
            ..new("ftp://x/", &[])
        })
        .await
        .unwrap_err();
        let fields: Vec<_> = problems
            .iter()
            .map(|p| p.field.as_deref().unwrap())
            .collect();
        assert_eq!(fields, ["url", "events", "secret"]);
        let allowed = Targets {
            allow_private: true,
        };
        let endpoint = new("http://127.0.0.1:9/hook", &["order.*", "stock.low"])
            .check(&allowed, "ops", Utc::now(), Position::START)
            .await
            .unwrap();
        assert!(endpoint.secret.starts_with("whsec_"));
        assert_eq!(endpoint.created_by, "ops");
    }
}
