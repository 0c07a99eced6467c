//! What plugins log (the `log` import of contract 0.3.0): the lines of one decision, kept in
//! its instance's state within the call's [`Limits`](super::Limits), handed to the caller with
//! the decision ([`Decided::logs`](super::Decided)) or the fault
//! ([`PluginFault::logs`](super::PluginFault)), and a share of them written to the service's
//! own log ([`Sampler`]).
//!
//! A plugin that never logs costs nothing: the buffer is an empty `Vec` until a line is kept.

use super::Decider;
use super::Limits;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LogLine {
    pub level: LogLevel,
    pub message: String,
}

/// The lines one decision logged, in order, within its limits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Logs {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<LogLine>,
    /// Lines not kept whole because of the limits: every line past `log_lines` or past the
    /// `log_bytes` budget (counted, not kept), and the line that crossed the budget (kept
    /// cut to it at a character boundary).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cut: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Logs {
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.cut == 0
    }
}

/// One instance's lines, bounded. Lines logged before the decision opens it (`configure`'s,
/// which run ahead of every decision with the same parameters) are not kept or counted.
pub(crate) struct LogBuffer {
    logs: Logs,
    bytes: usize,
    open: bool,
    max_lines: usize,
    max_bytes: usize,
}

impl LogBuffer {
    pub(crate) fn new(limits: &Limits) -> Self {
        LogBuffer {
            logs: Logs::default(),
            bytes: 0,
            open: false,
            max_lines: limits.log_lines as usize,
            max_bytes: limits.log_bytes as usize,
        }
    }

    /// The decision starts: its lines are kept from here on.
    pub(crate) fn open(&mut self) {
        self.open = true;
    }

    pub(crate) fn push(&mut self, level: LogLevel, mut message: String) {
        if !self.open {
            return;
        }
        let room = self.max_bytes - self.bytes;
        if self.logs.lines.len() >= self.max_lines || room == 0 {
            self.logs.cut = self.logs.cut.saturating_add(1);
            return;
        }
        if message.len() > room {
            message.truncate(message.floor_char_boundary(room));
            self.logs.cut = self.logs.cut.saturating_add(1);
            // What is left of the budget cannot hold this line's first character.
            if message.is_empty() {
                self.bytes = self.max_bytes;
                return;
            }
        }
        self.bytes += message.len();
        self.logs.lines.push(LogLine { level, message });
    }

    pub(crate) fn take(&mut self) -> Logs {
        std::mem::take(&mut self.logs)
    }
}

/// Writes a share of the decisions that logged to the service's log (`PLUGIN_LOG_SAMPLE`).
/// The share is kept exactly, without randomness: of every decision that logged, the n-th
/// is written when ⌊n × share⌋ grows.
#[derive(Debug)]
pub(crate) struct Sampler {
    share: f64,
    seen: AtomicU64,
}

impl Sampler {
    pub(crate) fn new(share: f64) -> Self {
        Sampler {
            share: share.clamp(0.0, 1.0),
            seen: AtomicU64::new(0),
        }
    }

    /// Whether the next decision that logged is in the share.
    fn sampled(&self) -> bool {
        let n = self.seen.fetch_add(1, Ordering::Relaxed) as f64;
        ((n + 1.0) * self.share).floor() != (n * self.share).floor()
    }

    /// Writes `logs` as `call` of `by` logged them, if this decision is in the share.
    pub(crate) fn offer(&self, by: &Decider, call: &str, logs: &Logs) {
        if logs.is_empty() || self.share == 0.0 || !self.sampled() {
            return;
        }
        let digest = by.digest.short();
        for line in &logs.lines {
            tracing::info!(
                workflow = &*by.workflow,
                plugin = &*by.plugin,
                digest,
                call,
                level = line.level.as_str(),
                "plugin log: {}",
                line.message
            );
        }
        if logs.cut > 0 {
            tracing::info!(
                workflow = &*by.workflow,
                plugin = &*by.plugin,
                digest,
                call,
                cut = logs.cut,
                "plugin log: {} lines not kept whole (log_lines, log_bytes)",
                logs.cut
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer(lines: u32, bytes: u32) -> LogBuffer {
        let mut b = LogBuffer::new(&Limits {
            log_lines: lines,
            log_bytes: bytes,
            ..Limits::default()
        });
        b.open();
        b
    }

    fn messages(logs: &Logs) -> Vec<&str> {
        logs.lines.iter().map(|l| l.message.as_str()).collect()
    }

    #[test]
    fn lines_past_the_line_limit_are_counted() {
        let mut b = buffer(2, 100);
        for m in ["a", "b", "c", "d"] {
            b.push(LogLevel::Info, m.into());
        }
        let logs = b.take();
        assert_eq!((messages(&logs), logs.cut), (vec!["a", "b"], 2));
    }

    #[test]
    fn the_line_crossing_the_byte_budget_is_cut_at_a_char_boundary() {
        let mut b = buffer(10, 6);
        b.push(LogLevel::Warn, "abcd".into());
        b.push(LogLevel::Warn, "éé".into()); // 4 bytes, 2 fit: "é"
        b.push(LogLevel::Warn, "x".into());
        let logs = b.take();
        assert_eq!((messages(&logs), logs.cut), (vec!["abcd", "é"], 2));
        let mut b = buffer(10, 5);
        b.push(LogLevel::Warn, "abcd".into());
        b.push(LogLevel::Warn, "éé".into()); // 1 byte left: no whole character
        b.push(LogLevel::Warn, "x".into());
        let logs = b.take();
        assert_eq!((messages(&logs), logs.cut), (vec!["abcd"], 2));
    }

    #[test]
    fn nothing_is_kept_before_the_decision_opens_the_buffer() {
        let mut b = LogBuffer::new(&Limits::default());
        b.push(LogLevel::Debug, "configure".into());
        b.open();
        b.push(LogLevel::Debug, "decide".into());
        assert_eq!(messages(&b.take()), vec!["decide"]);
    }

    #[test]
    fn levels_and_counts_serialise_as_the_api_shows_them() {
        let logs = Logs {
            lines: vec![LogLine {
                level: LogLevel::Warn,
                message: "m".into(),
            }],
            cut: 0,
        };
        assert_eq!(
            serde_json::to_value(&logs).unwrap(),
            serde_json::json!({"lines": [{"level": "warn", "message": "m"}]})
        );
        assert_eq!(
            serde_json::to_value(Logs::default()).unwrap(),
            serde_json::json!({})
        );
    }

    #[test]
    fn the_sample_keeps_its_share_exactly() {
        let count = |share: f64| {
            let s = Sampler::new(share);
            (0..1000).filter(|_| s.sampled()).count()
        };
        assert_eq!(
            (count(0.0), count(0.1), count(0.25), count(1.0)),
            (0, 100, 250, 1000)
        );
    }
}
