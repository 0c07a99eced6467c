//! A delivery: one event for one endpoint, from its queueing to its answer (or to its death
//! once the retry budget is spent), with a log of its tries.

use super::schedule::Schedule;
use crate::live::Position;
use crate::orders::OrderId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Tries kept in a delivery's log: the first and the latest.
const LOGGED: usize = 10;
/// What a try keeps of the receiver's answer.
pub const EXCERPT: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Waiting for its first try or its next.
    Pending,
    /// A receiver answered 2xx.
    Delivered,
    /// The retry budget is spent: kept until an admin redelivers it.
    Dead,
}

impl State {
    /// As stores keep it (and the API shows it).
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Delivered => "delivered",
            State::Dead => "dead",
        }
    }
}

/// One try: when, how it ended and how long it took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Try {
    pub at: DateTime<Utc>,
    /// The receiver's status; None when it never answered.
    pub status: Option<u16>,
    pub latency_ms: u64,
    /// The start of the answer's body, or why there was none (a timeout, a refused
    /// connection).
    pub excerpt: String,
}

impl Try {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Delivery {
    /// Also the `Orderflow-Delivery` header: the same on every try of it.
    pub id: Uuid,
    pub endpoint: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    #[schema(value_type = String)]
    pub order_id: OrderId,
    /// Where its event stands in the order of commits: one order's deliveries to one
    /// endpoint go in this order.
    #[serde(skip)]
    pub position: Position,
    pub state: State,
    /// Tries made in its current budget; the log keeps the first and the latest of all.
    pub tries: u32,
    /// The first try of its current budget (a redelivery starts a new one).
    pub since: Option<DateTime<Utc>>,
    pub log: Vec<Try>,
    /// When it is tried next (while pending).
    pub next_at: DateTime<Utc>,
    pub queued_at: DateTime<Utc>,
    /// The envelope, as sent.
    #[serde(skip)]
    pub body: String,
}

impl Delivery {
    /// Records `tried`, and what follows from it under `schedule`: delivered, tried again
    /// later, or dead.
    pub fn tried(&mut self, tried: Try, schedule: &Schedule) {
        self.tries += 1;
        let first = *self.since.get_or_insert(tried.at);
        if tried.succeeded() {
            self.state = State::Delivered;
        } else {
            let since_first = (tried.at - first).to_std().unwrap_or_default();
            match schedule.next(self.tries, since_first) {
                Some(wait) => {
                    self.next_at = tried.at + chrono::Duration::from_std(wait).unwrap_or_default();
                }
                None => self.state = State::Dead,
            }
        }
        if self.log.len() == LOGGED {
            self.log.remove(1);
        }
        self.log.push(tried);
    }

    /// A dead delivery tried again from now, with a fresh budget; its log is kept.
    pub fn revived(mut self, now: DateTime<Utc>) -> Self {
        self.state = State::Pending;
        self.tries = 0;
        self.since = None;
        self.next_at = now;
        self
    }
}
