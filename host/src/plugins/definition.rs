//! A workflow file (`workflows/<name>.toml`): which plugin makes each decision, with which
//! parameters and limits.
//!
//! ```toml
//! description = "The standard web shop"
//! channels = ["web"]            # optional: orders placed with `sales_channel` "web" follow it
//! [limits]                      # optional, for every plugin of the workflow
//! fuel = 10_000_000
//! memory_mib = 16
//! [pricing]
//! plugin = "standard-pricing"   # plugins/<name>.wasm in the plugin directory
//! limits = { fuel = 2_000_000 } # optional, this plugin only; also memory_mib,
//!                               # fuel_per_line (on top of fuel, per order line), and
//!                               # log_lines, log_bytes (what a decision's log keeps)
//! [pricing.params]              # handed to the plugin as JSON
//! currency = "USD"
//! [stock]                       # optional: orders hold their units until they ship
//! reserve = true
//! reservation_ttl = "15m"       # an unpaid order holds them this long (unset: until it ships)
//! on_expiry = "cancel"          # or "release": the order stays, its units go back
//! backorders = 0                # units a product may be reserved beyond what it has
//! ```
//! TOML datetimes reach plugins as Unix milliseconds, so plugins need no date parsing.

use crate::domain::StockPolicy;
use crate::plugins::{LimitsOverride, PluginKind};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    #[serde(default)]
    pub description: String,
    /// Sales channels whose orders follow this workflow: how an order chooses a workflow
    /// other than the default (a client names a channel, never a plugin).
    #[serde(default)]
    pub channels: Vec<String>,
    #[serde(default)]
    limits: LimitsOverride,
    /// Whether its orders reserve stock, for how long, and with what backorders.
    #[serde(default)]
    pub stock: StockPolicy,
    validation: Step,
    pricing: Step,
    lifecycle: Step,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    plugin: String,
    #[serde(default)]
    params: toml::Table,
    #[serde(default)]
    limits: LimitsOverride,
}

/// One decision of a workflow, resolved: plugin name, JSON parameters, and the limits it
/// sets (the rest are the plugin's defaults, known once its component is).
#[derive(Debug, Clone, PartialEq)]
pub struct StepSpec {
    pub kind: PluginKind,
    pub plugin: String,
    pub params: Value,
    pub limits: LimitsOverride,
}

impl Definition {
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// The three steps, with parameters converted to JSON and limits resolved.
    pub fn steps(&self) -> Result<[StepSpec; 3], String> {
        let spec = |kind: PluginKind, step: &Step| -> Result<StepSpec, String> {
            Ok(StepSpec {
                kind,
                plugin: step.plugin.clone(),
                params: to_json(toml::Value::Table(step.params.clone()))
                    .map_err(|e| format!("[{kind}.params] {e}"))?,
                limits: step.limits.or(self.limits),
            })
        };
        Ok([
            spec(PluginKind::Validation, &self.validation)?,
            spec(PluginKind::Pricing, &self.pricing)?,
            spec(PluginKind::Lifecycle, &self.lifecycle)?,
        ])
    }
}

fn to_json(value: toml::Value) -> Result<Value, String> {
    Ok(match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(dt) => {
            let text = dt.to_string();
            let parsed = chrono::DateTime::parse_from_rfc3339(&text).map_err(|_| {
                format!("`{text}` needs a date, a time and an offset, e.g. 2026-11-27T00:00:00Z")
            })?;
            Value::from(parsed.timestamp_millis())
        }
        toml::Value::Array(items) => {
            Value::Array(items.into_iter().map(to_json).collect::<Result<_, _>>()?)
        }
        toml::Value::Table(table) => Value::Object(
            table
                .into_iter()
                .map(|(k, v)| Ok((k, to_json(v)?)))
                .collect::<Result<_, String>>()?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::Limits;

    const MINIMAL: &str = r#"
        [limits]
        fuel = 500
        log_lines = 5
        [validation]
        plugin = "v"
        [pricing]
        plugin = "p"
        limits = { memory_mib = 4, fuel_per_line = 20_000, log_bytes = 256 }
        [pricing.params]
        currency = "USD"
        starts = 2026-11-27T00:00:00Z
        tiers = [{ over = 100, off_bp = 500 }]
        [lifecycle]
        plugin = "l"
    "#;

    #[test]
    fn steps_resolve_params_and_limits() {
        let [v, p, l] = Definition::parse(MINIMAL).unwrap().steps().unwrap();
        assert_eq!(
            (
                v.kind,
                v.plugin.as_str(),
                v.limits.fuel,
                v.limits.memory_mib
            ),
            (PluginKind::Validation, "v", Some(500), None)
        );
        assert_eq!((p.limits.fuel, p.limits.memory_mib), (Some(500), Some(4)));
        // Log bounds override as fuel does: the workflow's, then the step's.
        let logged = p.limits.resolve(Limits::default());
        assert_eq!((logged.log_lines, logged.log_bytes), (5, 256));
        let logged = v.limits.resolve(Limits::default());
        assert_eq!((logged.log_lines, logged.log_bytes), (5, 4096));
        // Fuel per line comes on top of the base: 500 + 3 × 20,000 for a 3-line order.
        let priced = p.limits.resolve(Limits::for_component(150_000));
        assert_eq!((priced.fuel_for(0), priced.fuel_for(3)), (500, 60_500));
        assert_eq!(v.limits.fuel_per_line, None);
        // What a workflow leaves unset is the component's default, by what it is.
        let compiled = v.limits.resolve(Limits::for_component(150_000));
        assert_eq!((compiled.fuel, compiled.memory_mib), (500, 16));
        let interpreted = v.limits.resolve(Limits::for_component(1_729_292));
        assert_eq!((interpreted.fuel, interpreted.memory_mib), (500, 64));
        let unset = LimitsOverride::default().resolve(Limits::for_component(18_348_993));
        assert_eq!(
            unset,
            Limits {
                fuel: 100_000_000,
                memory_mib: 64,
                fuel_per_line: 0,
                log_lines: 20,
                log_bytes: 4096,
            }
        );
        assert_eq!(
            p.params,
            serde_json::json!({"currency": "USD", "starts": 1_795_737_600_000_i64, "tiers": [{"over": 100, "off_bp": 500}]})
        );
        assert_eq!(
            (l.plugin.as_str(), l.params.clone()),
            ("l", serde_json::json!({}))
        );
    }

    #[test]
    fn mistakes_are_named() {
        assert!(
            Definition::parse("[pricing]\nplugin = \"p\"")
                .unwrap_err()
                .contains("validation")
        );
        let typo = MINIMAL.replace("[lifecycle]", "[lifecycle]\nplugn = \"x\"");
        assert!(Definition::parse(&typo).unwrap_err().contains("plugn"));
        let local = MINIMAL.replace("2026-11-27T00:00:00Z", "2026-11-27");
        assert!(
            Definition::parse(&local)
                .unwrap()
                .steps()
                .unwrap_err()
                .contains("[pricing.params]")
        );
    }
}
