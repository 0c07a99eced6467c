//! The order use cases with everything real but HTTP: the standard plugins, the embedded
//! store in a temporary directory, the repo's product catalog.

mod common;

use common::{Sandbox, built, repo_root};
use orderflow::customers::FromClaims;
use orderflow::domain::{Address, PaymentChange, StatusChange};
use orderflow::orders::OrderQuery;
use orderflow::orders::{Caller, NewItem, NewOrder, Order, OrderError, OrderService};
use orderflow::plugins::Registry;
use orderflow::products::CatalogFile;
use orderflow::store::EmbeddedStore;
use std::sync::Arc;

struct World {
    service: Arc<OrderService>,
    _sandbox: Sandbox,
}

async fn world(workflow: &str) -> World {
    let sandbox = Sandbox::new();
    sandbox.put_plugin(
        "hostile-pricing",
        &std::fs::read(built("hostile-pricing")).unwrap(),
    );
    let standard = std::fs::read_to_string(sandbox.workflows().join("standard.toml")).unwrap();
    let broken = standard
        .replace(
            "plugin = \"standard-pricing\"",
            "plugin = \"hostile-pricing\"",
        )
        .replace("currency = \"USD\"", "behaviour = \"wrong_total\"");
    sandbox.put_workflow("broken", &broken);
    // Orders from the wholesale channel follow a workflow of their own: free standard shipping.
    let wholesale = format!(
        "channels = [\"wholesale\"]\n{}",
        standard.replace("standard = 599", "standard = 0")
    );
    sandbox.put_workflow("wholesale", &wholesale);
    let registry = Registry::open(
        common::runtime(),
        sandbox.plugins(),
        sandbox.workflows(),
        None,
    );
    assert!(
        registry.current().errors.is_empty(),
        "{:?}",
        registry.current().errors
    );
    let store = EmbeddedStore::open(&sandbox.dir.path().join("data/orders.db")).unwrap();
    let catalog = CatalogFile::load(&repo_root().join("catalog/products.json")).unwrap();
    World {
        service: Arc::new(OrderService::new(
            registry,
            Arc::new(store),
            Arc::new(catalog),
            Arc::new(FromClaims),
            workflow,
            orderflow::operations::shadows::Shadows::start("test", None).await,
        )),
        _sandbox: sandbox,
    }
}

fn user(id: &str) -> Caller {
    Caller {
        user_id: id.into(),
        admin: false,
        customer: Default::default(),
        token: String::new(),
    }
}

fn admin() -> Caller {
    Caller {
        user_id: "admin-1".into(),
        admin: true,
        customer: Default::default(),
        token: String::new(),
    }
}

fn new_order(items: &[(&str, u32)]) -> NewOrder {
    NewOrder {
        items: items
            .iter()
            .map(|(id, q)| NewItem {
                product_id: id.to_string(),
                quantity: *q,
            })
            .collect(),
        shipping_address: Address::example(),
        shipping_method: "standard".into(),
        payment_method: "card".into(),
        discount_code: None,
        notes: None,
        sales_channel: None,
    }
}

fn codes(e: OrderError) -> Vec<(String, Option<String>)> {
    match e {
        OrderError::Refused(problems) => problems.into_iter().map(|p| (p.code, p.field)).collect(),
        other => panic!("expected a refusal, got {other}"),
    }
}

async fn count(service: &OrderService) -> u64 {
    service
        .list(
            &admin(),
            OrderQuery {
                page: 1,
                page_size: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .total
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_is_validated_priced_stored_and_announced() {
    let w = world("standard").await;
    let (order, created) = w
        .service
        .place(
            &user("u1"),
            new_order(&[("prod-widget", 2), ("prod-gadget", 1)]),
            None,
        )
        .await
        .unwrap();
    assert!(created);
    // 2 × 12.50 + 9.99 = 34.99; 7.25 % California tax 2.54; standard shipping 5.99.
    let p = &order.pricing;
    assert_eq!(
        [
            p.subtotal.minor,
            p.tax.minor,
            p.shipping.minor,
            p.total.minor
        ],
        [3499, 254, 599, 4352]
    );
    assert_eq!(
        (
            order.status.as_str(),
            order.payment_status.as_str(),
            order.version
        ),
        ("pending", "pending", 1)
    );
    assert_eq!(order.items[0].line_total.minor, 2500);
    let calls: Vec<&str> = order
        .provenance
        .decisions
        .iter()
        .map(|d| d.call.as_str())
        .collect();
    assert_eq!(calls, ["validate", "price", "create"]);
    assert!(order.provenance.decisions.iter().all(|d| {
        serde_json::json!(d.digest)
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    }));
    assert_eq!(w.service.get(&user("u1"), order.id).await.unwrap(), *order);
    // The answer's JSON, serialised once for the store and the caller, is this order.
    assert_eq!(serde_json::from_str::<Order>(order.json()).unwrap(), *order);
    let events = w.service.events(&user("u1"), order.id).await.unwrap();
    assert_eq!(
        events
            .iter()
            .map(|e| e.event.event_type.as_str())
            .collect::<Vec<_>>(),
        ["order.created"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sales_channel_chooses_the_workflow() {
    let world = world("standard").await;
    let from = |channel: Option<&str>| NewOrder {
        sales_channel: channel.map(Into::into),
        ..new_order(&[("prod-mug", 1)])
    };
    let (web, _) = world
        .service
        .place(&user("u1"), from(None), None)
        .await
        .unwrap();
    let (wholesale, _) = world
        .service
        .place(&user("u1"), from(Some("wholesale")), None)
        .await
        .unwrap();
    assert_eq!(
        (web.provenance.workflow.as_str(), web.pricing.shipping.minor),
        ("standard", 599)
    );
    assert_eq!(
        (
            wholesale.provenance.workflow.as_str(),
            wholesale.pricing.shipping.minor
        ),
        ("wholesale", 0)
    );
    // Its changes are decided by its own workflow's plugins.
    let confirmed = world
        .service
        .change_status(
            &admin(),
            wholesale.id,
            StatusChange {
                to: "confirmed".into(),
                tracking_number: None,
                carrier: None,
                reason: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        confirmed.provenance.decisions.last().unwrap().call,
        "change_status"
    );
    assert_eq!(confirmed.provenance.workflow, "wholesale");

    let unknown = world
        .service
        .place(&user("u1"), from(Some("somewhere-else")), None)
        .await
        .unwrap_err();
    assert_eq!(
        codes(unknown),
        [(
            "unknown_sales_channel".to_owned(),
            Some("sales_channel".to_owned())
        )]
    );
    assert_eq!(count(&world.service).await, 2);
    assert_eq!(
        world.service.machine(Some("wholesale")).unwrap().0,
        "wholesale"
    );
    assert_eq!(world.service.machine(None).unwrap().0, "standard");
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_name_the_field_and_write_nothing() {
    let w = world("standard").await;
    let s = &w.service;
    let e = s
        .place(
            &user("u1"),
            new_order(&[("prod-widget", 1), ("no-such", 1)]),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(
        codes(e),
        [("unknown_product".into(), Some("items[1].product_id".into()))]
    );
    let e = s
        .place(
            &user("u1"),
            new_order(&[("prod-retired", 1), ("prod-chair", 4), ("prod-mug", 0)]),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(
        codes(e),
        [
            (
                "product_inactive".into(),
                Some("items[0].product_id".into())
            ),
            (
                "insufficient_stock".into(),
                Some("items[1].quantity".into())
            ),
            ("invalid_quantity".into(), Some("items[2].quantity".into())),
        ]
    );
    let mut coded = new_order(&[("prod-widget", 1)]);
    coded.discount_code = Some("FREESTUFF".into());
    assert_eq!(
        codes(s.place(&user("u1"), coded, None).await.unwrap_err()),
        [("unknown_discount_code".into(), Some("discount_code".into()))]
    );
    assert_eq!(count(s).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_faulty_plugin_fails_the_order_and_writes_nothing() {
    let w = world("broken").await;
    let e = w
        .service
        .place(&user("u1"), new_order(&[("prod-widget", 1)]), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, OrderError::Plugin(f) if f.plugin == "hostile-pricing"),
        "{e}"
    );
    assert_eq!(count(&w.service).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn users_see_only_their_own_orders() {
    let w = world("standard").await;
    let s = &w.service;
    let (mine, _) = s
        .place(&user("u1"), new_order(&[("prod-mug", 1)]), None)
        .await
        .unwrap();
    s.place(&user("u2"), new_order(&[("prod-mug", 2)]), None)
        .await
        .unwrap();
    assert!(matches!(
        s.get(&user("u2"), mine.id).await,
        Err(OrderError::NotFound)
    ));
    assert!(matches!(
        s.events(&user("u2"), mine.id).await,
        Err(OrderError::NotFound)
    ));
    let cancel = StatusChange {
        to: "cancelled".into(),
        tracking_number: None,
        carrier: None,
        reason: None,
    };
    assert!(matches!(
        s.change_status(&user("u2"), mine.id, cancel).await,
        Err(OrderError::NotFound)
    ));
    // A user's listing is theirs, whatever filter they ask for.
    let sneaky = OrderQuery {
        user_id: Some("u2".into()),
        page: 1,
        page_size: 10,
        ..Default::default()
    };
    let listed = s.list(&user("u1"), sneaky.clone()).await.unwrap();
    assert_eq!(
        listed.items.iter().map(|o| o.id).collect::<Vec<_>>(),
        [mine.id]
    );
    assert_eq!(s.list(&admin(), sneaky).await.unwrap().total, 1);
    assert_eq!(count(s).await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_whole_lifecycle_with_its_events() {
    let w = world("standard").await;
    let s = &w.service;
    let (order, _) = s
        .place(&user("u1"), new_order(&[("prod-lamp", 1)]), None)
        .await
        .unwrap();
    let status = |to: &str, tracking: Option<&str>| StatusChange {
        to: to.into(),
        tracking_number: tracking.map(Into::into),
        carrier: tracking.map(|_| "UPS".into()),
        reason: None,
    };
    let pay = PaymentChange {
        to: "paid".into(),
        transaction_id: Some("tx-1".into()),
        reason: None,
    };

    assert_eq!(
        codes(
            s.change_status(&user("u1"), order.id, status("confirmed", None))
                .await
                .unwrap_err()
        )[0]
        .0,
        "not_allowed"
    );
    let paid = s.change_payment(&admin(), order.id, pay).await.unwrap();
    assert_eq!(
        (
            paid.payment.transaction_id.as_deref(),
            paid.payment.paid_at.is_some()
        ),
        (Some("tx-1"), true)
    );
    s.change_status(&admin(), order.id, status("confirmed", None))
        .await
        .unwrap();
    s.change_status(&admin(), order.id, status("processing", None))
        .await
        .unwrap();
    assert_eq!(
        codes(
            s.change_status(&user("u1"), order.id, status("cancelled", None))
                .await
                .unwrap_err()
        )[0]
        .0,
        "not_allowed"
    );
    assert_eq!(
        codes(
            s.change_status(&admin(), order.id, status("shipped", None))
                .await
                .unwrap_err()
        )[0]
        .0,
        "tracking_number_required"
    );
    let shipped = s
        .change_status(&admin(), order.id, status("shipped", Some("1Z999")))
        .await
        .unwrap();
    assert_eq!(
        (
            shipped.shipping.tracking_number.as_deref(),
            shipped.shipping.carrier.as_deref()
        ),
        (Some("1Z999"), Some("UPS"))
    );
    s.change_status(&admin(), order.id, status("delivered", None))
        .await
        .unwrap();
    assert_eq!(
        codes(
            s.change_status(&admin(), order.id, status("processing", None))
                .await
                .unwrap_err()
        )[0]
        .0,
        "invalid_transition"
    );
    let refunded = s
        .change_status(&admin(), order.id, status("refunded", None))
        .await
        .unwrap();

    assert_eq!(
        (
            refunded.status.as_str(),
            refunded.payment_status.as_str(),
            refunded.version
        ),
        ("refunded", "refunded", 7)
    );
    for stamp in [
        "paid_at",
        "confirmed_at",
        "processing_at",
        "shipped_at",
        "delivered_at",
        "refunded_at",
    ] {
        assert!(refunded.timestamps.contains_key(stamp), "{stamp}");
    }
    assert_eq!(refunded.status_history.len(), 7);
    assert_eq!(refunded.provenance.decisions.len(), 3 + 6);
    let events: Vec<String> = s
        .events(&admin(), order.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event.event_type)
        .collect();
    assert_eq!(
        events,
        [
            "order.created",
            "order.payment_completed",
            "order.confirmed",
            "order.shipped",
            "order.delivered",
            "order.refunded"
        ]
    );
    assert_eq!(s.get(&admin(), order.id).await.unwrap(), refunded);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_idempotency_key_makes_one_order() {
    let w = world("standard").await;
    let attempts: Vec<_> = (0..16)
        .map(|_| {
            let service = w.service.clone();
            tokio::spawn(async move {
                service
                    .place(
                        &user("u1"),
                        new_order(&[("prod-widget", 1)]),
                        Some("key-1".into()),
                    )
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut ids = std::collections::BTreeSet::new();
    let mut created = 0;
    for attempt in attempts {
        let (order, fresh) = attempt.await.unwrap();
        ids.insert(order.id);
        created += usize::from(fresh);
    }
    assert_eq!((ids.len(), created), (1, 1));
    assert_eq!(count(&w.service).await, 1);
    let other = w
        .service
        .place(
            &user("u1"),
            new_order(&[("prod-widget", 2)]),
            Some("key-1".into()),
        )
        .await;
    assert!(matches!(other, Err(OrderError::KeyReused)));
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_changes_of_one_order_never_both_win() {
    let w = world("standard").await;
    let (placed, _) = w
        .service
        .place(&user("u1"), new_order(&[("prod-mug", 1)]), None)
        .await
        .unwrap();
    let order = placed.into_order();
    let attempts: Vec<_> = (0..8)
        .map(|i| {
            let service = w.service.clone();
            // Half confirm, half cancel: the two cannot both happen.
            let to = if i % 2 == 0 { "confirmed" } else { "cancelled" };
            tokio::spawn(async move {
                service
                    .change_status(
                        &admin(),
                        order.id,
                        StatusChange {
                            to: to.into(),
                            tracking_number: None,
                            carrier: None,
                            reason: None,
                        },
                    )
                    .await
            })
        })
        .collect();
    let mut wins = Vec::new();
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(changed) => wins.push(changed.status),
            Err(OrderError::Conflict | OrderError::Refused(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    let stored = w.service.get(&admin(), order.id).await.unwrap();
    // Every win is one step of the history, and the events match it exactly.
    assert_eq!(stored.status_history.len(), 1 + wins.len());
    assert_eq!(stored.version as usize, 1 + wins.len());
    let events = w.service.events(&admin(), order.id).await.unwrap();
    assert_eq!(events.len(), 1 + wins.len());
    assert!(wins.len() <= 2, "{wins:?}"); // confirm then cancel is a legal sequence
}
