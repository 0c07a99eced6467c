//! The plugin decisions of one 10-item order: latency on the request path (instances
//! prepared ahead), with instantiation on the call, and the same rules called natively;
//! then the time from a plugin file write to the new version serving.
//!
//! Run: `cargo bench -p orderflow --bench decisions` (prints a Markdown table).

#[path = "../tests/common/mod.rs"]
mod common;

use common::{NOW, Sandbox, built, draft, repo_root};
use orderflow::domain::Digest;
use orderflow::domain::{
    Actor, ChangeKind, Money, OrderDraft, OrderView, PricedOrder, ReturnRequest, ReturnedLine,
};
use orderflow::plugins::hot_reload::watch;
use orderflow::plugins::{BoundPlugin, Runtime, RuntimeConfig};
use orderflow::plugins::{Definition, Registry, Workflow};
use orderflow_plugin_sdk::machine::Lifecycle;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

// The service's allocator (main.rs): the host side of a call allocates what it lifts.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SAMPLES: usize = 20_000;

struct Stats {
    p50: Duration,
    p99: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    Stats {
        p50: at(0.50),
        p99: at(0.99),
    }
}

fn us(d: Duration) -> String {
    format!("{:.2} µs", d.as_secs_f64() * 1e6)
}

/// Waits until the preparer is idle, so the next call finds an instance ready and does
/// not share the machine with a refill: the steady state of a service between requests.
fn settle(plugins: &[&Arc<BoundPlugin>]) {
    while plugins
        .iter()
        .any(|p| p.pool().refilling() || p.pool().ready() == 0)
    {
        std::thread::yield_now();
    }
}

fn sample(n: usize, mut before: impl FnMut(), mut call: impl FnMut()) -> Stats {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        before();
        let started = Instant::now();
        call();
        samples.push(started.elapsed());
    }
    stats(samples)
}

/// Native calls take ~100 ns: time batches of 100 and divide.
fn sample_native(mut call: impl FnMut()) -> Stats {
    let batch = 100u32;
    let samples = (0..SAMPLES / 10)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..batch {
                call();
            }
            started.elapsed() / batch
        })
        .collect();
    stats(samples)
}

fn standard(prepared: usize) -> (Arc<Registry>, Arc<Workflow>) {
    let runtime = Runtime::new(RuntimeConfig {
        prepared_instances: prepared,
        ..RuntimeConfig::default()
    })
    .unwrap();
    let registry = Registry::open(
        runtime,
        built("standard-pricing").parent().unwrap().to_path_buf(),
        repo_root().join("workflows"),
        None,
    );
    let workflow = registry
        .workflow("standard")
        .expect("workflows/standard.toml loads");
    (registry, workflow)
}

fn main() {
    let order = draft(10);
    let total = orderflow::domain::Money::new(26_813, "USD".parse().unwrap());
    let priced = PricedOrder::of(&order, &total);
    // ---- wasm, request path: a prepared instance per call, from a pool the service's size.
    let (_registry, hot) = standard(RuntimeConfig::default().prepared_instances);
    let plugins = [&hot.validation, &hot.pricing, &hot.lifecycle];
    let settled = || settle(&plugins);
    let (view, by, request) = placed(&order, &total);
    let confirmed = OrderView {
        status: "confirmed".into(),
        ..view.clone()
    };
    let fuel = [
        hot.validation.validate(&order, NOW).unwrap().fuel,
        hot.pricing.price(&order, NOW).unwrap().fuel,
        hot.lifecycle.create(&priced, NOW).unwrap().fuel,
        (hot.lifecycle
            .allow_change(&confirmed, ChangeKind::Items, &by, NOW))
        .unwrap()
        .unwrap()
        .fuel,
        hot.lifecycle
            .refund(&view, &request, NOW)
            .unwrap()
            .unwrap()
            .fuel,
    ];
    let hot_validate = sample(SAMPLES, settled, || {
        drop(black_box(hot.validation.validate(&order, NOW).unwrap()))
    });
    let hot_price = sample(SAMPLES, settled, || {
        drop(black_box(hot.pricing.price(&order, NOW).unwrap()))
    });
    let hot_create = sample(SAMPLES, settled, || {
        drop(black_box(hot.lifecycle.create(&priced, NOW).unwrap()))
    });
    // All three, as placing an order makes them: this order, and the 2-item order of the
    // HTTP benchmark.
    let all_three = |order: &OrderDraft| {
        sample(SAMPLES, settled, || {
            black_box(hot.validation.validate(order, NOW).unwrap());
            let quote = hot.pricing.price(order, NOW).unwrap().verdict.unwrap();
            let priced = PricedOrder::of(order, &quote.total);
            black_box(hot.lifecycle.create(&priced, NOW).unwrap());
        })
    };
    let hot_all = all_three(&order);
    // The decisions about a placed order's changes (contract 0.4.0): may its items change,
    // and what a return of all 10 lines refunds.
    let hot_allow = sample(SAMPLES, settled, || {
        let decided = hot
            .lifecycle
            .allow_change(&confirmed, ChangeKind::Items, &by, NOW);
        drop(black_box(decided.unwrap().unwrap()))
    });
    let hot_refund = sample(SAMPLES, settled, || {
        drop(black_box(
            hot.lifecycle.refund(&view, &request, NOW).unwrap().unwrap(),
        ))
    });
    let hot_all_small = all_three(&draft(2));

    // ---- wasm, instantiate + configure + call: no prepared instances.
    let (_cold_registry, cold) = standard(0);
    let cold_validate = sample(
        SAMPLES / 4,
        || {},
        || drop(black_box(cold.validation.validate(&order, NOW).unwrap())),
    );
    let cold_price = sample(
        SAMPLES / 4,
        || {},
        || drop(black_box(cold.pricing.price(&order, NOW).unwrap())),
    );
    let cold_create = sample(
        SAMPLES / 4,
        || {},
        || drop(black_box(cold.lifecycle.create(&priced, NOW).unwrap())),
    );
    let cold_allow = sample(
        SAMPLES / 4,
        || {},
        || {
            let decided = cold
                .lifecycle
                .allow_change(&confirmed, ChangeKind::Items, &by, NOW);
            drop(black_box(decided.unwrap().unwrap()))
        },
    );
    let cold_refund = sample(
        SAMPLES / 4,
        || {},
        || {
            drop(black_box(
                cold.lifecycle
                    .refund(&view, &request, NOW)
                    .unwrap()
                    .unwrap(),
            ))
        },
    );

    // ---- the same rules, native.
    let definition = Definition::parse(
        &std::fs::read_to_string(repo_root().join("workflows/standard.toml")).unwrap(),
    )
    .unwrap();
    let [v, p, l] = definition.steps().unwrap();
    let order_json = serde_json::to_string(&order).unwrap();
    let native_validation =
        standard_validation::rules::Params::from_json(&v.params.to_string()).unwrap();
    let native_pricing = standard_pricing::rules::Params::from_json(&p.params.to_string()).unwrap();
    let native_lifecycle =
        standard_lifecycle::rules::Rules::from_json(&l.params.to_string()).unwrap();
    let v_order: standard_validation::orderflow::plugins::types::OrderDraft =
        serde_json::from_str(&order_json).unwrap();
    let p_order: standard_pricing::orderflow::plugins::types::OrderDraft =
        serde_json::from_str(&order_json).unwrap();
    let native_validate = sample_native(|| {
        drop(black_box(standard_validation::rules::validate(
            &native_validation,
            black_box(&v_order),
        )))
    });
    let native_price = sample_native(|| {
        drop(black_box(standard_pricing::rules::price(
            &native_pricing,
            black_box(&p_order),
            NOW,
        )))
    });
    let l_order: standard_lifecycle::exports::orderflow::plugins::lifecycle::PricedOrder =
        serde_json::from_value(serde_json::json!({
            "user_id": order.user_id,
            "total": total,
            "shipping_method": order.shipping_method,
            "payment_method": order.payment_method,
        }))
        .unwrap();
    let native_create = sample_native(|| {
        drop(black_box(Lifecycle::create(
            black_box(&native_lifecycle),
            black_box(&l_order),
        )))
    });
    let (l_view, l_by, l_request) = (as_plugin(&view), as_plugin(&by), as_plugin(&request));
    let l_confirmed = as_plugin(&confirmed);
    let native_allow = sample_native(|| {
        drop(black_box(Lifecycle::allow_change(
            black_box(&native_lifecycle),
            black_box(&l_confirmed),
            standard_lifecycle::exports::orderflow::plugins::lifecycle::ChangeKind::Items,
            &l_by,
            NOW,
        )))
    });
    let native_refund = sample_native(|| {
        drop(black_box(Lifecycle::refund(
            black_box(&native_lifecycle),
            &l_view,
            black_box(&l_request),
            NOW,
        )))
    });

    println!("## Plugin decisions, 10-item order ({SAMPLES} samples each)\n");
    println!(
        "| decision | request path p50 | p99 | instantiate + call p50 | p99 | native p50 | wasm/native (request path) | fuel |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let rows = [
        (
            "validation",
            &hot_validate,
            &cold_validate,
            &native_validate,
            fuel[0],
        ),
        ("pricing", &hot_price, &cold_price, &native_price, fuel[1]),
        (
            "lifecycle (create)",
            &hot_create,
            &cold_create,
            &native_create,
            fuel[2],
        ),
        (
            "lifecycle (allow_change)",
            &hot_allow,
            &cold_allow,
            &native_allow,
            fuel[3],
        ),
        (
            "lifecycle (refund, 10 lines)",
            &hot_refund,
            &cold_refund,
            &native_refund,
            fuel[4],
        ),
    ];
    for (name, hot, cold, native, fuel) in rows {
        let ratio = hot.p50.as_secs_f64() / native.p50.as_secs_f64();
        println!(
            "| {name} | {} | {} | {} | {} | {} | {ratio:.0}× | {fuel} |",
            us(hot.p50),
            us(hot.p99),
            us(cold.p50),
            us(cold.p99),
            us(native.p50)
        );
    }
    for (name, all) in [("", &hot_all), (", 2 items", &hot_all_small)] {
        println!(
            "| **all three, one order{name}** | **{}** | {} | | | | | |",
            us(all.p50),
            us(all.p99)
        );
    }

    languages(&order);
    swap_latency();
}

/// `value` as a plugin crate's generated type: the JSON of both is the contract's.
fn as_plugin<T: serde::de::DeserializeOwned>(value: &impl serde::Serialize) -> T {
    serde_json::from_value(serde_json::to_value(value).unwrap()).unwrap()
}

/// `order` placed, paid and delivered as the lifecycle sees it, its customer, and a return
/// of every unit.
fn placed(order: &OrderDraft, total: &Money) -> (OrderView, Actor, ReturnRequest) {
    let currency = total.currency;
    let subtotal = (order.items.iter())
        .map(|l| l.product.unit_price.minor * i64::from(l.quantity))
        .sum();
    let view = OrderView {
        id: "order-1".into(),
        user_id: order.user_id.clone(),
        status: "delivered".into(),
        payment_status: "paid".into(),
        total: *total,
        created_at: NOW,
        tracking_number: Some("1Z999".into()),
    };
    let by = Actor {
        id: order.user_id.clone(),
        role: "user".into(),
    };
    let lines = (order.items.iter())
        .map(|l| ReturnedLine {
            product_id: l.product.product_id.clone(),
            quantity: l.quantity,
            unit_price: l.product.unit_price,
            reason: None,
        })
        .collect();
    let request = ReturnRequest {
        lines,
        delivered_at: Some(NOW),
        subtotal: Money::new(subtotal, currency),
        tax: Money::new(total.minor - subtotal, currency),
        shipping: Money::new(0, currency),
        discount: Money::new(0, currency),
        refunded: Money::new(0, currency),
        everything: true,
    };
    (view, by, request)
}

/// The standard pricing rule in each language, on the same 10-item order with the standard
/// workflow's parameters and the limits the service gives each component. The JavaScript and
/// Python components are those `bash plugins/languages.sh` builds; a row is skipped when its
/// file is missing.
fn languages(order: &OrderDraft) {
    let definition = Definition::parse(
        &std::fs::read_to_string(repo_root().join("workflows/standard.toml")).unwrap(),
    )
    .unwrap();
    let [_, step, _] = definition.steps().unwrap();
    let plugins = repo_root().join("plugins");
    let files = [
        ("Rust", built("standard-pricing")),
        (
            "JavaScript (jco, QuickJS)",
            plugins.join("standard-pricing-js/standard-pricing.wasm"),
        ),
        (
            "Python (componentize-py)",
            plugins.join("standard-pricing-py/standard-pricing.wasm"),
        ),
    ];
    println!("\n## The standard pricing rule by language, 10-item order\n");
    println!(
        "| language | request path p50 | p99 | instantiate + configure + call p50 | fuel | memory per instance | compile | size |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (language, file) in files {
        let Ok(bytes) = std::fs::read(&file) else {
            println!("| {language} | not built: `bash plugins/languages.sh` | | | | | | |");
            continue;
        };
        // No precompiled cache: the compile is timed.
        let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
        let started = Instant::now();
        let component = runtime.load("standard-pricing", &bytes).unwrap();
        let compile = started.elapsed();
        let limits = step.limits.resolve(component.default_limits());
        let hot = runtime
            .bind("bench", component.clone(), step.kind, &step.params, limits)
            .unwrap();
        let decided = hot.price(order, NOW).unwrap();
        assert!(decided.verdict.is_ok(), "{language}: {:?}", decided.verdict);
        // Interpreted calls take milliseconds: fewer samples.
        let n = if component.size < orderflow::plugins::runtime::RUNTIME_CARRYING_BYTES {
            SAMPLES
        } else {
            SAMPLES / 20
        };
        let request_path = sample(
            n,
            || settle(&[&hot]),
            || drop(black_box(hot.price(order, NOW).unwrap())),
        );
        let cold = runtime.rebind(&hot, component.clone()).unwrap();
        let instantiated = sample(
            n / 4,
            || {},
            || drop(black_box(cold.price(order, NOW).unwrap())),
        );
        println!(
            "| {language} | {} | {} | {} | {} | {:.1} MiB | {:.2} s | {:.1} MB |",
            us(request_path.p50),
            us(request_path.p99),
            us(instantiated.p50),
            decided.fuel,
            decided.memory as f64 / (1024.0 * 1024.0),
            compile.as_secs_f64(),
            bytes.len() as f64 / 1e6,
        );
    }
}

/// Time from writing a new pricing component to the registry serving it, alternating two
/// versions, while a thread prices orders non-stop and counts failures.
fn swap_latency() {
    let sandbox = Sandbox::new();
    let cache = tempfile::tempdir().unwrap();
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: Some(cache.path().to_path_buf()),
        ..RuntimeConfig::default()
    })
    .unwrap();
    let registry = Registry::open(runtime, sandbox.plugins(), sandbox.workflows(), None);
    let _watching = watch(registry.clone()).unwrap();
    let versions = [
        std::fs::read(built("hostile-pricing")).unwrap(),
        std::fs::read(built("standard-pricing")).unwrap(),
    ];

    let stop = Arc::new(AtomicBool::new(false));
    let (calls, failures) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let caller = {
        let (registry, stop, calls, failures) = (
            registry.clone(),
            stop.clone(),
            calls.clone(),
            failures.clone(),
        );
        std::thread::spawn(move || {
            let order = draft(10);
            while !stop.load(Ordering::Relaxed) {
                let ok = registry
                    .workflow("standard")
                    .unwrap()
                    .pricing
                    .price(&order, NOW)
                    .is_ok();
                calls.fetch_add(1, Ordering::Relaxed);
                if !ok {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };

    // Writes `bytes` as the pricing component and waits until it serves.
    let swap = |bytes: &[u8]| {
        let digest = Digest::of(bytes);
        let started = Instant::now();
        sandbox.put_plugin("standard-pricing", bytes);
        while registry
            .workflow("standard")
            .unwrap()
            .pricing
            .component()
            .digest
            != digest
        {
            std::thread::sleep(Duration::from_micros(200));
        }
        started.elapsed()
    };
    // Versions never seen: the same code, each made unique by a custom section, so each
    // is compiled.
    let fresh: Vec<Duration> = (0..5u8)
        .map(|n| swap(&with_custom_section(&versions[0], n)))
        .collect();
    // Known versions, alternating: each is in the precompiled cache (the first is compiled
    // here, uncounted).
    swap(&versions[0]);
    let cached: Vec<Duration> = (1..41).map(|round| swap(&versions[round % 2])).collect();
    stop.store(true, Ordering::Relaxed);
    caller.join().unwrap();
    let (fresh, cached) = (stats(fresh), stats(cached));
    println!(
        "\n## Hot swap: pricing component written → serving (file watcher, 1 thread pricing non-stop)\n"
    );
    println!("| swap | p50 | max | calls during swaps | failed |");
    println!("|---|---|---|---|---|");
    println!(
        "| new version (compile), 5 swaps | {} | {} | | |",
        us(fresh.p50),
        us(fresh.p99)
    );
    println!(
        "| known version (precompiled cache), 40 swaps | {} | {} | {} | {} |",
        us(cached.p50),
        us(cached.p99),
        calls.load(Ordering::Relaxed),
        failures.load(Ordering::Relaxed)
    );
}

/// `component` with a custom section appended: another digest, the same code.
fn with_custom_section(component: &[u8], n: u8) -> Vec<u8> {
    let name = b"orderflow-bench";
    let mut bytes = component.to_vec();
    bytes.extend([0, (1 + name.len() + 1) as u8, name.len() as u8]);
    bytes.extend(name);
    bytes.push(n);
    bytes
}
