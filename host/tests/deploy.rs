//! The production-like stack, checked without a Docker engine (none runs here): the compose
//! file and the Dockerfile are parsed and their wiring compared with what the service reads.

use clap::Args;
use orderflow::serve::ServeConfig;
use serde_yaml_ng::Value;
use std::collections::HashSet;
use std::path::Path;

fn repo_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn compose() -> Value {
    serde_yaml_ng::from_str(&repo_file("docker-compose.yml")).unwrap()
}

/// Every environment variable `orderflow serve` reads.
fn service_env_names() -> HashSet<String> {
    ServeConfig::augment_args(clap::Command::new("serve"))
        .get_arguments()
        .filter_map(|arg| arg.get_env())
        .map(|name| name.to_string_lossy().into_owned())
        .collect()
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

#[test]
fn the_service_is_wired_with_the_established_names() {
    let compose = compose();
    let orders = &compose["services"]["orders"];
    let env = orders["environment"]
        .as_mapping()
        .expect("orders.environment");
    let names: HashSet<String> = env.keys().map(text).collect();
    let known = service_env_names();
    for name in &names {
        assert!(known.contains(name), "the service does not read {name}");
    }
    for established in [
        "MONGODB_URL",
        "DATABASE_NAME",
        "KAFKA_BOOTSTRAP_SERVERS",
        "KAFKA_ENABLED",
        "USER_SERVICE_URL",
        "PRODUCT_SERVICE_URL",
    ] {
        assert!(names.contains(established), "{established} is not wired");
    }
    assert_eq!(text(&env[&Value::from("KAFKA_ENABLED")]), "true");

    // Port 8003 end to end: listened on, exposed by the image, balanced over the replicas.
    assert_eq!(text(&env[&Value::from("PORT")]), "8003");
    assert!(repo_file("Dockerfile").contains("EXPOSE 8003"));
    assert_eq!(text(&orders["build"]), ".");
}

#[test]
fn replicas_run_behind_a_load_balancer_each_with_its_own_data() {
    let compose = compose();
    let services = &compose["services"];
    let orders = &services["orders"];
    // Several replicas by default, and scalable: no host port of their own (two replicas
    // could not publish one), no volume they would share (each replica's DATA_DIR holds
    // its id). The image's anonymous /data volume is one per container.
    assert!(orders["deploy"]["replicas"].as_u64().unwrap() >= 2);
    assert!(orders.get("ports").is_none(), "replicas publish no port");
    assert!(orders.get("volumes").is_none(), "replicas share no volume");
    assert!(repo_file("Dockerfile").contains("VOLUME /data"));
    assert!(orders["environment"].get("REPLICA_ID").is_none());

    // The balancer publishes 8003 and spreads requests over every replica the service
    // name resolves to, re-resolving as replicas come and go.
    let balancer = &services["balancer"];
    let ports: Vec<String> = balancer["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    assert_eq!(ports, ["8003:8003"]);
    let mount = text(&balancer["volumes"][0]);
    let (source, target) = mount.split_once(':').unwrap();
    assert!(target.starts_with("/etc/nginx/nginx.conf"), "{mount}");
    let config = repo_file(source.trim_start_matches("./"));
    assert!(config.contains("listen 8003;"), "{config}");
    assert!(config.contains("server orders:8003 resolve;"), "{config}");
    assert!(config.contains("resolver 127.0.0.11"), "{config}");
    assert!(config.contains("proxy_pass http://orders;"), "{config}");
    // Uploads up to the service's own limit pass, so the service answers the 413.
    assert!(config.contains("client_max_body_size 17m;"), "{config}");
    assert_eq!(
        text(&balancer["depends_on"]["orders"]["condition"]),
        "service_healthy"
    );
}

#[test]
fn mongodb_and_kafka_are_the_ones_the_service_is_pointed_at() {
    let compose = compose();
    let services = &compose["services"];
    let env = &services["orders"]["environment"];

    // MongoDB: the `mongo` service, as the replica set it runs (transactions need one).
    let url = text(&env["MONGODB_URL"]);
    let command: Vec<String> = services["mongo"]["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    let set = &command[command.iter().position(|a| a == "--replSet").unwrap() + 1];
    assert!(url.starts_with("mongodb://mongo:27017/"), "{url}");
    assert!(url.contains(&format!("replicaSet={set}")), "{url}");

    // Kafka: the `kafka` service's advertised listener, in KRaft mode (no ZooKeeper).
    let kafka = &services["kafka"]["environment"];
    let advertised = text(&kafka["KAFKA_ADVERTISED_LISTENERS"]);
    let brokers = text(&env["KAFKA_BOOTSTRAP_SERVERS"]);
    assert_eq!(advertised, format!("PLAINTEXT://{brokers}"));
    assert!(text(&kafka["KAFKA_PROCESS_ROLES"]).contains("controller"));
    assert!(services.get("zookeeper").is_none());

    // Started in order, each checked healthy, data on volumes.
    let depends = services["orders"]["depends_on"].as_mapping().unwrap();
    for dependency in ["mongo", "kafka"] {
        assert_eq!(
            text(&depends[&Value::from(dependency)]["condition"]),
            "service_healthy"
        );
    }
    let volumes = compose["volumes"].as_mapping().unwrap();
    for service in ["mongo", "kafka", "orders", "balancer"] {
        assert!(
            services[service]["healthcheck"]["test"].is_sequence(),
            "{service} has no health check"
        );
    }
    for service in ["mongo", "kafka"] {
        for volume in services[service]["volumes"].as_sequence().unwrap() {
            let name = text(volume).split(':').next().unwrap().to_owned();
            assert!(volumes.contains_key(Value::from(name.as_str())), "{name}");
        }
    }
}

#[test]
fn the_image_builds_the_plugins_and_serves_them() {
    let dockerfile = repo_file("Dockerfile");
    // host/build.rs builds the plugins for one target, the test suite's for the other.
    let targets = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("RUN rustup target add "))
        .expect("the image adds the wasm targets");
    for target in ["wasm32-unknown-unknown", "wasm32-wasip2"] {
        assert!(targets.split(' ').any(|t| t == target), "{target}");
    }
    assert!(dockerfile.contains("cargo build --release --locked -p orderflow"));
    assert!(dockerfile.contains("target/plugins"));
    let known = service_env_names();
    for line in dockerfile.lines().skip_while(|l| !l.starts_with("ENV ")) {
        let Some((name, _)) = line.trim_start_matches("ENV ").trim().split_once('=') else {
            break;
        };
        assert!(
            known.contains(name.trim()),
            "the image sets {name}, which the service does not read"
        );
        if !line.ends_with('\\') {
            break;
        }
    }
}
