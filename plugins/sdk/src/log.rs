//! Lines for the people who run a plugin: `log::info("code SAVE10 applied")`. The host
//! keeps them with the decision they were logged in, within the workflow's `log_lines`
//! and `log_bytes` (further lines are counted, not kept), shows them under each case of
//! `orderflow plugin test`, and writes a share of them to the service's log. Lines logged
//! in `configure` are not kept: it runs ahead of every decision, with the same parameters.
//!
//! Natively (a plugin's unit tests, its fixtures run by `cargo test`) there is no host, so
//! the lines go to stderr, which the test harness shows for a failing test.

#[cfg(target_arch = "wasm32")]
// Every world imports the same `log` interface, so one world's binding serves them all: the
// core import it calls is named by the interface, not by the world.
use crate::validation::orderflow::plugins::log::{Level, log};

#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug)]
enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

#[cfg(not(target_arch = "wasm32"))]
fn log(level: Level, message: &str) {
    eprintln!("{level:?}: {message}");
}

pub fn debug(message: &str) {
    log(Level::Debug, message);
}

pub fn info(message: &str) {
    log(Level::Info, message);
}

pub fn warn(message: &str) {
    log(Level::Warn, message);
}

pub fn error(message: &str) {
    log(Level::Error, message);
}
