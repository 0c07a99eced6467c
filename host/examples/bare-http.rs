//! The HTTP benchmark's baseline (`host/benches/http-load.sh`): axum with nothing behind it,
//! on the same routes. `POST /api/v1/orders/` parses the body into the service's `NewOrder`
//! and answers 201; `GET /api/v1/orders/{id}` answers the order document given as the first
//! argument. This machine's speed varies from run to run, so the service's throughput is
//! reported as a ratio to this server's, measured in the same run.
//!
//! Run: `cargo run --release --example bare-http -- order.json` (prints its address).

use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::{get, post};
use orderflow::orders::NewOrder;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let path = std::env::args()
        .nth(1)
        .expect("usage: bare-http <order.json>");
    let order: &'static str = std::fs::read_to_string(path)?.leak();
    let app = Router::new()
        .route(
            "/api/v1/orders/",
            post(|axum::Json(new): axum::Json<NewOrder>| async move {
                (StatusCode::CREATED, axum::Json(new.items.len()))
            }),
        )
        .route(
            "/api/v1/orders/{id}",
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], order) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("bare listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
