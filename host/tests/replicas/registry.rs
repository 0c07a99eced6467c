//! One plugin registry for all replicas: three replicas of the real service on one MongoDB
//! database, each with its own empty `DATA_DIR`. A version uploaded and activated on one
//! serves on the others within 2 s, a rollback on another likewise, a file dropped into
//! one replica's plugin directory reaches all, a refused version is served by none, and a
//! replica started later with nothing compiled is ready within 3 s, taking the compiled
//! plugins the others shared (and only those signed with the replicas' key), and serves
//! the active set. Rollouts, replays and shadows started on one
//! replica hold on all, and a plugin's calls per hour are counted over all.

use crate::harness::{App, Backend, Client, priced_by, token};
use orderflow::domain::Digest;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const PRICING: &str = "/api/v1/plugins/standard-pricing";
/// How soon every replica must serve a change made on one of them.
pub(super) const CONVERGE_WITHIN: Duration = Duration::from_secs(2);
/// How soon a replica started with an empty `DATA_DIR` must listen.
const READY_WITHIN: Duration = Duration::from_secs(3);

pub(super) fn component(name: &str) -> Vec<u8> {
    std::fs::read(crate::common::built(name)).unwrap()
}

pub(super) fn digest(bytes: &[u8]) -> String {
    Digest::of(bytes).full()
}

/// Replicas `ids` of one service on a database of their own, each with its own data.
fn replicas(database: &str, ids: &[&str]) -> Vec<App> {
    ids.iter().map(|id| start(database, id)).collect()
}

fn start(database: &str, id: &str) -> App {
    App::start_on(Backend::Mongo, settings(database, id))
}

/// Replica `id` with a plugin cache of its own (`cache`), not the one the tests share.
fn start_with(database: &str, id: &str, cache: &std::path::Path) -> App {
    let mut settings = settings(database, id);
    settings.push(("PLUGIN_CACHE_DIR", cache.display().to_string()));
    App::start_on(Backend::Mongo, settings)
}

fn settings(database: &str, id: &str) -> Vec<(&'static str, String)> {
    vec![
        ("REPLICA_ID", id.into()),
        ("DATABASE_NAME", database.into()),
    ]
}

async fn serving(replica: &Client, admin: &str) -> Value {
    let (status, plugin) = replica.get(PRICING, Some(admin)).await;
    assert_eq!(status, 200, "{plugin}");
    plugin
}

/// How long after `since` every replica served `digest` as standard-pricing (polled every
/// 10 ms); fails after 10 s.
async fn all_serve(replicas: &[Client], admin: &str, digest: &str, since: Instant) -> Duration {
    for replica in replicas {
        while serving(replica, admin).await["digest"] != digest {
            assert!(
                since.elapsed() < Duration::from_secs(10),
                "{digest} not served everywhere after 10 s: {}",
                serving(replica, admin).await
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    since.elapsed()
}

/// Each replica prices its next order with `digest`.
async fn each_prices_with(replicas: &[Client], digest: &str) {
    let buyer = token("u1", false);
    for replica in replicas {
        let (status, order) = replica.place(&buyer, &[("prod-widget", 2)]).await;
        assert_eq!(status, 201, "{order}");
        assert_eq!(priced_by(&order), digest, "{order}");
    }
}

/// Every replica serves `digest` within [`CONVERGE_WITHIN`] of `answered` (the change
/// made on one of them, described by `what`) and prices its next order with it.
async fn followed(replicas: &[Client], admin: &str, digest: &str, answered: Instant, what: &str) {
    let took = all_serve(replicas, admin, digest, answered).await;
    eprintln!("registry: {what} served by all three {took:.0?} after its answer");
    assert!(took <= CONVERGE_WITHIN, "{what}: {took:?}");
    each_prices_with(replicas, digest).await;
}

pub(super) async fn activate(replica: &Client, admin: &str, bytes: &[u8]) -> (u16, Value) {
    replica
        .bytes(
            "POST",
            &format!("{PRICING}/versions?activate=true"),
            Some(admin),
            "application/wasm",
            bytes,
        )
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn every_replica_serves_what_one_of_them_activated() {
    let database = format!("orderflow_registry_{}", uuid::Uuid::now_v7().simple());
    // r1 compiles every plugin itself (a cache of its own, empty), and so shares them; r2
    // and r3 find them in the cache the tests share, and share nothing.
    let first_cache = tempfile::tempdir().unwrap();
    let mut apps = vec![start_with(&database, "r1", first_cache.path())];
    apps.extend(replicas(&database, &["r2", "r3"]));
    let clients: Vec<Client> = apps.iter().map(|app| app.client()).collect();
    let admin = token("ops", true);
    let (standard, flat_bytes) = (
        digest(&component("standard-pricing")),
        component("hostile-pricing"),
    );
    let flat = digest(&flat_bytes);
    each_prices_with(&clients, &standard).await;

    // Upload and activate on r1: r2 and r3 follow.
    let (status, uploaded) = activate(&clients[0], &admin, &flat_bytes).await;
    let answered = Instant::now();
    assert_eq!(status, 201, "{uploaded}");
    followed(&clients, &admin, &flat, answered, "an activation on r1").await;

    // A rollback on r3 reaches r1 and r2.
    let (status, rolled_back) = clients[2]
        .post(
            &format!("{PRICING}/rollback"),
            Some(&admin),
            &json!({}),
            None,
        )
        .await;
    let answered = Instant::now();
    assert_eq!(status, 200, "{rolled_back}");
    followed(&clients, &admin, &standard, answered, "a rollback on r3").await;

    // A version refused on r2 is kept nowhere and served by none.
    let refused = component("hostile-pricing-panic");
    let (status, answer) = activate(&clients[1], &admin, &refused).await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (422, &json!("plugin_rejected"))
    );
    tokio::time::sleep(CONVERGE_WITHIN).await;
    for replica in &clients {
        let plugin = serving(replica, &admin).await;
        assert_eq!(plugin["digest"], standard.as_str(), "{plugin}");
        let versions: Vec<&str> = plugin["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["digest"].as_str().unwrap())
            .collect();
        assert_eq!(versions.len(), 2, "{plugin}");
        assert!(!versions.contains(&digest(&refused).as_str()), "{plugin}");
    }
    each_prices_with(&clients, &standard).await;

    // A file dropped into r2's plugin directory serves everywhere, recorded as a drop there.
    let partial = apps[1].plugin_dir().join("standard-pricing.wasm.partial");
    std::fs::write(&partial, &flat_bytes).unwrap();
    let dropped = Instant::now();
    std::fs::rename(&partial, apps[1].plugin_dir().join("standard-pricing.wasm")).unwrap();
    let took = all_serve(&clients, &admin, &flat, dropped).await;
    eprintln!("registry: a file dropped on r2 served by all three {took:.0?} later");
    let last = serving(&clients[0], &admin).await["last_change"].clone();
    assert_eq!(
        (&last["action"], &last["by"], &last["replica"]),
        (&json!("file_dropped"), &json!("file"), &json!("r2")),
        "{last}"
    );
    // The shared history is the same whichever replica is asked.
    let mut histories = Vec::new();
    for replica in &clients {
        let (status, history) = replica
            .get(&format!("{PRICING}/history"), Some(&admin))
            .await;
        assert_eq!(status, 200, "{history}");
        histories.push(history);
    }
    assert!(histories.windows(2).all(|w| w[0] == w[1]), "{histories:?}");
    let actions: Vec<&str> = histories[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "file_dropped",
            "uploaded",
            "activated",
            "rolled_back",
            "file_dropped"
        ]
    );

    // A fourth replica, started now with an empty DATA_DIR and an empty plugin cache (and
    // the image's standard version in its plugin directory), is ready within
    // [`READY_WITHIN`]: it loads what the others compiled instead of compiling it. It
    // serves the active set, not its own file, and the listing says so within 2 s.
    let cache = tempfile::tempdir().unwrap();
    let asked = Instant::now();
    let late = start_with(&database, "r4", cache.path());
    let ready = asked.elapsed();
    let installed = std::fs::read_dir(cache.path()).unwrap().count();
    eprintln!(
        "registry: r4 listened {ready:.1?} after it was started, {installed} compiled plugins taken from the others"
    );
    assert!(ready <= READY_WITHIN, "r4 took {ready:?}\n{}", late.log());
    assert!(installed >= 6, "r4 compiled what the others had shared");
    each_prices_with(&[late.client()], &flat).await;
    let mut all = clients.clone();
    all.push(late.client());
    // Every live replica heartbeats the active version: the listing says they converged.
    let took = until_converged(&all[0], &admin, 4, asked).await;
    eprintln!("registry: the listing says all four serve it {took:.1?} after r4 was started");
    assert!(took <= ready + CONVERGE_WITHIN, "converged after {took:?}");

    // An artifact whose signature is not the replicas' is never loaded: a fifth replica
    // compiles for itself, and says why.
    let store = mongodb::Client::with_uri_str(std::env::var("ORDERFLOW_TEST_MONGODB_URL").unwrap())
        .await
        .unwrap();
    let forged = bson::Binary {
        subtype: bson::spec::BinarySubtype::Generic,
        bytes: vec![0; 32],
    };
    (store
        .database(&database)
        .collection::<bson::Document>("plugin_artifacts"))
    .update_many(
        bson::doc! {},
        bson::doc! { "$set": { "signature": forged } },
    )
    .await
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let fifth = start_with(&database, "r5", cache.path());
    each_prices_with(&[fifth.client()], &flat).await;
    assert!(
        fifth
            .log()
            .contains("a shared plugin artifact has no valid signature"),
        "{}",
        fifth.log()
    );
}

/// How long after `since` the listing on `replica` says `count` replicas serve the active
/// standard-pricing; fails after 10 s.
pub(super) async fn until_converged(
    replica: &Client,
    admin: &str,
    count: usize,
    since: Instant,
) -> Duration {
    loop {
        let (_, plugins) = replica.get("/api/v1/plugins", Some(admin)).await;
        let pricing = plugins
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "standard-pricing")
            .unwrap()
            .clone();
        if pricing["converged"] == true && pricing["replicas"].as_array().unwrap().len() == count {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < Duration::from_secs(10),
            "never converged: {pricing}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The convergence benchmark (`bash host/benches/convergence.sh`): activations made in
/// turn on each of three replicas, alternating two versions, each timed from its answer to
/// the last replica serving it. Prints p50 and max.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a benchmark: run by host/benches/convergence.sh"]
async fn convergence_benchmark() {
    let activations: usize = std::env::var("ACTIVATIONS").map_or(20, |n| n.parse().unwrap());
    let database = format!("orderflow_convergence_{}", uuid::Uuid::now_v7().simple());
    let apps = replicas(&database, &["r1", "r2", "r3"]);
    let clients: Vec<Client> = apps.iter().map(|app| app.client()).collect();
    let admin = token("ops", true);
    let versions = [component("hostile-pricing"), component("standard-pricing")];
    let (status, answer) = activate(&clients[0], &admin, &versions[0]).await;
    assert_eq!(status, 201, "{answer}");
    let mut times = Vec::with_capacity(activations);
    for i in 0..activations {
        let bytes = &versions[(i + 1) % 2];
        let (status, answer) = clients[i % 3]
            .post(
                &format!("{PRICING}/activate"),
                Some(&admin),
                &json!({ "digest": digest(bytes) }),
                None,
            )
            .await;
        let answered = Instant::now();
        assert_eq!(status, 200, "{answer}");
        times.push(all_serve(&clients, &admin, &digest(bytes), answered).await);
    }
    times.sort();
    println!(
        "convergence over {activations} activations on 3 replicas: p50 {:.0?}, max {:.0?}",
        times[times.len() / 2],
        times[times.len() - 1]
    );
}

/// Polls `replica`'s view of standard-pricing until `done` holds of it (within
/// [`CONVERGE_WITHIN`] of `since`).
async fn sees(replica: &Client, admin: &str, since: Instant, done: impl Fn(&Value) -> bool) {
    loop {
        let plugin = serving(replica, admin).await;
        if done(&plugin) {
            return;
        }
        assert!(since.elapsed() <= CONVERGE_WITHIN, "not followed: {plugin}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollout_a_replay_and_a_shadow_started_on_one_replica_hold_on_every_replica() {
    let database = format!("orderflow_staging_{}", uuid::Uuid::now_v7().simple());
    let mut apps = replicas(&database, &["s1", "s2"]);
    let (one, two) = (apps[0].client(), apps[1].client());
    let admin = token("ops", true);
    let standard = digest(&component("standard-pricing"));
    let flat_bytes = component("hostile-pricing");
    let flat = digest(&flat_bytes);
    let (status, body) = one
        .bytes(
            "POST",
            &format!("{PRICING}/versions"),
            Some(&admin),
            "application/wasm",
            &flat_bytes,
        )
        .await;
    assert_eq!(status, 201, "{body}");

    // A rollout made on one replica decides each customer's orders by one version on both.
    let since = Instant::now();
    let (status, staged) = one
        .post(
            &format!("{PRICING}/rollout"),
            Some(&admin),
            &json!({"digest": flat, "percent": 50}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{staged}");
    sees(&two, &admin, since, |p| p["rollout"]["percent"] == 50).await;
    let mut versions = std::collections::BTreeSet::new();
    for customer in 0..12 {
        let buyer = token(&format!("buyer-{customer}"), false);
        let mut priced = Vec::new();
        for replica in [&one, &two, &one] {
            let (status, order) = replica.place(&buyer, &[("prod-widget", 2)]).await;
            assert_eq!(status, 201, "{order}");
            priced.push(priced_by(&order).to_owned());
        }
        assert!(
            priced.iter().all(|p| *p == priced[0]),
            "buyer-{customer}: {priced:?}"
        );
        versions.insert(priced[0].clone());
    }
    assert_eq!(
        versions,
        [flat.clone(), standard.clone()].into(),
        "both versions in use"
    );

    // A replay started on one replica is read, listed and cancelled through the other.
    let (status, started) = one
        .post(
            &format!("{PRICING}/replays"),
            Some(&admin),
            &json!({"digest": flat}),
            None,
        )
        .await;
    assert_eq!(status, 202, "{started}");
    let path = format!("{PRICING}/replays/{}", started["id"].as_str().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    let ended = loop {
        let (status, replay) = two.get(&path, Some(&admin)).await;
        assert_eq!(status, 200, "{replay}");
        if replay["state"] != "running" {
            break replay;
        }
        assert!(Instant::now() < deadline, "{replay}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(ended["state"], "done", "{ended}");
    assert_eq!(ended["replica"], "s1");
    // The orders the standard rule priced change under the flat one; those it priced do not.
    let flat_priced = ended["report"]["identical"].as_u64().unwrap();
    assert_eq!(ended["report"]["compared"], 36, "{ended}");
    assert!(flat_priced > 0 && flat_priced < 36, "{ended}");
    let (_, listed) = two.get(&format!("{PRICING}/replays"), Some(&admin)).await;
    assert_eq!(listed[0]["id"], started["id"]);
    let (status, _) = two
        .post(&format!("{path}/cancel"), Some(&admin), &json!(null), None)
        .await;
    assert_eq!(status, 202);

    // Rolled back on the other replica: every new order on both is the active version's.
    let since = Instant::now();
    let (status, _) = two
        .raw("DELETE", &format!("{PRICING}/rollout"), Some(&admin), None)
        .await;
    assert_eq!(status, 200);
    sees(&one, &admin, since, |p| p["rollout"].is_null()).await;
    for customer in 0..12 {
        let buyer = token(&format!("buyer-{customer}"), false);
        let (_, order) = one.place(&buyer, &[("prod-widget", 1)]).await;
        assert_eq!(priced_by(&order), standard);
    }

    // A shadow staged on one replica covers both replicas' orders, read on either.
    let since = Instant::now();
    let (status, staged) = two
        .post(
            &format!("{PRICING}/shadow"),
            Some(&admin),
            &json!({"digest": flat, "percent": 100}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{staged}");
    sees(&one, &admin, since, |p| p["shadow"]["percent"] == 100).await;
    let buyer = token("buyer-shadowed", false);
    for replica in [&one, &two].repeat(10) {
        let (status, order) = replica.place(&buyer, &[("prod-widget", 1)]).await;
        assert_eq!(status, 201, "{order}");
        assert_eq!(priced_by(&order), standard);
    }
    for replica in [&one, &two] {
        let observed = shadowed(replica, &admin, 20).await;
        assert_eq!(observed["digest"], flat.as_str());
        assert_eq!(observed["replicas"], json!(["s1", "s2"]));
        assert_eq!(observed["report"]["changed"], 20, "{observed}");
        assert_eq!(observed["report"]["totals"][0]["orders"], 20, "{observed}");
    }
    // A replica restarted under its id carries on with what it had found.
    apps[1].restart().await;
    let two = apps[1].client();
    let (status, order) = two.place(&buyer, &[("prod-widget", 1)]).await;
    assert_eq!(status, 201, "{order}");
    for replica in [&one, &two] {
        let observed = shadowed(replica, &admin, 21).await;
        assert_eq!(observed["report"]["changed"], 21, "{observed}");
    }

    // The plugin's calls per hour are the service's: both replicas' calls, on either.
    let deadline = Instant::now() + Duration::from_secs(10);
    for replica in [&one, &two] {
        loop {
            let counted = calls(&one).await + calls(&two).await;
            let (_, plugins) = replica.get("/api/v1/plugins", Some(&admin)).await;
            let pricing = (plugins.as_array().unwrap().iter())
                .find(|p| p["name"] == "standard-pricing")
                .unwrap();
            let hourly: u64 = (pricing["hourly"].as_array().unwrap().iter())
                .map(|h| ["decided", "refused", "faults"].map(|k| h[k].as_u64().unwrap()))
                .map(|outcomes| outcomes.iter().sum::<u64>())
                .sum();
            if hourly == counted {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{hourly} per hour, {counted} counted"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// `replica`'s calls of standard-pricing since it started, as its metrics count them.
async fn calls(replica: &Client) -> u64 {
    let (status, metrics) = replica.text("/metrics").await;
    assert_eq!(status, 200);
    (metrics.lines())
        .filter(|line| line.starts_with("orderflow_plugin_calls_total{"))
        .filter(|line| line.contains(r#"plugin="standard-pricing""#))
        .map(|line| line.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

/// `replica`'s report of standard-pricing's shadow once it has compared `orders` (within
/// 10 s: each replica publishes every second).
async fn shadowed(replica: &Client, admin: &str, orders: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, shadow) = replica.get(&format!("{PRICING}/shadow"), Some(admin)).await;
        assert_eq!(status, 200, "{shadow}");
        if shadow["observed"]["report"]["compared"] == orders {
            return shadow["observed"].clone();
        }
        assert!(Instant::now() < deadline, "{shadow}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
