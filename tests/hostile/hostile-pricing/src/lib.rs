//! A pricing plugin that misbehaves on demand. Its `behaviour` parameter picks how:
//! `loop`, `hog` (allocate until the cap), `panic`, `wrong_total`, `wrong_subtotal` (a
//! subtotal one unit over the lines' sum, with a total that adds up to it), `probe` (refuse with
//! what it sees of the clocks, environment, files and network, reaching for each; `port`
//! names where it tries to connect), `sleep` (for five seconds), `refuse` (refuse its
//! parameters), or `flat` (the default: a correct quote of the subtotal alone, so the
//! hot-reload test can swap it with the standard pricing plugin).

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "pricing-plugin", path: "../../../wit/since_v0.1.0" });

    use exports::orderflow::plugins::pricing::{AppliedRule, Guest, Quote};
    use orderflow::plugins::types::{Money, OrderDraft, Problem, Timestamp};
    use std::hint::black_box;
    use std::sync::OnceLock;

    static BEHAVIOUR: OnceLock<String> = OnceLock::new();
    static PORT: OnceLock<u16> = OnceLock::new();

    /// What the outside world looks like from inside a decision, as JSON: the clocks, the
    /// environment, a file, the network, a printed line, and a randomly keyed hash.
    fn probe(port: u16) -> String {
        use std::hash::BuildHasher;
        let started = std::time::Instant::now();
        println!("a plugin prints");
        eprintln!("and complains");
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let outcome = |r: Result<String, std::io::Error>| match r {
            Ok(found) => format!("ok: {found}"),
            Err(e) => format!("error: {e}"),
        };
        let file = outcome(std::fs::read_to_string("/etc/hostname"));
        let dir = outcome(std::fs::read_dir("/").map(|d| format!("{} entries", d.count())));
        let tcp =
            outcome(std::net::TcpStream::connect(("127.0.0.1", port)).map(|_| "connected".into()));
        let udp = outcome(std::net::UdpSocket::bind("127.0.0.1:0").map(|_| "bound".into()));
        let dns = outcome(
            std::net::ToSocketAddrs::to_socket_addrs(&("localhost", port))
                .map(|a| format!("{} addresses", a.count())),
        );
        serde_json::json!({
            "wall_ms": wall,
            "elapsed_ns": started.elapsed().as_nanos() as u64,
            "env": std::env::vars_os().count(),
            "args": std::env::args_os().count(),
            "file": file,
            "dir": dir,
            "tcp": tcp,
            "udp": udp,
            "dns": dns,
            "hash": std::collections::hash_map::RandomState::new().hash_one(42u32),
        })
        .to_string()
    }

    struct HostilePricing;

    impl Guest for HostilePricing {
        fn configure(params: String) -> Result<(), Problem> {
            let params: serde_json::Value = serde_json::from_str(&params).unwrap_or_default();
            let behaviour = params
                .get("behaviour")
                .and_then(|b| b.as_str())
                .unwrap_or("flat");
            if behaviour == "refuse" {
                return Err(Problem {
                    code: "invalid_params".into(),
                    message: "refused on purpose".into(),
                    field: None,
                });
            }
            let _ = BEHAVIOUR.set(behaviour.to_owned());
            if let Some(port) = params.get("port").and_then(|p| p.as_u64()) {
                let _ = PORT.set(port as u16);
            }
            Ok(())
        }

        fn price(order: OrderDraft, _now: Timestamp) -> Result<Quote, Problem> {
            let currency = order
                .items
                .first()
                .map(|i| i.product.unit_price.currency.clone())
                .unwrap_or_default();
            let subtotal: i64 = order
                .items
                .iter()
                .map(|i| i.product.unit_price.minor * i64::from(i.quantity))
                .sum();
            let money = |minor| Money {
                minor,
                currency: currency.clone(),
            };
            match BEHAVIOUR.get().map(String::as_str).unwrap_or("flat") {
                "loop" => {
                    let mut n = 0u64;
                    loop {
                        n = black_box(n.wrapping_add(1));
                    }
                }
                "hog" => {
                    let mut hoard = Vec::new();
                    loop {
                        hoard.push(black_box(vec![1u8; 1 << 20]));
                    }
                }
                "panic" => panic!("hostile plugin panics on purpose"),
                "probe" => Err(Problem {
                    code: "probe".into(),
                    message: probe(PORT.get().copied().unwrap_or(9)),
                    field: None,
                }),
                "sleep" => {
                    std::thread::sleep(std::time::Duration::from_secs(5));
                    Err(Problem {
                        code: "slept".into(),
                        message: "a sleep returned".into(),
                        field: None,
                    })
                }
                behaviour => {
                    // One minor unit too many in the subtotal (the total following it) or in
                    // the total alone: the host must catch either.
                    let subtotal = subtotal + i64::from(behaviour == "wrong_subtotal");
                    Ok(Quote {
                        subtotal: money(subtotal),
                        tax: money(0),
                        shipping: money(0),
                        discount: money(0),
                        total: money(subtotal + i64::from(behaviour == "wrong_total")),
                        applied: vec![AppliedRule {
                            rule: "flat".into(),
                            description: "subtotal only".into(),
                            amount: money(subtotal),
                        }],
                    })
                }
            }
        }
    }

    export!(HostilePricing);
}
