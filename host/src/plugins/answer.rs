//! A decision's answer reduced to what two versions of a plugin are compared on: what an
//! order got, and what a candidate (a replay, a shadow) would have given it.

use crate::domain::{Money, Problem, Quote, Transition};

/// What a decision answered, reduced to what two versions are compared on.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Validation said yes.
    Valid,
    Quote(Quote),
    /// The lifecycle's creation step: the statuses and events a new order starts with.
    Start {
        status: String,
        payment_status: String,
        events: Vec<String>,
    },
}

impl Answer {
    pub fn total(&self) -> Option<Money> {
        match self {
            Answer::Quote(q) => Some(q.total),
            _ => None,
        }
    }
}

/// A decision (`Ok`) or a refusal with its problems.
pub type Verdict = Result<Answer, Vec<Problem>>;

impl From<()> for Answer {
    fn from((): ()) -> Self {
        Answer::Valid
    }
}

impl From<Quote> for Answer {
    fn from(q: Quote) -> Self {
        Answer::Quote(q)
    }
}

impl From<Transition> for Answer {
    fn from(t: Transition) -> Self {
        Answer::Start {
            status: t.status,
            payment_status: t.payment_status,
            events: t.events,
        }
    }
}
