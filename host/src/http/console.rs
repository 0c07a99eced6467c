//! `/console`: the ops console, a set of static pages (plain ES modules and CSS, in
//! `host/console/`) compiled into the binary. The pages call the same-origin API with the
//! admin token the person signed in with; nothing here reads a token.

use super::ApiError;
use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::LazyLock;

/// Scripts, styles and API calls from this origin only, and no inline script or style
/// element: a token in `sessionStorage` is only as safe as the code the page runs.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

struct Asset {
    body: &'static [u8],
    content_type: &'static str,
    /// Vendored files carry their version in their path and never change under it; the
    /// console's own files change with the binary, so browsers ask again (and get a 304).
    immutable: bool,
    etag: HeaderValue,
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// `(path, bytes, content type)` of each file under `host/console/`: `include_bytes!` takes
/// only a literal, so the table names every file once and the macro embeds it.
macro_rules! assets {
    ($(($path:literal, $content_type:expr)),* $(,)?) => {
        [$((
            $path,
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/console/", $path)).as_slice(),
            $content_type,
        )),*]
    };
}

static ASSETS: LazyLock<HashMap<&'static str, Asset>> = LazyLock::new(|| {
    assets![
        ("index.html", HTML),
        ("style.css", CSS),
        ("app.js", JS),
        ("live.js", JS),
        ("api.js", JS),
        ("ui.js", JS),
        ("charts.js", JS),
        ("hours.js", JS),
        ("overview.js", JS),
        ("orders.js", JS),
        ("order.js", JS),
        ("changes.js", JS),
        ("plugins.js", JS),
        ("rollout.js", JS),
        ("workflows.js", JS),
        ("stock.js", JS),
        ("vendor/uplot-1.6.32/uPlot.esm.js", JS),
        ("vendor/uplot-1.6.32/uPlot.min.css", CSS),
        ("vendor/uplot-1.6.32/LICENSE", TEXT),
        ("vendor/dagre-3.1.4/dagre.esm.js", JS),
        ("vendor/dagre-3.1.4/LICENSE", TEXT),
        ("vendor/dagre-3.1.4/dagre.esm.js.LEGAL.txt", TEXT),
    ]
    .into_iter()
    .map(|(path, body, content_type)| {
        let digest = Sha256::digest(body);
        let etag = format!("\"{}\"", hex::encode(&digest[..12]));
        let asset = Asset {
            body,
            content_type,
            immutable: path.starts_with("vendor/"),
            etag: HeaderValue::from_str(&etag).expect("hex is a valid header"),
        };
        (path, asset)
    })
    .collect()
});

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/console", get(index))
        .route("/console/", get(index))
        .route("/console/{*path}", get(asset))
}

async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers)
}

fn serve(path: &str, request: &HeaderMap) -> Response {
    let Some(asset) = ASSETS.get(path) else {
        return ApiError::NotFound.into_response();
    };
    let cache = if asset.immutable {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        (header::ETAG, asset.etag.clone()),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
    ];
    if request.get(header::IF_NONE_MATCH) == Some(&asset.etag) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (headers, asset.body).into_response()
}

/// The console opened with `token` (in the URL's fragment, which browsers never send to a
/// server) for a service listening on `address`; an unspecified address (`0.0.0.0`) is
/// reached on this machine as `localhost`.
pub fn sign_in_link(address: SocketAddr, token: &str) -> String {
    let host = if address.ip().is_unspecified() {
        format!("localhost:{}", address.port())
    } else {
        address.to_string()
    };
    format!("http://{host}/console/#token={token}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_names_only_assets_the_binary_carries() {
        for (path, asset) in ASSETS.iter() {
            if asset.content_type != JS && *path != "index.html" {
                continue;
            }
            let text = std::str::from_utf8(asset.body).unwrap();
            for quoted in text
                .split(['"', '\''])
                .filter(|s| s.starts_with("/console/"))
            {
                let named = quoted.trim_start_matches("/console/");
                assert!(ASSETS.contains_key(named), "{path} names {quoted}");
            }
        }
    }

    #[test]
    fn a_link_on_every_address_names_a_reachable_host() {
        let any: SocketAddr = "0.0.0.0:8003".parse().unwrap();
        let loopback: SocketAddr = "127.0.0.1:41000".parse().unwrap();
        assert_eq!(
            sign_in_link(any, "t"),
            "http://localhost:8003/console/#token=t"
        );
        assert_eq!(
            sign_in_link(loopback, "t"),
            "http://127.0.0.1:41000/console/#token=t"
        );
    }
}
