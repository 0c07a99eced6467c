//! The end-to-end scenarios and the plugin operations with the service on MongoDB (where
//! the plugin registry is the one replicas share): the server at
//! `ORDERFLOW_TEST_MONGODB_URL` (`tests/run.sh` starts one), a fresh database per service.

#[path = "../api/changes.rs"]
mod changes;
#[path = "../common/mod.rs"]
mod common;
#[path = "../api/harness.rs"]
mod harness;
#[path = "../api/live.rs"]
mod live;
#[path = "../api/operations.rs"]
mod operations;
#[path = "../api/rules.rs"]
mod rules;
#[path = "../api/scenarios.rs"]
mod scenarios;
#[path = "../api/stock.rs"]
mod stock;
#[path = "../api/webhooks.rs"]
mod webhooks;

const BACKEND: harness::Backend = harness::Backend::Mongo;
