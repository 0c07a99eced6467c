//! The plugin runtime against real components: the standard plugins on their fixtures,
//! and hostile components that must each end in a clean, typed fault.

mod common;

use common::{NOW, built, draft, load, runtime};
use orderflow::domain::{Actor, OrderView, PaymentChange, PricedOrder, StatusChange};
use orderflow::plugin_test;
use orderflow::plugins::LoadError;
use orderflow::plugins::{FaultKind, Limits, LogLevel, LogLine, Logs, PluginKind};
use serde_json::json;
use std::time::{Duration, Instant};

#[test]
fn shipped_plugins_pass_their_fixtures_through_wasm() {
    let runtime = runtime();
    for name in [
        "standard-validation",
        "standard-pricing",
        "standard-lifecycle",
        "b2b-lifecycle",
        "seasonal-pricing",
    ] {
        let component = load(&runtime, name);
        let suite = plugin_fixtures::load(
            &common::repo_root()
                .join("plugins")
                .join(name)
                .join("fixtures"),
        )
        .unwrap();
        let outcomes = plugin_test::run(&runtime, &component, &suite, Limits::default());
        assert!(
            outcomes.len() >= 6,
            "{name}: only {} fixtures",
            outcomes.len()
        );
        for o in outcomes {
            assert_eq!(o.result, Ok(()), "{name} fixture {}", o.name);
            assert!(o.fuel.unwrap() > 0);
        }
    }
}

/// Components are built with a 64 KiB stack (`.cargo/config.toml`) instead of Rust's 1 MiB, so
/// an instance's memory is a fraction of a MiB: each standard plugin decides within a 1 MiB
/// cap, which a 1 MiB stack alone would exceed.
#[test]
fn standard_plugins_decide_within_one_mib_of_memory() {
    let runtime = runtime();
    let small = Limits {
        memory_mib: 1,
        ..Limits::default()
    };
    let bind = |name: &str, kind| {
        let params = common::repo_root()
            .join("plugins")
            .join(name)
            .join("fixtures")
            .join(plugin_fixtures::SHARED_PARAMS_FILE);
        let params: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(params).unwrap()).unwrap();
        runtime
            .bind("w", load(&runtime, name), kind, &params, small)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let order = draft(10);
    let validation = bind("standard-validation", PluginKind::Validation);
    assert!(validation.validate(&order, NOW).unwrap().verdict.is_ok());
    let pricing = bind("standard-pricing", PluginKind::Pricing);
    let total = pricing.price(&order, NOW).unwrap().verdict.unwrap().total;
    let lifecycle = bind("standard-lifecycle", PluginKind::Lifecycle);
    let priced = PricedOrder::of(&order, &total);
    assert!(lifecycle.create(&priced, NOW).unwrap().verdict.is_ok());
}

#[test]
fn a_fixture_mismatch_is_reported() {
    let runtime = runtime();
    let component = load(&runtime, "standard-pricing");
    let mut suite =
        plugin_fixtures::load(&common::repo_root().join("plugins/standard-pricing/fixtures"))
            .unwrap();
    suite.cases.truncate(1);
    suite.cases[0].0.expect = plugin_fixtures::Expected::Ok(json!({"total": 1}));
    let outcome = plugin_test::run(&runtime, &component, &suite, Limits::default()).remove(0);
    assert!(outcome.result.unwrap_err().contains("expected"));
}

/// The shipped plugins are core modules (`wasm32-unknown-unknown`), wrapped into components
/// on load; the test suite's are components that import WASI (`wasm32-wasip2`). Both serve.
#[test]
fn components_declare_their_decision_and_contract_version() {
    let runtime = runtime();
    let is_core_module = |name| std::fs::read(built(name)).unwrap()[4..8] == [1, 0, 0, 0];
    assert!(is_core_module("standard-pricing"));
    assert!(!is_core_module("hostile-pricing"));
    for (name, kind, version) in [
        ("standard-validation", PluginKind::Validation, "0.5.0"),
        ("standard-pricing", PluginKind::Pricing, "0.5.0"),
        ("standard-lifecycle", PluginKind::Lifecycle, "0.5.0"),
        ("validation-v0-4", PluginKind::Validation, "0.4.0"),
        // The hostile test components are still built against the first contract.
        ("hostile-lifecycle", PluginKind::Lifecycle, "0.1.0"),
        ("hostile-pricing", PluginKind::Pricing, "0.1.0"),
        ("pricing-v0-2", PluginKind::Pricing, "0.2.0"),
        ("logging-pricing", PluginKind::Pricing, "0.3.0"),
    ] {
        let c = load(&runtime, name);
        assert_eq!((c.kind, c.contract.as_str()), (kind, version), "{name}");
    }
}

/// Contract 0.1.0 gave the creation step the whole draft and the total, 0.2.0 and 0.3.0 give
/// it the priced order: one host serves both, through the service and through fixtures alike.
#[test]
fn lifecycle_plugins_of_both_creation_steps_decide_creation() {
    let runtime = runtime();
    let order = draft(3);
    let total = orderflow::domain::Money::new(4_352, "USD".parse().unwrap());
    let priced = PricedOrder::of(&order, &total);
    let bind = |name| {
        runtime
            .bind(
                "w",
                load(&runtime, name),
                PluginKind::Lifecycle,
                &json!({}),
                Limits::default(),
            )
            .unwrap()
    };
    let (legacy, current) = (bind("hostile-lifecycle"), bind("standard-lifecycle"));
    for plugin in [&legacy, &current] {
        let created = plugin.create(&priced, NOW).unwrap();
        assert_eq!(created.verdict.unwrap().status, "pending");
    }
    let created = current.create(&priced, NOW).unwrap();
    assert_eq!(created.verdict.unwrap().events, ["order.created"]);

    // A 0.1.0 fixture of `create` names the draft and the total, as that contract did.
    let dir = tempfile::tempdir().unwrap();
    let fixture = json!({
        "call": "create",
        "args": {"order": order, "total": total},
        "expect": {"ok": {"status": "pending", "payment_status": "pending",
                          "stamps": [], "events": []}},
    });
    std::fs::write(dir.path().join("01-create.json"), fixture.to_string()).unwrap();
    let suite = plugin_fixtures::load(dir.path()).unwrap();
    let component = load(&runtime, "hostile-lifecycle");
    let outcome = plugin_test::run(&runtime, &component, &suite, Limits::default()).remove(0);
    assert_eq!(outcome.result, Ok(()));
}

#[test]
fn garbage_core_modules_and_wrong_worlds_are_refused() {
    let runtime = runtime();
    assert!(matches!(
        runtime.load("junk", b"definitely not wasm"),
        Err(LoadError::Compile(_))
    ));
    // A core module is wrapped into a component, which exports no decision without the
    // contract's world embedded by wit-bindgen.
    let core = b"\0asm\x01\0\0\0";
    let err = runtime.load("core", core).unwrap_err();
    assert!(
        matches!(&err, LoadError::Contract(m) if m.contains("exports no orderflow:plugins interface")),
        "{err}"
    );
    // A lifecycle component bound where pricing is expected.
    let lifecycle = load(&runtime, "hostile-lifecycle");
    let err = runtime
        .bind(
            "w",
            lifecycle,
            PluginKind::Pricing,
            &json!({}),
            Limits::default(),
        )
        .unwrap_err();
    assert_eq!(
        err,
        LoadError::WrongKind {
            expected: PluginKind::Pricing,
            found: PluginKind::Lifecycle
        }
    );
}

#[test]
fn parameters_are_checked_when_bound() {
    let runtime = runtime();
    let pricing = load(&runtime, "standard-pricing");
    let err = runtime
        .bind(
            "w",
            pricing.clone(),
            PluginKind::Pricing,
            &json!({"currency": "usd"}),
            Limits::default(),
        )
        .unwrap_err();
    assert!(
        matches!(&err, LoadError::Params(why) if why.contains("invalid_params")),
        "{err}"
    );
    let hostile = load(&runtime, "hostile-pricing");
    let err = runtime
        .bind(
            "w",
            hostile,
            PluginKind::Pricing,
            &json!({"behaviour": "refuse"}),
            Limits::default(),
        )
        .unwrap_err();
    assert!(matches!(err, LoadError::Params(_)));
    let too_big = Limits {
        memory_mib: 100_000,
        ..Limits::default()
    };
    assert!(matches!(
        runtime.bind("w", pricing, PluginKind::Pricing, &json!({}), too_big),
        Err(LoadError::Params(_))
    ));
}

/// Binds hostile-pricing with `behaviour`, prices an order, returns the fault and how long
/// the call took.
fn hostile_price(behaviour: &str, limits: Limits) -> (FaultKind, Duration, String) {
    let runtime = runtime();
    let component = load(&runtime, "hostile-pricing");
    let plugin = runtime
        .bind(
            "hostile",
            component,
            PluginKind::Pricing,
            &json!({ "behaviour": behaviour }),
            limits,
        )
        .unwrap();
    let started = Instant::now();
    let fault = plugin.price(&draft(3), NOW).unwrap_err();
    let elapsed = started.elapsed();
    // The fault names the plugin and its version.
    assert_eq!(fault.plugin, "hostile-pricing");
    assert_eq!(fault.digest, plugin.component().digest);
    let message = fault.to_string();
    assert!(
        message.contains("hostile-pricing") && message.contains("sha256:"),
        "{message}"
    );
    // And the very same binding serves the next call normally: a fresh instance each time.
    assert!(
        plugin.price(&draft(3), NOW).is_err(),
        "{behaviour} misbehaves every time"
    );
    let flat = runtime
        .bind(
            "hostile",
            load(&runtime, "hostile-pricing"),
            PluginKind::Pricing,
            &json!({}),
            limits,
        )
        .unwrap();
    assert_eq!(
        flat.price(&draft(3), NOW)
            .unwrap()
            .verdict
            .unwrap()
            .total
            .minor,
        7500
    );
    (fault.kind, elapsed, message)
}

#[test]
fn an_endless_loop_runs_out_of_fuel() {
    let limits = Limits {
        fuel: 1_000_000,
        ..Limits::default()
    };
    let (kind, elapsed, _) = hostile_price("loop", limits);
    assert_eq!(kind, FaultKind::OutOfFuel(1_000_000));
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
}

#[test]
fn a_memory_hog_hits_its_cap() {
    let (kind, _, _) = hostile_price(
        "hog",
        Limits {
            memory_mib: 8,
            ..Limits::default()
        },
    );
    assert_eq!(kind, FaultKind::MemoryCap(8));
}

#[test]
fn a_panic_is_a_trap() {
    let (kind, _, _) = hostile_price("panic", Limits::default());
    assert!(matches!(kind, FaultKind::Trap(_)), "{kind:?}");
}

/// A component that imports WASI (this one is Rust std for `wasm32-wasip2`) runs with
/// stand-ins that reach nothing real: its clocks read the decision's `now` and stand still,
/// it finds no environment, file, directory or network (a listener on loopback hears
/// nothing), its prints go nowhere, and its randomness repeats.
#[test]
fn wasi_reaches_nothing_real() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let runtime = runtime();
    let component = load(&runtime, "hostile-pricing");
    assert!(component.wasi);
    let plugin = runtime
        .bind(
            "hostile",
            component,
            PluginKind::Pricing,
            &json!({ "behaviour": "probe", "port": port }),
            Limits::default(),
        )
        .unwrap();
    let probe = |now| {
        let problems = plugin.price(&draft(3), now).unwrap().verdict.unwrap_err();
        assert_eq!(problems[0].code, "probe");
        serde_json::from_str::<serde_json::Value>(&problems[0].message).unwrap()
    };
    let seen = probe(NOW);
    assert_eq!(seen["wall_ms"], NOW, "{seen}");
    assert_eq!(seen["elapsed_ns"], 0, "{seen}");
    assert_eq!(seen["env"], 0, "{seen}");
    assert_eq!(seen["args"], 0, "{seen}");
    for reach in ["file", "dir", "tcp", "udp", "dns"] {
        let outcome = seen[reach].as_str().unwrap();
        assert!(outcome.starts_with("error"), "{reach}: {outcome}");
    }
    let heard = listener.accept().map(|(_, peer)| peer);
    assert!(heard.is_err(), "a plugin connected: {heard:?}");
    let a_day_later = probe(NOW + 86_400_000);
    assert_eq!(a_day_later["wall_ms"], NOW + 86_400_000);
    assert_eq!(a_day_later["hash"], seen["hash"], "randomness repeats");
}

/// Waiting on a clock would hold the thread with no fuel spent: it traps at once.
#[test]
fn a_plugin_cannot_sleep() {
    let (kind, elapsed, _) = hostile_price("sleep", Limits::default());
    assert!(
        matches!(kind, FaultKind::Trap(ref why) if why.contains("wait")),
        "{kind:?}"
    );
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
}

#[test]
fn a_wrong_total_is_caught() {
    let (kind, _, message) = hostile_price("wrong_total", Limits::default());
    assert!(
        matches!(kind, FaultKind::BadOutput(ref why) if why.contains("subtotal + tax")),
        "{message}"
    );
}

#[test]
fn a_subtotal_that_is_not_the_sum_of_the_lines_is_caught() {
    let (kind, _, message) = hostile_price("wrong_subtotal", Limits::default());
    assert!(
        matches!(kind, FaultKind::BadOutput(ref why) if why.contains("not the sum of the lines")),
        "{message}"
    );
}

#[test]
fn an_unknown_state_or_a_nameless_refusal_is_caught() {
    let runtime = runtime();
    let plugin = runtime
        .bind(
            "hostile",
            load(&runtime, "hostile-lifecycle"),
            PluginKind::Lifecycle,
            &json!({}),
            Limits::default(),
        )
        .unwrap();
    let order = OrderView {
        id: "o".into(),
        user_id: "u".into(),
        status: "pending".into(),
        payment_status: "pending".into(),
        total: orderflow::domain::Money::new(100, "USD".parse().unwrap()),
        created_at: NOW,
        tracking_number: None,
    };
    let admin = Actor {
        id: "a".into(),
        role: "admin".into(),
    };
    let change = StatusChange {
        to: "confirmed".into(),
        tracking_number: None,
        carrier: None,
        reason: None,
    };
    let fault = plugin
        .change_status(&order, &change, &admin, NOW)
        .unwrap_err();
    assert!(
        matches!(&fault.kind, FaultKind::BadOutput(why) if why.contains("unknown status `teleported`")),
        "{fault}"
    );
    let pay = PaymentChange {
        to: "paid".into(),
        transaction_id: None,
        reason: None,
    };
    let fault = plugin
        .change_payment(&order, &pay, &admin, NOW)
        .unwrap_err();
    assert!(
        matches!(&fault.kind, FaultKind::BadOutput(why) if why.contains("problem code")),
        "{fault}"
    );
    // Its creation step is fine, and still served after the faults.
    let whole = draft(1);
    assert_eq!(
        plugin
            .create(&PricedOrder::of(&whole, &order.total), NOW)
            .unwrap()
            .verdict
            .unwrap()
            .status,
        "pending"
    );
}

#[test]
fn decisions_say_who_made_them() {
    let runtime = runtime();
    let pricing = load(&runtime, "standard-pricing");
    let params: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            common::repo_root().join("plugins/standard-pricing/fixtures/params.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let plugin = runtime
        .bind(
            "standard",
            pricing.clone(),
            PluginKind::Pricing,
            &params,
            Limits::default(),
        )
        .unwrap();
    let decided = plugin.price(&draft(10), NOW).unwrap();
    assert_eq!(
        (
            &*decided.by.workflow,
            &*decided.by.plugin,
            &decided.by.digest
        ),
        ("standard", "standard-pricing", &pricing.digest)
    );
    let quote = decided.verdict.unwrap();
    // 10 × 2 × 12.50 = 250.00, 7.25 % tax, free standard shipping.
    assert_eq!(
        (
            quote.subtotal.minor,
            quote.tax.minor,
            quote.shipping.minor,
            quote.total.minor
        ),
        (25_000, 1_813, 0, 26_813)
    );
    assert!(decided.fuel > 0);
}

#[test]
fn compiled_components_are_cached_on_disk_and_a_bad_artifact_is_recompiled() {
    use orderflow::plugins::{Runtime, RuntimeConfig};
    let cache = tempfile::tempdir().unwrap();
    let runtime = || {
        Runtime::new(RuntimeConfig {
            cache_dir: Some(cache.path().to_path_buf()),
            ..RuntimeConfig::default()
        })
        .unwrap()
    };
    let bytes = std::fs::read(common::built("standard-pricing")).unwrap();
    let first = runtime().load("standard-pricing", &bytes).unwrap();
    let artifacts: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(artifacts.len(), 1, "{artifacts:?}");
    let artifact = &artifacts[0];
    assert!(
        artifact
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with(&first.digest.hex())
    );

    // A new process (a new engine) loads the artifact instead of compiling.
    let written = std::fs::metadata(artifact).unwrap().modified().unwrap();
    let again = runtime().load("standard-pricing", &bytes).unwrap();
    assert_eq!(again.digest, first.digest);
    assert_eq!(
        std::fs::metadata(artifact).unwrap().modified().unwrap(),
        written
    );

    // A damaged artifact is not trusted: the component is compiled again, and serves.
    std::fs::write(artifact, b"damaged").unwrap();
    let runtime = runtime();
    let repaired = runtime.load("standard-pricing", &bytes).unwrap();
    assert!(std::fs::metadata(artifact).unwrap().len() > 1000);
    let plugin = runtime
        .bind(
            "w",
            repaired,
            PluginKind::Pricing,
            &json!({"currency": "USD", "shipping": {"rates": {"standard": 0}}}),
            Limits::default(),
        )
        .unwrap();
    assert!(plugin.price(&draft(1), NOW).unwrap().verdict.is_ok());
}

/// A workflow may give a decision fuel per order line on top of its base: the fuel that
/// prices a 3-line order does not price a 100-line one, until each line brings its own.
#[test]
fn fuel_per_line_lets_a_rule_that_fits_small_orders_price_large_ones() {
    let runtime = runtime();
    let fixtures = common::repo_root().join("plugins/standard-pricing/fixtures");
    let params = std::fs::read_to_string(fixtures.join(plugin_fixtures::SHARED_PARAMS_FILE));
    let params: serde_json::Value = serde_json::from_str(&params.unwrap()).unwrap();
    let bind = |limits| {
        let component = load(&runtime, "standard-pricing");
        (runtime.bind("fuel", component, PluginKind::Pricing, &params, limits)).unwrap()
    };
    let base = Limits {
        fuel: 40_000,
        ..Limits::default()
    };
    let flat = bind(base);
    let small = flat.price(&draft(3), NOW).unwrap();
    assert!(small.verdict.is_ok(), "{:?}", small.verdict);
    let fault = flat.price(&draft(100), NOW).unwrap_err();
    assert_eq!(fault.kind, FaultKind::OutOfFuel(40_000));
    let scaled = bind(Limits {
        fuel_per_line: 1_000,
        ..base
    });
    let large = scaled.price(&draft(100), NOW).unwrap();
    assert!(large.verdict.is_ok(), "{:?}", large.verdict);
    assert!(large.fuel > 40_000, "{}", large.fuel);
    let tight = bind(Limits {
        fuel_per_line: 100,
        ..base
    });
    let fault = tight.price(&draft(100), NOW).unwrap_err();
    assert_eq!(
        fault.kind,
        FaultKind::OutOfFuel(50_000),
        "the budget it had"
    );
}

/// Components of every contract version load side by side in one runtime and decide; only
/// 0.3.0's and later can log, and one that never does gets empty logs.
#[test]
fn components_of_every_contract_version_decide_side_by_side() {
    let runtime = runtime();
    let order = draft(3);
    for (name, version) in [
        ("hostile-pricing", "0.1.0"),
        ("pricing-v0-2", "0.2.0"),
        ("logging-pricing", "0.3.0"),
        ("standard-pricing", "0.5.0"),
    ] {
        let component = load(&runtime, name);
        assert_eq!(component.contract.as_str(), version, "{name}");
        let params = if name == "standard-pricing" {
            standard_pricing_params()
        } else {
            json!({})
        };
        let plugin = runtime
            .bind(
                "w",
                component,
                PluginKind::Pricing,
                &params,
                Limits::default(),
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let decided = plugin.price(&order, NOW).unwrap();
        assert!(decided.verdict.is_ok(), "{name}: {:?}", decided.verdict);
        assert_eq!(decided.logs, Logs::default(), "{name}");
    }
}

/// A lifecycle of contract 0.4.0 decides about changes; one of an older contract has no
/// such decision, and the service applies its defaults instead.
#[test]
fn only_lifecycles_of_contract_0_4_decide_about_changes() {
    use orderflow::domain::{ChangeKind, Money, OrderView, ReturnRequest, ReturnedLine};
    let runtime = runtime();
    let usd = |minor| Money::new(minor, "USD".parse().unwrap());
    let view = |status: &str| OrderView {
        id: "o1".into(),
        user_id: "u1".into(),
        status: status.into(),
        payment_status: "paid".into(),
        total: usd(4352),
        created_at: NOW,
        tracking_number: None,
    };
    let by = orderflow::domain::Actor {
        id: "u1".into(),
        role: "user".into(),
    };
    let request = ReturnRequest {
        lines: vec![ReturnedLine {
            product_id: "prod-widget".into(),
            quantity: 1,
            unit_price: usd(1999),
            reason: None,
        }],
        delivered_at: Some(NOW),
        subtotal: usd(3998),
        tax: usd(330),
        shipping: usd(599),
        discount: usd(0),
        refunded: usd(0),
        everything: false,
    };
    let bind = |name, params| {
        let component = load(&runtime, name);
        (runtime.bind(
            "w",
            component,
            PluginKind::Lifecycle,
            &params,
            Limits::default(),
        ))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let params = json!({ "restocking_fee_bp": 1000 });
    let standard = bind("standard-lifecycle", params);
    let allowed = standard.allow_change(&view("confirmed"), ChangeKind::Items, &by, NOW);
    assert_eq!(allowed.unwrap().unwrap().verdict, Ok(()));
    let refused = standard.allow_change(&view("shipped"), ChangeKind::Delivery, &by, NOW);
    let problems = refused.unwrap().unwrap().verdict.unwrap_err();
    assert_eq!(problems[0].code, "change_not_allowed");
    let refund = standard
        .refund(&view("delivered"), &request, NOW)
        .unwrap()
        .unwrap();
    let refund = refund.verdict.unwrap();
    // 19.99 of 39.98 and half the tax, less 10 % of 19.99.
    assert_eq!(refund.total, usd(1999 + 165 - 199));
    let old = bind("hostile-lifecycle", json!({}));
    assert!(
        old.allow_change(&view("confirmed"), ChangeKind::Items, &by, NOW)
            .is_none()
    );
    assert!(old.refund(&view("delivered"), &request, NOW).is_none());
}

/// A validation of contract 0.5.0 is told what each product has available where stock is
/// reserved, and judges on it; one of 0.4.0 never sees the figure and judges on the stock.
#[test]
fn only_validations_of_contract_0_5_see_what_is_available() {
    let runtime = runtime();
    let bind = |name, params: &serde_json::Value| {
        let component = load(&runtime, name);
        (runtime.bind(
            "w",
            component,
            PluginKind::Validation,
            params,
            Limits::default(),
        ))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let path = common::repo_root().join("plugins/standard-validation/fixtures/params.json");
    let params = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let standard = bind("standard-validation", &params);
    let old = bind("validation-v0-4", &json!({}));
    // 100 in stock (the draft's), 1 available: the second line's 2 units are too many.
    let mut order = draft(2);
    order.items[1].product.available = Some(1);
    let problems = standard.validate(&order, NOW).unwrap().verdict.unwrap_err();
    assert_eq!(
        (problems[0].code.as_str(), problems[0].field.as_deref()),
        ("insufficient_stock", Some("items[1].quantity"))
    );
    assert_eq!(problems[0].message, "only 1 of product p1 available");
    assert!(old.validate(&order, NOW).unwrap().verdict.is_ok());
    // Where the workflow does not reserve there is no figure: the stock decides.
    order.items[1].product.available = None;
    assert!(standard.validate(&order, NOW).unwrap().verdict.is_ok());
}

fn standard_pricing_params() -> serde_json::Value {
    let path = common::repo_root().join("plugins/standard-pricing/fixtures/params.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Binds `logging-pricing` to `params` under `limits`.
fn logging(
    params: serde_json::Value,
    limits: Limits,
) -> std::sync::Arc<orderflow::plugins::BoundPlugin> {
    let runtime = runtime();
    let component = load(&runtime, "logging-pricing");
    runtime
        .bind("w", component, PluginKind::Pricing, &params, limits)
        .unwrap()
}

fn line(level: LogLevel, message: &str) -> LogLine {
    LogLine {
        level,
        message: message.into(),
    }
}

/// A decision's lines come back with it, in order, with their levels; `configure`'s do not
/// (it logs one), and each decision starts with none of the last one's.
#[test]
fn a_decisions_log_lines_come_back_with_it() {
    let say = json!({"say": [["debug", "looking"], ["info", "code SAVE10 applied"],
                             ["warn", "no tax rate for XX"], ["error", "odd"]]});
    let plugin = logging(say, Limits::default());
    for _ in 0..2 {
        let decided = plugin.price(&draft(2), NOW).unwrap();
        assert_eq!(
            decided.logs,
            Logs {
                lines: vec![
                    line(LogLevel::Debug, "looking"),
                    line(LogLevel::Info, "code SAVE10 applied"),
                    line(LogLevel::Warn, "no tax rate for XX"),
                    line(LogLevel::Error, "odd"),
                ],
                cut: 0,
            }
        );
    }
}

/// Past `log_lines`, lines are counted, not kept; past `log_bytes`, the line that crosses the
/// budget is kept cut to it and the rest are counted.
#[test]
fn log_lines_are_cut_at_the_limits_and_counted() {
    let say = json!({"say": [["info", "0123456789"]], "repeat": 50});
    let by_lines = logging(
        say.clone(),
        Limits {
            log_lines: 3,
            ..Limits::default()
        },
    );
    let logs = by_lines.price(&draft(1), NOW).unwrap().logs;
    assert_eq!((logs.lines.len(), logs.cut), (3, 47));

    let by_bytes = logging(
        say,
        Limits {
            log_bytes: 25,
            ..Limits::default()
        },
    );
    let logs = by_bytes.price(&draft(1), NOW).unwrap().logs;
    let kept: Vec<&str> = logs.lines.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(kept, ["0123456789", "0123456789", "01234"]);
    assert_eq!(logs.cut, 48);

    // The defaults: 20 lines, 4096 bytes.
    let defaults = logging(
        json!({"say": [["info", "x".repeat(300)]], "repeat": 30}),
        Limits::default(),
    );
    let logs = defaults.price(&draft(1), NOW).unwrap().logs;
    let bytes: usize = logs.lines.iter().map(|l| l.message.len()).sum();
    assert_eq!((logs.lines.len(), bytes, logs.cut), (14, 4096, 17));
}

/// A plugin that traps after logging: its fault carries what it said.
#[test]
fn a_faults_last_words_come_with_it() {
    let plugin = logging(
        json!({"say": [["error", "about to fail"]], "then": "trap"}),
        Limits::default(),
    );
    let fault = plugin.price(&draft(1), NOW).unwrap_err();
    assert!(matches!(fault.kind, FaultKind::Trap(_)), "{:?}", fault.kind);
    assert_eq!(fault.logs.lines, [line(LogLevel::Error, "about to fail")]);
}
