//! Prometheus metrics, served at `/metrics` (OpenMetrics text): HTTP requests and latency per
//! route, plugin calls by outcome and the fuel they burn, the outbox relay's progress, and
//! which replica answered: its id, the relay shards it holds, the plugin versions it serves.

mod activity;

pub use activity::{Activity, HourCount, add_up};

use crate::domain::Digest;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, LazyLock};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    workflow: String,
    plugin: String,
    /// The version's digest (`sha256:…`): a staged or replayed version is counted apart
    /// from the active one.
    version: String,
    call: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReplicaLabels {
    replica: String,
    incarnation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CommandLabels {
    command: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ShardLabels {
    shard: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServingLabels {
    plugin: String,
    digest: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FuelLabels {
    plugin: String,
    version: String,
    call: String,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    plugin_calls: Family<CallLabels, Counter>,
    plugin_fuel: Family<FuelLabels, Histogram>,
    events_published: Counter,
    events_written: Counter,
    /// Units of stock reserved and released by this process's writes, and holds expired.
    stock_units: Family<StockLabels, Counter>,
    reservations_expired: Counter,
    relay_failures: Counter,
    webhook_tries: Family<WebhookLabels, Counter>,
    relay_lag: Histogram,
    outbox_backlog: Gauge,
    outbox_oldest_age: Gauge<f64, AtomicU64>,
    store_commands: Family<CommandLabels, Counter>,
    replica: Family<ReplicaLabels, Gauge>,
    relay_shards: Family<ShardLabels, Gauge>,
    plugin_serving: Family<ServingLabels, Gauge>,
    /// The embedded store's files (`orderflow_store_*`), by what is measured.
    storage: Family<StorageLabels, Gauge>,
    /// Plugin calls per hour, for the console.
    activity: Activity,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StockLabels {
    /// "reserved" or "released".
    movement: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WebhookLabels {
    /// "delivered" (a 2xx) or "failed".
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StorageLabels {
    file: &'static str,
}

/// The series a call of one bound plugin feeds (see [`Metrics::plugin_call`]).
#[derive(Clone)]
pub struct CallMetrics {
    decided: Counter,
    refused: Counter,
    fault: Counter,
    fuel: Histogram,
    totals: Arc<activity::Totals>,
}

impl CallMetrics {
    /// Counts a call by how it ended, and the fuel it burned if it ended in an answer.
    pub fn record(&self, outcome: Outcome, fuel: Option<u64>) {
        match outcome {
            Outcome::Decided => &self.decided,
            Outcome::Refused => &self.refused,
            Outcome::Fault => &self.fault,
        }
        .inc();
        self.totals.add(outcome);
        if let Some(fuel) = fuel {
            self.fuel.observe(fuel as f64);
        }
    }
}

/// How a plugin call ended.
#[derive(Debug, Clone, Copy)]
pub enum Outcome {
    Decided = 0,
    Refused = 1,
    Fault = 2,
}

fn latency_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.000_1, 2.0, 16)) // 100 µs … 3.3 s
}

fn fuel_buckets() -> Histogram {
    Histogram::new(exponential_buckets(1_000.0, 4.0, 10)) // 1k … 262M
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("orderflow");
    let requests = Family::default();
    let latency = Family::<RouteLabels, Histogram>::new_with_constructor(
        latency_buckets as fn() -> Histogram,
    );
    let plugin_calls = Family::default();
    let plugin_fuel =
        Family::<FuelLabels, Histogram>::new_with_constructor(fuel_buckets as fn() -> Histogram);
    registry.register("http_requests", "HTTP requests answered", requests.clone());
    registry.register(
        "http_request_duration_seconds",
        "HTTP request latency",
        latency.clone(),
    );
    registry.register(
        "plugin_calls",
        "Plugin decisions, by outcome",
        plugin_calls.clone(),
    );
    registry.register(
        "plugin_fuel",
        "Fuel burned by one plugin call",
        plugin_fuel.clone(),
    );
    let events_published = Counter::default();
    let events_written = Counter::default();
    let relay_failures = Counter::default();
    let webhook_tries = Family::<WebhookLabels, Counter>::default();
    registry.register(
        "webhook_tries",
        "Webhook deliveries tried, by outcome",
        webhook_tries.clone(),
    );
    let relay_lag = Histogram::new(exponential_buckets(0.001, 2.0, 16)); // 1 ms … 33 s
    let outbox_backlog = Gauge::default();
    let outbox_oldest_age = Gauge::<f64, AtomicU64>::default();
    registry.register(
        "events_published",
        "Outbox events the broker acknowledged",
        events_published.clone(),
    );
    registry.register(
        "events_written",
        "Events written to the outbox by this process",
        events_written.clone(),
    );
    registry.register(
        "relay_failures",
        "Relay passes that could not publish everything (broker down, topic refused)",
        relay_failures.clone(),
    );
    registry.register(
        "relay_lag_seconds",
        "From an order change to the broker's acknowledgement of its event",
        relay_lag.clone(),
    );
    registry.register(
        "outbox_backlog_events",
        "Events waiting in the outbox",
        outbox_backlog.clone(),
    );
    registry.register(
        "outbox_oldest_age_seconds",
        "Age of the oldest event waiting in the outbox",
        outbox_oldest_age.clone(),
    );
    let stock_units = Family::default();
    registry.register(
        "stock_units",
        "Units of stock reserved and released by this process's order writes",
        stock_units.clone(),
    );
    let reservations_expired = Counter::default();
    registry.register(
        "reservations_expired",
        "Unpaid orders whose hold on their units ran out (cancelled or released)",
        reservations_expired.clone(),
    );
    let store_commands = Family::default();
    registry.register(
        "store_commands",
        "Commands sent to MongoDB, by name: what this replica costs the database",
        store_commands.clone(),
    );
    let replica = Family::default();
    let relay_shards = Family::default();
    let plugin_serving = Family::default();
    registry.register(
        "replica",
        "The replica that answered (always 1)",
        replica.clone(),
    );
    registry.register(
        "relay_shard_held",
        "The outbox shards this replica relays (1 each)",
        relay_shards.clone(),
    );
    registry.register(
        "plugin_serving",
        "The plugin versions this replica serves (1 each)",
        plugin_serving.clone(),
    );
    let storage = Family::default();
    registry.register(
        "store_bytes",
        "The embedded store's files: database, wal, the WAL's limit, and the checkpoint lag (committed bytes not yet copied into the database)",
        storage.clone(),
    );
    Metrics {
        registry,
        storage,
        replica,
        relay_shards,
        plugin_serving,
        requests,
        latency,
        plugin_calls,
        plugin_fuel,
        events_published,
        events_written,
        stock_units,
        reservations_expired,
        relay_failures,
        webhook_tries,
        relay_lag,
        outbox_backlog,
        outbox_oldest_age,
        store_commands,
        activity: Activity::default(),
    }
});

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

impl Metrics {
    pub fn request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let labels = RouteLabels {
            method: method.to_owned(),
            route: route.to_owned(),
        };
        self.latency.get_or_create(&labels).observe(seconds);
        let RouteLabels { method, route } = labels;
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
    }

    /// The series of one call of a bound plugin, looked up once at binding: a decision
    /// then only bumps a counter and a histogram, with no label built or hashed.
    pub fn plugin_call(
        &self,
        workflow: &str,
        plugin: &str,
        version: &Digest,
        call: &str,
    ) -> CallMetrics {
        let version = version.full();
        let calls = |outcome| {
            self.plugin_calls
                .get_or_create(&CallLabels {
                    workflow: workflow.to_owned(),
                    plugin: plugin.to_owned(),
                    version: version.clone(),
                    call: call.to_owned(),
                    outcome,
                })
                .clone()
        };
        CallMetrics {
            decided: calls("decided"),
            refused: calls("refused"),
            fault: calls("fault"),
            fuel: self
                .plugin_fuel
                .get_or_create(&FuelLabels {
                    plugin: plugin.to_owned(),
                    version: version.clone(),
                    call: call.to_owned(),
                })
                .clone(),
            totals: self.activity.totals(plugin),
        }
    }

    /// Plugin calls per hour (see [`Activity`]).
    pub fn activity(&self) -> &Activity {
        &self.activity
    }

    /// An event reached the broker `lag` seconds after its order change.
    pub fn event_published(&self, lag: f64) {
        self.events_published.inc();
        self.relay_lag.observe(lag);
    }

    /// `n` events were written to the outbox with their order.
    pub fn events_written(&self, n: usize) {
        self.events_written.inc_by(n as u64);
    }

    /// An order write moved stock.
    pub fn stock_moved(&self, moves: &[crate::domain::StockMove]) {
        for m in moves {
            let movement = if m.reserved > 0 {
                "reserved"
            } else {
                "released"
            };
            (self.stock_units.get_or_create(&StockLabels { movement }))
                .inc_by(m.reserved.unsigned_abs());
        }
    }

    pub fn reservation_expired(&self) {
        self.reservations_expired.inc();
    }

    /// Events this process wrote to the outbox, and published, since it started.
    pub fn outbox_flow(&self) -> (u64, u64) {
        (self.events_written.get(), self.events_published.get())
    }

    /// A command was sent to MongoDB (the driver's command monitoring reports each).
    pub fn store_command(&self, command: &str) {
        let labels = CommandLabels {
            command: command.to_owned(),
        };
        self.store_commands.get_or_create(&labels).inc();
    }

    pub fn relay_failed(&self) {
        self.relay_failures.inc();
    }

    pub fn webhook_tried(&self, delivered: bool) {
        let outcome = if delivered { "delivered" } else { "failed" };
        self.webhook_tries
            .get_or_create(&WebhookLabels { outcome })
            .inc();
    }

    /// What waits in the outbox: events, and the age of the oldest in seconds.
    pub fn outbox(&self, events: u64, oldest_age: f64) {
        self.outbox_backlog.set(events as i64);
        self.outbox_oldest_age.set(oldest_age);
    }

    /// Who this replica is and what it serves now: set before each exposition, replacing
    /// what the last one said (a shard given up or a version replaced disappears).
    pub fn replica(
        &self,
        replica: &str,
        incarnation: &str,
        shards: &[u16],
        serving: &BTreeMap<String, Digest>,
    ) {
        self.replica.clear();
        self.replica
            .get_or_create(&ReplicaLabels {
                replica: replica.to_owned(),
                incarnation: incarnation.to_owned(),
            })
            .set(1);
        self.relay_shards.clear();
        for shard in shards {
            self.relay_shards
                .get_or_create(&ShardLabels { shard: *shard })
                .set(1);
        }
        self.plugin_serving.clear();
        for (plugin, digest) in serving {
            self.plugin_serving
                .get_or_create(&ServingLabels {
                    plugin: plugin.clone(),
                    digest: digest.full(),
                })
                .set(1);
        }
    }

    /// The embedded store's files now; set before each exposition.
    pub fn storage(&self, storage: &crate::domain::Storage) {
        for (file, bytes) in [
            ("database", storage.database_bytes),
            ("wal", storage.wal_bytes),
            ("wal_limit", storage.wal_limit_bytes),
            ("checkpoint_lag", storage.checkpoint_lag_bytes),
        ] {
            self.storage
                .get_or_create(&StorageLabels { file })
                .set(bytes as i64);
        }
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}
