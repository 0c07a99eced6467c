//! Workflows and hot reload against real files: what loads, what is refused and reported,
//! and a plugin replaced again and again while calls keep coming.

mod common;

use common::{NOW, Sandbox, built, draft};
use orderflow::domain::Digest;
use orderflow::plugins::Registry;
use orderflow::plugins::hot_reload::watch;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn open(sandbox: &Sandbox) -> Arc<Registry> {
    Registry::open(
        common::runtime(),
        sandbox.plugins(),
        sandbox.workflows(),
        None,
    )
}

#[test]
fn the_standard_workflow_loads() {
    let sandbox = Sandbox::new();
    let registry = open(&sandbox);
    let serving = registry.current();
    assert!(serving.errors.is_empty(), "{:?}", serving.errors);
    let standard = registry.workflow("standard").unwrap();
    assert_eq!(standard.machine().statuses.len(), 7);
    assert_eq!(standard.machine().payment_statuses.len(), 5);
    assert_eq!(standard.pricing.component().name, "standard-pricing");
    assert!(
        standard
            .validation
            .validate(&draft(3), NOW)
            .unwrap()
            .verdict
            .is_ok()
    );
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    started.elapsed()
}

#[test]
fn a_broken_file_leaves_the_previous_version_serving_and_is_reported() {
    let sandbox = Sandbox::new();
    let registry = open(&sandbox);
    let before = registry.workflow("standard").unwrap();
    let digest = before.pricing.component().digest.clone();

    sandbox.put_plugin("standard-pricing", b"not a component");
    registry.reload();
    let serving = registry.current();
    assert!(
        serving.errors["standard-pricing.wasm"]
            .error
            .contains("not a valid component")
    );
    assert_eq!(pricing_digest(&registry), digest);

    let text = std::fs::read_to_string(sandbox.workflows().join("standard.toml")).unwrap();
    sandbox.put_workflow(
        "standard",
        &text.replace(
            "plugin = \"standard-lifecycle\"",
            "plugin = \"no-such-plugin\"",
        ),
    );
    registry.reload();
    assert!(
        registry.current().errors["standard.toml"]
            .error
            .contains("`no-such-plugin` not found")
    );
    assert!(
        Arc::ptr_eq(&registry.workflow("standard").unwrap(), &before),
        "the previous workflow keeps serving"
    );

    sandbox.put_workflow(
        "standard",
        &text.replace("currency = \"USD\"", "currency = \"dollars\""),
    );
    registry.reload();
    assert!(
        registry.current().errors["standard.toml"]
            .error
            .contains("parameters were refused")
    );

    // A component of the wrong kind under a pricing name.
    sandbox.put_plugin(
        "standard-pricing",
        &std::fs::read(built("standard-lifecycle")).unwrap(),
    );
    sandbox.put_workflow("standard", &text);
    registry.reload();
    assert!(
        registry.current().errors["standard.toml"]
            .error
            .contains("not pricing decisions")
    );

    // Fixed: the errors clear and the new version serves; a call holding the old
    // workflow still finishes on the version it started with.
    let held = registry.workflow("standard").unwrap();
    sandbox.put_plugin(
        "standard-pricing",
        &std::fs::read(built("hostile-pricing")).unwrap(),
    );
    registry.reload();
    assert!(
        registry.current().errors.is_empty(),
        "{:?}",
        registry.current().errors
    );
    assert_eq!(
        registry
            .workflow("standard")
            .unwrap()
            .pricing
            .component()
            .name,
        "standard-pricing"
    );
    assert_ne!(pricing_digest(&registry), digest);
    assert_eq!(
        held.pricing.price(&draft(2), NOW).unwrap().by.digest,
        digest
    );
}

#[test]
fn workflows_are_added_and_edited_by_dropping_files() {
    let sandbox = Sandbox::new();
    let registry = open(&sandbox);
    let _watching = watch(registry.clone()).unwrap();
    let text = std::fs::read_to_string(sandbox.workflows().join("standard.toml")).unwrap();
    sandbox.put_workflow(
        "wholesale",
        &text.replace("max_quantity = 999", "max_quantity = 5000"),
    );
    wait_for("the new workflow", || {
        registry.workflow("wholesale").is_some()
    });
    let wholesale = registry.workflow("wholesale").unwrap();
    assert_eq!(&*wholesale.pricing.decider().workflow, "wholesale");
    // Same components, shared, not loaded twice.
    let standard = registry.workflow("standard").unwrap();
    assert!(Arc::ptr_eq(
        standard.pricing.component(),
        wholesale.pricing.component()
    ));
}

/// Many threads price orders while the pricing component is replaced over and over —
/// valid, then garbage, then another valid version. No call may fail, and every quote must
/// come entirely from the version whose digest it carries.
#[test]
fn hot_swap_under_load_fails_no_call() {
    let sandbox = Sandbox::new();
    let registry = open(&sandbox);
    let _watching = watch(registry.clone()).unwrap();
    let standard = std::fs::read(built("standard-pricing")).unwrap();
    let flat = std::fs::read(built("hostile-pricing")).unwrap(); // quotes the subtotal only
    // draft(10): 250.00; standard adds 7.25 % tax and ships free.
    let expected_total =
        BTreeMap::from([(Digest::of(&standard), 26_813), (Digest::of(&flat), 25_000)]);

    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(BTreeMap::<Digest, u64>::new()));
    let callers: Vec<_> = (0..6)
        .map(|_| {
            let (registry, stop, seen, expected_total) = (
                registry.clone(),
                stop.clone(),
                seen.clone(),
                expected_total.clone(),
            );
            std::thread::spawn(move || {
                let order = draft(10);
                let mut failures = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let workflow = registry
                        .workflow("standard")
                        .expect("standard is always there");
                    match workflow.pricing.price(&order, NOW) {
                        Ok(decided) => {
                            let total = decided
                                .verdict
                                .expect("a valid order is priced")
                                .total
                                .minor;
                            assert_eq!(
                                Some(&total),
                                expected_total.get(&decided.by.digest),
                                "a quote mixing versions"
                            );
                            *seen.lock().unwrap().entry(decided.by.digest).or_default() += 1;
                        }
                        Err(fault) => failures.push(fault.to_string()),
                    }
                }
                failures
            })
        })
        .collect();

    let active = || pricing_digest(&registry);
    let mut swaps = Vec::new();
    for _ in 0..4 {
        for (bytes, label) in [(&flat, "flat"), (&standard, "standard")] {
            sandbox.put_plugin("standard-pricing", b"\0asm garbage");
            wait_for("the garbage to be reported", || {
                registry
                    .current()
                    .errors
                    .contains_key("standard-pricing.wasm")
            });
            let serving = active();
            sandbox.put_plugin("standard-pricing", bytes);
            let digest = Digest::of(bytes);
            swaps.push(wait_for(label, || active() == digest));
            assert_ne!(serving, digest);
            assert!(registry.current().errors.is_empty());
        }
    }
    stop.store(true, Ordering::Relaxed);
    let failures: Vec<String> = callers
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    assert!(
        failures.is_empty(),
        "{} failed calls, e.g. {}",
        failures.len(),
        failures[0]
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2, "both versions served: {seen:?}");
    let slowest = swaps.iter().max().unwrap();
    println!(
        "{} swaps, slowest visible after {slowest:?}; calls per version {seen:?}",
        swaps.len()
    );
    assert!(*slowest < Duration::from_secs(5), "a swap took {slowest:?}");
}

/// The digest of the pricing plugin the standard workflow serves now.
fn pricing_digest(registry: &Registry) -> Digest {
    registry
        .workflow("standard")
        .unwrap()
        .pricing
        .component()
        .digest
        .clone()
}
