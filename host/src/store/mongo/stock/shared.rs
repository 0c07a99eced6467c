//! Requests sent together: while one command is on its way to the database, the requests
//! that come meanwhile wait, and the next command carries all of them (the insert batch's
//! pattern). A lone request goes at once. The test server's cost is per command, so under
//! load a command carries many orders' requests.

use std::sync::Mutex;

/// The requests waiting, and whether someone is sending them.
pub(in crate::store::mongo) struct Shared<T> {
    inner: Mutex<(Vec<T>, bool)>,
}

impl<T> Default for Shared<T> {
    fn default() -> Self {
        Shared {
            inner: Mutex::new((Vec::new(), false)),
        }
    }
}

impl<T> Shared<T> {
    /// Adds `request`; true when nobody sends yet, and the caller is to start a sender
    /// (in a task of its own, so that a request given up does not leave the others waiting).
    pub(super) fn push(&self, request: T) -> bool {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.0.push(request);
        !std::mem::replace(&mut inner.1, true)
    }

    /// The sender's next batch: every request waiting; none, and the sender stops, when
    /// there are none.
    pub(super) fn next(&self) -> Option<Vec<T>> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.0.is_empty() {
            inner.1 = false;
            return None;
        }
        Some(std::mem::take(&mut inner.0))
    }
}

#[cfg(test)]
mod tests {
    use super::Shared;

    #[test]
    fn the_first_request_leads_and_the_others_wait_for_its_sender() {
        let shared = Shared::default();
        assert!(shared.push(1));
        assert!(!shared.push(2));
        assert_eq!(shared.next(), Some(vec![1, 2]));
        assert!(!shared.push(3), "the sender is still at work");
        assert_eq!(shared.next(), Some(vec![3]));
        assert_eq!(shared.next(), None);
        assert!(shared.push(4), "the sender stopped: the next request leads");
    }
}
