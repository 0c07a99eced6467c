//! The end-to-end scenarios with the service on the embedded store.

mod bad_files;
mod changes;
mod claims;
#[path = "../common/mod.rs"]
mod common;
mod contract;
mod harness;
mod limits;
mod live;
mod operations;
mod rules;
mod scenarios;
mod stock;
mod storage;
mod webhooks;

const BACKEND: harness::Backend = harness::Backend::Embedded;
