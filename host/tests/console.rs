//! The ops console (`/console`) in a real browser: Debian's Chromium, headless, driven over
//! WebDriver by chromedriver, against the real service binary, with axe-core checking each
//! page's accessibility. `tests/run.sh` installs all three (tests/install.sh) and names
//! axe-core's script in `ORDERFLOW_TEST_AXE`; without them these tests fail and say so,
//! unless `ORDERFLOW_SKIP_BROWSER=1` is set.
//!
//! Every page is checked against the API's own answers, every page must finish with no
//! script error, failed load or blocked resource (the console keeps them in
//! `window.consoleErrors`) and with no serious or critical axe-core finding, and each is
//! photographed at a laptop's and a phone's width into `target/console-screenshots/` for a
//! person to look at.

mod common;
#[path = "api/harness.rs"]
mod harness;

use fantoccini::{Client, ClientBuilder, Locator};
use harness::{App, Backend, token};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The harness's store for these tests.
const BACKEND: Backend = Backend::Embedded;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const LAPTOP: (u32, u32) = (1366, 768);
const PHONE: (u32, u32) = (390, 844);

/// Headless Chromium, and chromedriver on a free port, both stopped when dropped.
struct Browser {
    client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
    /// axe-core's script (`axe.min.js`), put into each page the tests check.
    axe: String,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Chromium is chromedriver's child, in its process group: killing the group stops
        // both, where killing chromedriver alone left Chromium running after the tests.
        // SAFETY: a plain system call, on the group `browser` started.
        unsafe { libc::kill(-(self.driver.id() as i32), libc::SIGKILL) };
        let _ = self.driver.wait();
    }
}

/// axe-core's script, once Chromium, chromedriver and axe-core are installed; None when
/// one is missing and `ORDERFLOW_SKIP_BROWSER=1` says to skip.
fn installed() -> Option<PathBuf> {
    let axe = std::env::var("ORDERFLOW_TEST_AXE").unwrap_or_default();
    let mut missing: Vec<_> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !std::path::Path::new(p).exists())
        .map(String::from)
        .collect();
    if !std::path::Path::new(&axe).is_file() {
        missing.push(format!("axe-core (ORDERFLOW_TEST_AXE={axe:?})"));
    }
    if !missing.is_empty() {
        if std::env::var("ORDERFLOW_SKIP_BROWSER").as_deref() == Ok("1") {
            eprintln!("ORDERFLOW_SKIP_BROWSER=1: the console's browser tests are skipped");
            return None;
        }
        panic!(
            "{} missing: run the tests with bash tests/run.sh, which installs Debian's \
             chromium and chromium-driver and axe-core (tests/install.sh) and sets \
             ORDERFLOW_TEST_AXE; or `source tests/install.sh && install_browser && \
             install_axe` first (or set ORDERFLOW_SKIP_BROWSER=1 to skip the browser tests)",
            missing.join(", ")
        );
    }
    Some(PathBuf::from(axe))
}

/// The browser, or None when `ORDERFLOW_SKIP_BROWSER=1` says to skip.
async fn browser() -> Option<Browser> {
    let axe = std::fs::read_to_string(installed()?).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver = Command::new(CHROMEDRIVER)
        .process_group(0)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let profile = tempfile::tempdir().unwrap();
    // The machine's network is closed: without the background-networking flags Chromium
    // keeps trying to reach Google's hosts.
    let capabilities = json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                format!("--user-data-dir={}", profile.path().display()),
                format!("--window-size={},{}", LAPTOP.0, LAPTOP.1),
            ],
        },
    });
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let client = loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(capabilities.as_object().unwrap().clone())
            .connect(&url)
            .await
        {
            Ok(client) => break client,
            Err(e) if started.elapsed() > Duration::from_secs(30) => {
                panic!("chromedriver did not start a session: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    Some(Browser {
        client,
        driver,
        _profile: profile,
        axe,
    })
}

impl Browser {
    async fn open(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    /// The value of `expression` evaluated in the page.
    async fn eval(&self, expression: &str) -> Value {
        self.client
            .execute(&format!("return ({expression});"), vec![])
            .await
            .unwrap()
    }

    /// Waits (at most 20 s) until `condition`, a JavaScript expression, is true in the page.
    async fn until(&self, condition: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.eval(condition).await != Value::Bool(true) {
            if Instant::now() > deadline {
                let shown = self
                    .eval("document.getElementById('main').innerText.slice(0, 2000)")
                    .await;
                let notices = self
                    .eval("document.getElementById('notices').innerText")
                    .await;
                panic!("never true: {condition}\nnotices: {notices}\npage:\n{shown}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Navigates the console to `route` (`#/orders`) and waits for page `page` to show.
    async fn visit(&self, route: &str, page: &str) {
        self.eval(&format!("(window.location.hash = {route:?}, true)"))
            .await;
        // The page before may be the same page (other filters): wait for this address's.
        self.until(&format!(
            "document.getElementById('main').dataset.shown === {route:?}"
        ))
        .await;
        self.page_shows(page).await;
    }

    /// Opens `app`'s console and signs in with `admin`'s token (pasted, then Enter).
    async fn sign_in(&self, app: &App, admin: &str) {
        self.open(&format!("http://{}/console", app.address()))
            .await;
        self.page_shows("sign-in").await;
        let enter = char::from(fantoccini::key::Key::Enter);
        self.type_into("input[name=token]", &format!("{admin}{enter}"))
            .await;
        self.page_shows("overview").await;
    }

    async fn page_shows(&self, page: &str) {
        self.until(&format!(
            "document.getElementById('main').dataset.page === {page:?} && !document.querySelector('main .loading')"
        ))
        .await;
    }

    async fn click(&self, css: &str) {
        self.until(&format!("!!document.querySelector({css:?})"))
            .await;
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    async fn type_into(&self, css: &str, text: &str) {
        let input = self.client.find(Locator::Css(css)).await.unwrap();
        input.clear().await.unwrap();
        input.send_keys(text).await.unwrap();
    }

    async fn attr(&self, css: &str, name: &str) -> String {
        self.until(&format!("!!document.querySelector({css:?})"))
            .await;
        let value = self
            .eval(&format!(
                "document.querySelector({css:?}).getAttribute({name:?})"
            ))
            .await;
        value.as_str().unwrap_or_default().to_owned()
    }

    async fn text(&self, css: &str) -> String {
        self.until(&format!("!!document.querySelector({css:?})"))
            .await;
        let text = self
            .eval(&format!("document.querySelector({css:?}).textContent"))
            .await;
        text.as_str().unwrap_or_default().to_owned()
    }

    /// Presses and releases `key` wherever the focus is.
    async fn press(&self, key: fantoccini::key::Key) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let value = char::from(key);
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value })
            .then(KeyAction::Up { value });
        self.client.perform_actions(keys).await.unwrap();
    }

    /// Whether each of the elements `css` names is displayed (laid out, not `display: none`
    /// itself or in an ancestor).
    async fn shown(&self, css: &[&str]) -> Vec<bool> {
        let mut shown = vec![];
        for css in css {
            self.until(&format!("!!document.querySelector({css:?})"))
                .await;
            let laid_out = self
                .eval(&format!(
                    "document.querySelector({css:?}).getClientRects().length > 0"
                ))
                .await;
            shown.push(laid_out == Value::Bool(true));
        }
        shown
    }

    /// Every element `css` names is displayed within the window's width.
    async fn fits(&self, css: &str) {
        let outside = self
            .eval(&format!(
                "[...document.querySelectorAll({css:?})].filter((e) => {{ \
                   const r = e.getBoundingClientRect(); \
                   return !e.getClientRects().length || r.left < 0 || r.right > document.documentElement.clientWidth; \
                 }}).map((e) => e.outerHTML.slice(0, 120))"
            ))
            .await;
        assert_eq!(outside, json!([]), "{css} outside the window");
        assert_ne!(
            self.eval(&format!("document.querySelectorAll({css:?}).length"))
                .await,
            json!(0),
            "{css}"
        );
    }

    /// Each chart drawn is as wide as its box (not drawn narrower, waiting for a resize),
    /// names its series in its legend (no "Value: --"), and titles both axes, the days'
    /// and hours' x axis saying they are UTC ones.
    async fn charts_fit(&self, page: &str) {
        self.until(
            "[...document.querySelectorAll('figure.chart[data-drawn]')].every((f) => \
               f.dataset.width === String(f.querySelector('.plot').clientWidth))",
        )
        .await;
        let charts = self
            .eval(
                "[...document.querySelectorAll('figure.chart[data-drawn]')].map((f) => [f.id, \
                   f.querySelector('.plot').clientWidth, f.querySelector('.uplot').offsetWidth, \
                   f.querySelector('.u-legend')?.textContent ?? '', f.dataset.xTitle, f.dataset.yTitle])",
            )
            .await;
        for chart in charts.as_array().unwrap() {
            let (id, boxed, drawn) = (&chart[0], &chart[1], &chart[2]);
            assert!(boxed.as_u64().unwrap() > 250, "{page} {id}: {chart}");
            assert_eq!(
                boxed, drawn,
                "{page} {id} is drawn as wide as its box: {chart}"
            );
            let legend = chart[3].as_str().unwrap();
            assert!(
                !legend.is_empty() && !legend.contains("Value") && !legend.contains("--"),
                "{page} {id}'s legend: {legend:?}"
            );
            let x_title = chart[4].as_str().unwrap();
            assert!(x_title.ends_with("(UTC)"), "{page} {id}: {x_title}");
            assert!(!chart[5].as_str().unwrap().is_empty(), "{page} {id}");
        }
    }

    /// Opens the form of move `mv` (`status:shipped`) on an order's page and lists the
    /// fields it asks for.
    async fn move_fields(&self, mv: &str) -> Value {
        self.click(&format!("button[data-move='{mv}']")).await;
        let form = format!("form[data-move-form='{mv}']");
        self.until(&format!("!!document.querySelector({form:?})"))
            .await;
        self.eval(&format!(
            "[...document.querySelector({form:?}).elements].filter((e) => e.name && e.tagName !== 'BUTTON').map((e) => e.name)"
        ))
        .await
    }

    /// No script error, failed load or blocked resource so far, and no value written as
    /// JavaScript's placeholders for a missing one.
    async fn no_errors(&self) {
        let errors = self.eval("window.consoleErrors").await;
        assert_eq!(errors, json!([]), "the console logged errors");
        let glitches = self
            .eval(r"document.body.innerText.match(/\[object \w+\]|\b(undefined|NaN|null)\b/g)")
            .await;
        assert_eq!(glitches, Value::Null, "the page shows placeholders");
    }

    /// The window at `size`, and the page laid out again for it (charts and scrolling boxes
    /// follow their boxes' size in the next frame).
    async fn resize(&self, (width, height): (u32, u32)) {
        self.client.set_window_size(width, height).await.unwrap();
        self.until(&format!("window.innerWidth === {width}")).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    /// No serious or critical finding of axe-core in the page as it is now (`what` says
    /// which, in the failure): its script is put into the page once, then run over the
    /// whole document.
    async fn accessible(&self, what: &str) {
        if self.eval("typeof window.axe === 'undefined'").await == Value::Bool(true) {
            // As the body of the script WebDriver runs: not an inline script or eval, which
            // the page's content security policy forbids.
            self.client
                .execute(&format!("{}\nreturn true;", self.axe), vec![])
                .await
                .unwrap();
        }
        let findings = self
            .eval(
                r"axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations
                    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
                    .map((v) => `${v.impact} ${v.id}: ${v.help}\n` + v.nodes.slice(0, 5)
                        .map((n) => `  ${n.target.join(' ')}: ${n.failureSummary.replaceAll('\n', ' ')}`).join('\n')))",
            )
            .await;
        let findings: Vec<&str> = findings
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        assert!(
            findings.is_empty(),
            "axe-core, {what}:\n{}",
            findings.join("\n")
        );
    }

    /// `target/console-screenshots/<name>-laptop.png` and `-phone.png`: the whole page as
    /// it is now, laid out at each width, each checked by axe-core first; the window is
    /// back at a laptop's size after.
    async fn photograph(&self, name: &str) {
        let dir = screenshots();
        std::fs::create_dir_all(&dir).unwrap();
        for ((width, height), size) in [(PHONE, "phone"), (LAPTOP, "laptop")] {
            self.resize((width, height)).await;
            self.accessible(&format!("{name} at {size} width")).await;
            // A window as tall as the page (and the browser's own bar): a screenshot holds
            // only what the window shows.
            let page = self
                .eval("document.documentElement.scrollHeight + window.outerHeight - window.innerHeight")
                .await;
            let tall = page
                .as_u64()
                .map_or(height, |h| h as u32)
                .clamp(height, 8000);
            self.client.set_window_size(width, tall).await.unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
            let png = self.client.screenshot().await.unwrap();
            std::fs::write(dir.join(format!("{name}-{size}.png")), png).unwrap();
        }
        self.resize(LAPTOP).await;
        self.no_errors().await;
    }
}

/// Beside the plugins build.rs publishes, in the target directory.
fn screenshots() -> PathBuf {
    let plugins = common::built("standard-pricing");
    plugins
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("console-screenshots")
}

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_signs_in_and_works_every_page() {
    let Some(browser) = browser().await else {
        return;
    };
    let (admin, buyer) = (token("ops", true), token("carol", false));
    // Customers' names and emails come from a user service, as in production.
    let users = harness::user_service(vec![(buyer.clone(), "carol", "carol@example.com")]).await;
    let app = App::start_with(vec![("USER_SERVICE_URL", users)]);
    let mut placed = vec![];
    for (items, discount) in [
        (&[("prod-widget", 2)][..], None),
        (&[("prod-gadget", 3)], Some("WELCOME10")),
        (&[("prod-widget", 5)], None),
    ] {
        let mut body = harness::order_body(items);
        if let Some(code) = discount {
            body["discount_code"] = json!(code);
        }
        let (status, order) = app.post("/api/v1/orders/", Some(&buyer), &body, None).await;
        assert_eq!(status, 201, "{order}");
        placed.push(order);
    }
    let paid = placed[0]["id"].as_str().unwrap();
    let (status, answer) = app
        .patch(
            &format!("/api/v1/orders/{paid}/payment"),
            Some(&admin),
            Some(&json!({"payment_status": "paid", "transaction_id": "tx-1"})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let base = format!("http://{}", app.address());

    // Sign in: a user's token is refused with the reason, an admin's kept. Signed out, the
    // pages' navigation and Sign out are not shown.
    browser.open(&format!("{base}/console")).await;
    browser.page_shows("sign-in").await;
    assert_eq!(browser.shown(&["#nav", "#sign-out"]).await, [false, false]);
    browser.type_into("input[name=token]", &buyer).await;
    browser.click("form.sign-in button[type=submit]").await;
    browser
        .until(
            "/not an admin/.test(document.querySelector('.problem[data-for=token]').textContent)",
        )
        .await;
    browser.photograph("sign-in").await;
    // By the keyboard: Enter in the field signs in.
    let enter = char::from(fantoccini::key::Key::Enter);
    browser
        .type_into("input[name=token]", &format!("{admin}{enter}"))
        .await;
    browser.page_shows("overview").await;
    assert_eq!(browser.shown(&["#nav", "#sign-out"]).await, [true, true]);

    // The overview draws what admin/stats says.
    browser
        .until("document.querySelectorAll('figure.chart[data-drawn]').length === 4")
        .await;
    browser.charts_fit("overview").await;
    let (_, stats) = app
        .get(
            &format!("/api/v1/orders/admin/stats?from={0}&to={0}", today()),
            Some(&admin),
        )
        .await;
    let day = today();
    let orders_today = browser
        .attr(
            &format!("#orders-per-day td[data-x='{day}'][data-series=orders]"),
            "data-value",
        )
        .await;
    assert_eq!(orders_today, stats["per_day"][0]["orders"].to_string());
    assert_eq!(orders_today, "3");
    let revenue_today = browser
        .attr(
            &format!("#revenue-per-day td[data-x='{day}'][data-series=USD]"),
            "data-value",
        )
        .await;
    assert_eq!(revenue_today, stats["revenue"][0]["minor"].to_string());
    assert_eq!(
        revenue_today,
        placed[0]["pricing"]["total"]["minor"].to_string()
    );
    let pending = browser
        .attr("td[data-count=status][data-name=pending]", "data-value")
        .await;
    assert_eq!(pending, stats["by_status"]["pending"].to_string());
    let (_, health) = app.get("/health", None).await;
    assert_eq!(
        browser.attr("[data-backlog]", "data-backlog").await,
        health["events"]["backlog"].to_string()
    );
    // Kafka is off in these tests: the relay says so.
    assert_eq!(health["events"]["relay"]["state"], "disabled");
    assert!(browser.text("[data-relay]").await.starts_with("off"));
    // Plugin calls per hour, summed over plugins, as GET /api/v1/plugins counts them.
    let (_, plugins) = app.get("/api/v1/plugins", Some(&admin)).await;
    let per_hour = hourly(plugins.as_array().unwrap().iter());
    assert!(per_hour.contains_key("decided"), "{plugins}");
    assert_eq!(
        charted(
            &browser,
            "#plugins-faults-per-hour, #plugins-decided-per-hour"
        )
        .await,
        per_hour
    );
    browser.photograph("overview").await;
    // A range without orders: the revenue chart says so rather than draw an empty axis.
    browser
        .visit("#/overview?from=2020-01-01&to=2020-01-31", "overview")
        .await;
    assert_eq!(
        browser.text("#revenue-per-day[data-empty] .empty").await,
        "No orders in this range."
    );
    browser.photograph("overview-empty").await;

    // Orders: filtered by customer and the highest total first, then one opened.
    browser.visit("#/orders", "orders").await;
    browser.type_into("input[name=user_id]", "carol").await;
    browser
        .eval("(document.querySelector('select[name=sort]').value = 'total_desc', true)")
        .await;
    browser.click("form.filters button[type=submit]").await;
    browser
        .until("/user_id=carol/.test(document.getElementById('main').dataset.shown) && document.querySelectorAll('table.orders tbody tr').length === 3")
        .await;
    let (_, listing) = app
        .get(
            "/api/v1/orders/admin/all?user_id=carol&sort=total_desc",
            Some(&admin),
        )
        .await;
    let shown = browser
        .eval("[...document.querySelectorAll('table.orders tbody tr')].map(r => r.dataset.order)")
        .await;
    let listed: Vec<&Value> = listing["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| &o["id"])
        .collect();
    assert_eq!(shown.as_array().unwrap().iter().collect::<Vec<_>>(), listed);
    browser.photograph("orders").await;
    // On a phone the filters wait behind their button, and the orders are on the first
    // screen, each a card with every field in view.
    browser.resize(PHONE).await;
    assert_eq!(
        browser.shown(&[".filter-fields", ".filters-toggle"]).await,
        [false, true]
    );
    let first = browser
        .eval("(window.scrollTo(0, 0), document.querySelector('table.orders tbody tr').getBoundingClientRect().bottom <= window.innerHeight)")
        .await;
    assert_eq!(first, json!(true), "the first order is on the first screen");
    browser.fits("table.orders td[data-label]").await;
    browser.click(".filters-toggle").await;
    assert_eq!(
        browser.attr(".filters-toggle", "aria-expanded").await,
        "true"
    );
    assert_eq!(browser.shown(&[".filter-fields"]).await, [true]);
    browser.resize(LAPTOP).await;

    // The search: any part of an order number, or a customer's id, name or email, in any
    // case, over the orders the filters (here carol's) select.
    let ids =
        |orders: &[&Value]| -> Vec<Value> { orders.iter().map(|o| o["id"].clone()).collect() };
    let number = placed[1]["order_number"].as_str().unwrap();
    for (search, expected) in [
        (
            number[number.len() - 7..].to_lowercase(),
            ids(&[&placed[1]]),
        ),
        (
            "Carol@EXAMPLE".to_owned(),
            ids(&[&placed[0], &placed[1], &placed[2]]),
        ),
        (
            "lovelace".to_owned(),
            ids(&[&placed[0], &placed[1], &placed[2]]),
        ),
        ("nobody at all".to_owned(), vec![]),
    ] {
        browser.type_into("input[name=q]", &search).await;
        browser
            .click("form.filters .search button[type=submit]")
            .await;
        browser
            .until(&format!(
                "new URLSearchParams(location.hash.split('?')[1]).get('q') === {search:?} \
                 && document.getElementById('main').dataset.shown === location.hash \
                 && document.getElementById('main').dataset.page === 'orders'"
            ))
            .await;
        let mut shown: Vec<Value> = browser
            .eval(
                "[...document.querySelectorAll('table.orders tbody tr')].map(r => r.dataset.order)",
            )
            .await
            .as_array()
            .unwrap()
            .clone();
        let mut expected = expected;
        shown.sort_by_key(|v| v.to_string());
        expected.sort_by_key(|v| v.to_string());
        assert_eq!(shown, expected, "searching {search:?}");
        assert_eq!(
            browser.attr("[data-matches]", "data-matches").await,
            expected.len().to_string()
        );
        if expected.is_empty() {
            let hint = browser.text("[data-no-match]").await;
            assert!(hint.contains("No order matches"), "{hint}");
            browser.photograph("orders-no-match").await;
        }
    }
    browser
        .visit("#/orders?user_id=carol&sort=total_desc", "orders")
        .await;
    let id = placed[1]["id"].as_str().unwrap();
    browser.click(&format!("tr[data-order='{id}'] a")).await;
    browser.page_shows("order").await;
    assert_eq!(browser.attr("ol.timeline", "data-entries").await, "1");

    // What support needs first: who, where to, how, with which code; every time in UTC.
    let order = &placed[1];
    assert_eq!(order["customer"]["email"], "carol@example.com", "{order}");
    assert_eq!(order["discount_code"], "WELCOME10", "{order}");
    let created = chrono::DateTime::parse_from_rfc3339(order["created_at"].as_str().unwrap())
        .unwrap()
        .to_utc()
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string();
    for (fact, expected) in [
        ("user", "carol".to_owned()),
        ("name", "Ada Lovelace".to_owned()),
        ("email", "carol@example.com".to_owned()),
        ("shipping-method", "standard".to_owned()),
        ("payment-method", "card".to_owned()),
        ("discount-code", "WELCOME10".to_owned()),
        ("created", created),
    ] {
        assert_eq!(
            browser.text(&format!("[data-fact={fact}]")).await,
            expected,
            "{fact}"
        );
    }
    let address = browser.text("[data-fact=address]").await;
    for line in [
        "Ada Lovelace",
        "1 Market St",
        "San Francisco, CA 94105",
        "US",
    ] {
        assert!(address.contains(line), "{address}");
    }
    // Kafka is off: the events will not be published, and the page says so.
    let unpublished = browser
        .eval(
            "[...document.querySelectorAll('td[data-published=false]')].map(td => td.textContent)",
        )
        .await;
    assert_eq!(unpublished, json!(["relay off"]));
    browser.attr("[data-relay-off]", "class").await;
    // Each move asks for what it needs: a cancellation or a failed payment its reason.
    for (mv, names) in [
        ("status:cancelled", json!(["notes"])),
        ("payment_status:failed", json!(["notes"])),
    ] {
        assert_eq!(browser.move_fields(mv).await, names, "{mv}");
        let label = browser
            .text(&format!("form[data-move-form='{mv}'] label"))
            .await;
        assert!(label.starts_with("Reason"), "{mv}: {label}");
    }

    // Through its lifecycle by the buttons; shipping without a tracking number is refused
    // by the plugin, its problem shown beside the field.
    for (step, (mv, fields)) in [
        ("status:confirmed", vec![]),
        ("payment_status:paid", vec![("transaction_id", "tx-2")]),
        ("status:processing", vec![]),
        (
            "status:shipped",
            vec![("tracking_number", "1Z999"), ("carrier", "UPS")],
        ),
        ("status:delivered", vec![]),
    ]
    .into_iter()
    .enumerate()
    {
        let asked: Vec<&str> = fields
            .iter()
            .map(|(name, _)| *name)
            .chain(["notes"])
            .collect();
        assert_eq!(browser.move_fields(mv).await, json!(asked), "{mv}");
        let form = format!("form[data-move-form='{mv}']");
        if mv == "status:shipped" {
            browser.click(&format!("{form} button[type=submit]")).await;
            browser
                .until(&format!(
                    "/tracking number/.test(document.querySelector(\"{form} .problem[data-for=tracking_number]\").textContent)"
                ))
                .await;
            // The refusal is announced, and the focus is on it.
            let focused = browser
                .eval("[document.activeElement.matches('.refusal[role=alert]'), document.activeElement.textContent]")
                .await;
            assert_eq!(
                focused,
                json!([true, "Refused: shipping needs a tracking number."])
            );
            browser.photograph("order-refused").await;
        }
        for (name, value) in fields {
            browser
                .type_into(&format!("{form} input[name={name}]"), value)
                .await;
        }
        browser.click(&format!("{form} button[type=submit]")).await;
        browser
            .until(&format!(
                "document.querySelector('ol.timeline')?.dataset.entries === '{}'",
                step + 2
            ))
            .await;
    }
    assert_eq!(
        browser.attr("[data-status]", "data-status").await,
        "delivered"
    );
    let (_, order) = app.get(&format!("/api/v1/orders/{id}"), Some(&admin)).await;
    assert_eq!(
        (order["status"].as_str(), order["payment_status"].as_str()),
        (Some("delivered"), Some("paid"))
    );
    assert_eq!(browser.text("[data-fact=tracking]").await, "1Z999 (UPS)");
    // A refund asks for its reason only.
    assert_eq!(
        browser.move_fields("status:refunded").await,
        json!(["notes"])
    );
    browser.photograph("order").await;

    // Plugins: a bad upload refused with the reason, a good one kept, activated, rolled back.
    browser.visit("#/plugins/standard-pricing", "plugin").await;
    let standard = browser.attr("[data-active]", "data-active").await;
    // Only the version its file brought has served: nothing to roll back to.
    browser.attr("[data-no-rollback]", "class").await;
    assert_eq!(
        browser.eval("!document.getElementById('rollback')").await,
        json!(true)
    );
    // Its charts fill their boxes from the first draw, not at 240 px until a resize.
    browser
        .until("document.querySelectorAll('figure.chart[data-drawn]').length === 2")
        .await;
    browser.charts_fit("plugin").await;
    let files = tempfile::tempdir().unwrap();
    let bad = files.path().join("bad.wasm");
    std::fs::write(&bad, b"not a component").unwrap();
    browser
        .type_into("form.upload input[name=body]", bad.to_str().unwrap())
        .await;
    browser.click("form.upload button[type=submit]").await;
    browser
        .until("/not a valid component/.test(document.querySelector('form.upload .problem[data-for=body]').textContent)")
        .await;
    browser.photograph("plugin-upload-refused").await;
    let good = common::built("hostile-pricing");
    let flat = orderflow::domain::Digest::of(&std::fs::read(&good).unwrap()).full();
    browser
        .type_into("form.upload input[name=body]", good.to_str().unwrap())
        .await;
    browser.click("form.upload button[type=submit]").await;
    // Kept: the page shown again lists it (the replay form offers it).
    browser
        .until(&format!(
            "!!document.querySelector(\"tr[data-version='{flat}']\")"
        ))
        .await;

    // A replay of the new version over the orders placed: its counts as the API reports them.
    browser.click("form.replay button[type=submit]").await;
    browser
        .until("document.querySelector('[data-replay-state]')?.dataset.replayState === 'done'")
        .await;
    let (_, replays) = app
        .get("/api/v1/plugins/standard-pricing/replays", Some(&admin))
        .await;
    let report = &replays[0]["report"];
    for count in ["compared", "identical", "changed", "faults"] {
        let shown = browser.text(&format!("[data-replay={count}]")).await;
        assert_eq!(shown, report[count].to_string(), "{count}");
    }
    assert_eq!(report["compared"], 3, "{report}");
    browser.photograph("plugin-replay").await;

    // A shadow on every new order: what it found on one, as the API reports it; then ended.
    browser
        .type_into("form.shadow input[name=percent]", "100")
        .await;
    browser.click("form.shadow button[type=submit]").await;
    browser.click("dialog button[value=yes]").await;
    browser
        .until("/100 %/.test(document.querySelector('[data-stage=shadow]')?.textContent)")
        .await;
    let (status, order) = app.place(&buyer, &[("prod-widget", 3)]).await;
    assert_eq!(status, 201, "{order}");
    let shadow_path = "/api/v1/plugins/standard-pricing/shadow";
    let deadline = Instant::now() + Duration::from_secs(10);
    let observed = loop {
        let (_, shadow) = app.get(shadow_path, Some(&admin)).await;
        if shadow["observed"]["report"]["compared"] == 1 || Instant::now() > deadline {
            break shadow["observed"]["report"].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(observed["compared"], 1, "{observed}");
    browser.visit("#/plugins", "plugins").await;
    browser.visit("#/plugins/standard-pricing", "plugin").await;
    let shown = browser
        .text("[data-findings=shadow] [data-replay=changed]")
        .await;
    assert_eq!(shown, observed["changed"].to_string());
    // Each version's calls, refusals, faults and fuel, the shadow's too, as /metrics counts
    // them; the plugin's over all of them; its calls per hour as its `hourly` says.
    let (_, exposition) = app.text("/metrics").await;
    for (version, role) in [(&standard, "active"), (&flat, "shadow 100 %")] {
        let row = format!("tr[data-version='{version}']");
        assert_eq!(browser.text(&format!("{row} td[data-serving]")).await, role);
        let counted = tally(&exposition, "standard-pricing", Some(version));
        assert_ne!(counted["calls"], "0", "{version} was called: {exposition}");
        assert_eq!(shown_tally(&browser, &row).await, counted, "{version}");
    }
    // An older service's metrics, without the version label: per plugin only.
    let older = browser
        .eval(
            r#"import('/console/api.js').then(({ pluginStats }) => pluginStats([
                { name: 'orderflow_plugin_calls_total', labels: { plugin: 'p', outcome: 'refused' }, value: 2 },
                { name: 'orderflow_plugin_fuel_bucket', labels: { plugin: 'p', le: '1000.0' }, value: 1 },
                { name: 'orderflow_plugin_fuel_bucket', labels: { plugin: 'p', le: '+Inf' }, value: 2 },
            ]).p)"#,
        )
        .await;
    assert_eq!(
        older,
        json!({"decided": 0, "refused": 2, "fault": 0, "versions": null, "fuel": {"p50": 1000, "p99": null}}),
        "p99 past the last bucket is Infinity, which JSON writes as null"
    );
    let counted = tally(&exposition, "standard-pricing", None);
    assert_eq!(shown_tally(&browser, "tr[data-tally=all]").await, counted);
    let (_, plugin) = app
        .get("/api/v1/plugins/standard-pricing", Some(&admin))
        .await;
    assert_eq!(
        charted(
            &browser,
            "#plugin-faults-per-hour, #plugin-decided-per-hour"
        )
        .await,
        hourly([&plugin].into_iter())
    );
    browser.photograph("plugin-shadow").await;
    browser.click("[data-end=shadow]").await;
    browser.click("dialog button[value=yes]").await;
    browser
        .until("document.querySelector('[data-stage=shadow]')?.textContent === 'None.'")
        .await;

    // A rollout to half the customers, shown beside its version; then rolled back.
    browser
        .type_into("form.rollout input[name=percent]", "50")
        .await;
    browser.click("form.rollout button[type=submit]").await;
    browser.click("dialog button[value=yes]").await;
    browser
        .until(&format!("document.querySelector(\"tr[data-version='{flat}']\")?.textContent.includes('rollout 50 %')"))
        .await;
    browser.click("[data-end=rollout]").await;
    browser.click("dialog button[value=yes]").await;
    browser
        .until("document.querySelector('[data-stage=rollout]')?.textContent === 'None.'")
        .await;

    browser
        .click(&format!("button[data-activate='{flat}']"))
        .await;
    browser.click("dialog button[value=yes]").await;
    browser
        .until(&format!(
            "document.querySelector('[data-active]')?.dataset.active === '{flat}'"
        ))
        .await;
    // Now there is an earlier version to go back to, which the button names.
    assert_eq!(browser.attr("#rollback", "data-to").await, standard);
    browser.click("#rollback").await;
    browser.click("dialog button[value=yes]").await;
    browser
        .until(&format!(
            "document.querySelector('[data-active]')?.dataset.active === '{standard}'"
        ))
        .await;
    let actions = browser
        .eval("[...document.querySelectorAll('ol.timeline li')].map(li => li.dataset.action)")
        .await;
    let (_, history) = app
        .get("/api/v1/plugins/standard-pricing/history", Some(&admin))
        .await;
    let mut expected: Vec<Value> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].clone())
        .collect();
    expected.reverse();
    assert_eq!(actions, Value::Array(expected));
    assert_eq!(
        actions.as_array().unwrap()[..2],
        [json!("rolled_back"), json!("activated")]
    );
    assert!(actions.as_array().unwrap().contains(&json!("uploaded")));
    // Rolled back to the first version: nothing earlier to go back to again.
    browser.attr("[data-no-rollback]", "class").await;
    // On a phone, the versions table scrolls sideways in a box that takes the focus, is
    // named, and says so.
    browser.resize(PHONE).await;
    let versions = "section[aria-labelledby=versions] .scroll";
    browser
        .until(&format!(
            "document.querySelector({versions:?}).dataset.overflows === 'true'"
        ))
        .await;
    assert_eq!(browser.attr(versions, "tabindex").await, "0");
    assert_eq!(browser.attr(versions, "role").await, "region");
    let label = browser.attr(versions, "aria-label").await;
    assert!(
        label.contains("Versions") && label.contains("scrolls sideways"),
        "{label}"
    );
    assert_eq!(
        browser
            .shown(&["section[aria-labelledby=versions] .scroll-hint"])
            .await,
        [true]
    );
    browser.resize(LAPTOP).await;
    browser.charts_fit("plugin").await;
    browser.photograph("plugin").await;

    browser.visit("#/plugins", "plugins").await;
    // On a phone, each plugin is a card with its counts in view.
    browser.resize(PHONE).await;
    browser.fits("table.plugins td[data-calls], table.plugins td[data-refused], table.plugins td[data-faults]").await;
    browser.resize(LAPTOP).await;
    browser.photograph("plugins").await;

    // Each workflow's state machine, as its lifecycle plugin describes it.
    browser.visit("#/workflows", "workflows").await;
    let (_, options) = app.get("/api/v1/orders/status/options", None).await;
    let states = browser
        .attr("[data-workflow=standard] svg.machine", "data-states")
        .await;
    assert_eq!(
        states,
        options["statuses"].as_array().unwrap().len().to_string()
    );
    // The graphs' labels are at least 11 px on a phone: a graph wider than the screen
    // scrolls rather than shrinks further.
    browser.resize(PHONE).await;
    let smallest = browser
        .eval(
            "Math.min(...[...document.querySelectorAll('svg.machine text')].map((t) => { \
               const svg = t.ownerSVGElement; \
               return parseFloat(getComputedStyle(t).fontSize) * svg.getBoundingClientRect().width / svg.viewBox.baseVal.width; }))",
        )
        .await;
    assert!(smallest.as_f64().unwrap() >= 11.0, "{smallest}");
    browser.resize(LAPTOP).await;
    browser.photograph("workflows").await;
}

/// Support changes an order from its page: a refused preview names the action and the field,
/// a good one shows what the change costs, and the change is requested (with an
/// Idempotency-Key), confirmed, and the order shown again at the API's new total. A confirm
/// refused as outdated is announced in the change with the focus on it; a change declined
/// with its reason, another cancelled.
#[tokio::test(flavor = "multi_thread")]
async fn support_previews_requests_and_confirms_a_change() {
    let Some(browser) = browser().await else {
        return;
    };
    let app = App::start(None).await;
    let (admin, buyer) = (token("ops", true), token("carol", false));
    let (status, order) = app.place(&buyer, &[("prod-widget", 2)]).await;
    assert_eq!(status, 201, "{order}");
    let id = order["id"].as_str().unwrap();
    let changes = format!("/api/v1/orders/{id}/changes");
    browser.sign_in(&app, &admin).await;
    let enter = char::from(fantoccini::key::Key::Enter);
    browser.visit(&format!("#/orders/{id}"), "order").await;
    assert_eq!(
        browser.text("section.changes > .empty").await,
        "None asked for yet."
    );
    // What the console sends, to read its requests' headers.
    browser
        .eval(
            "(window.sent = [], window.fetch = ((fetch) => (url, init = {}) => \
               (window.sent.push({ url: String(url), method: init.method || 'GET', headers: init.headers || {}, body: init.body || null }), \
                fetch(url, init)))(window.fetch), true)",
        )
        .await;

    // Five chairs, three in stock: refused, the problem named by its action and field, beside
    // that field, announced, with the focus on it.
    let form = "form.change-form";
    let product = format!("{form} input[name='actions[0].product_id']");
    let quantity = format!("{form} input[name='actions[0].quantity']");
    browser.type_into(&product, "prod-chair").await;
    browser.type_into(&quantity, "5").await;
    browser
        .click(&format!("{form} button[value=preview]"))
        .await;
    let chairs = json!({"actions": [{"type": "add_item", "product_id": "prod-chair", "quantity": 5}], "dry_run": true});
    let (status, refused) = app.post(&changes, Some(&admin), &chairs, None).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(
        refused["error"]["field"], "actions[0].quantity",
        "{refused}"
    );
    let message = refused["error"]["message"].as_str().unwrap();
    browser
        .until(&format!(
            "document.querySelector('{form} .refusal').textContent !== ''"
        ))
        .await;
    let focused = browser
        .eval(&format!(
            "[document.activeElement.matches('{form} .refusal[role=alert]'), document.activeElement.textContent]"
        ))
        .await;
    assert_eq!(
        focused,
        json!([
            true,
            format!("Preview refused: action 1 (add 5 × prod-chair), quantity: {message}.")
        ])
    );
    assert_eq!(
        browser
            .text(&format!("{form} .problem[data-for='actions[0].quantity']"))
            .await,
        message
    );
    assert_eq!(browser.attr(&quantity, "aria-invalid").await, "true");
    browser.photograph("order-change-refused").await;

    // One more widget: the preview says what it costs, as the API's preview does.
    browser.type_into(&product, "prod-widget").await;
    // By the keyboard: Enter in a field previews.
    browser.type_into(&quantity, &format!("1{enter}")).await;
    browser
        .until("!!document.querySelector('[data-preview]:not([data-stale])')")
        .await;
    let add =
        json!({"actions": [{"type": "add_item", "product_id": "prod-widget", "quantity": 1}]});
    let mut dry = add.clone();
    dry["dry_run"] = json!(true);
    let (status, previewed) = app.post(&changes, Some(&admin), &dry, None).await;
    assert_eq!(status, 200, "{previewed}");
    let preview = "[data-preview]";
    for (css, expected) in [
        (
            "[data-total=before]",
            &previewed["before"]["total"]["minor"],
        ),
        ("[data-total=after]", &previewed["after"]["total"]["minor"]),
        ("[data-difference]", &previewed["difference"]["minor"]),
    ] {
        let attr = if css == "[data-difference]" {
            "data-difference"
        } else {
            "data-minor"
        };
        let shown = browser.attr(&format!("{preview} {css}"), attr).await;
        assert_eq!(shown, expected.to_string(), "{css}");
    }
    assert_eq!(
        browser
            .attr(&format!("{preview} [data-settlement]"), "data-settlement")
            .await,
        "due"
    );
    assert_eq!(previewed["settlement"], "due");
    assert_eq!(
        browser
            .attr(
                &format!("{preview} tr[data-product=prod-widget] td[data-quantity]"),
                "data-quantity"
            )
            .await,
        "3"
    );
    assert_eq!(
        browser.eval("document.activeElement.textContent").await,
        "Preview (nothing recorded)"
    );
    browser.photograph("order-change-preview").await;
    // An edit after the preview says it is out of date.
    browser
        .type_into(&format!("{form} input[name=reason]"), "asked by phone")
        .await;
    browser
        .until("!!document.querySelector('[data-preview][data-stale] [data-stale-hint]')")
        .await;

    // Requested: recorded, listed, the focus on it; its request carried a fresh UUID as its
    // Idempotency-Key, the previews none.
    browser
        .click(&format!("{form} button[value=request]"))
        .await;
    browser
        .until("!!document.querySelector('li[data-change][data-state=requested]')")
        .await;
    let (_, listed) = app.get(&changes, Some(&admin)).await;
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let requested = &listed[0];
    assert_eq!(requested["actions"], add["actions"]);
    assert_eq!(requested["reason"], "asked by phone");
    let cid = requested["id"].as_str().unwrap();
    let change = format!("li[data-change='{cid}']");
    assert_eq!(
        browser.text(&format!("{change} ul.change-actions")).await,
        "add 1 × prod-widget"
    );
    let facts = browser.text(&format!("{change} dl")).await;
    assert!(facts.contains("“asked by phone”"), "{facts}");
    assert_eq!(
        browser.eval("document.activeElement.id").await,
        format!("change-{cid}")
    );
    let sent = browser
        .eval(&format!(
            "window.sent.filter((r) => r.method === 'POST' && r.url.endsWith({:?})).map((r) => [JSON.parse(r.body).dry_run === true, r.headers['Idempotency-Key'] || ''])",
            changes
        ))
        .await;
    let sent = sent.as_array().unwrap();
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert!(
        sent[..2].iter().all(|s| s == &json!([true, ""])),
        "{sent:?}"
    );
    let key = sent[2][1].as_str().unwrap();
    let uuid = uuid::Uuid::parse_str(key).unwrap_or_else(|e| panic!("{key}: {e}"));
    assert_eq!(uuid.get_version_num(), 4, "{key}");
    assert_eq!(sent[2][0], json!(false));

    // Confirmed: the order is shown again at the new total, the change as confirmed by ops.
    browser
        .click(&format!("{change} button[data-change-action=confirm]"))
        .await;
    browser
        .until(&format!(
            "document.querySelector(\"{change}\")?.dataset.state === 'confirmed'"
        ))
        .await;
    let (_, changed) = app.get(&format!("/api/v1/orders/{id}"), Some(&admin)).await;
    let total = &changed["pricing"]["total"]["minor"];
    assert_eq!(total, &requested["after"]["total"]["minor"]);
    assert_ne!(total, &order["pricing"]["total"]["minor"]);
    assert_eq!(
        browser.attr("[data-amount=total]", "data-minor").await,
        total.to_string()
    );
    let shown_total = browser.text("[data-fact=total]").await;
    let formatted = browser
        .eval(&format!(
            "import('/console/ui.js').then(({{ money }}) => money({}))",
            changed["pricing"]["total"]
        ))
        .await;
    assert_eq!(json!(shown_total), formatted);
    assert_eq!(
        browser
            .attr(&format!("{change} [data-ended]"), "data-ended")
            .await,
        "ops"
    );
    assert_eq!(
        browser
            .eval(&format!(
                "!document.querySelector(\"{change} button[data-change-action]\")"
            ))
            .await,
        json!(true),
        "a confirmed change offers nothing more"
    );
    assert_eq!(
        browser.eval("document.activeElement.id").await,
        format!("change-{cid}")
    );

    // Two more, requested through the API; one confirmed there, the other is outdated: its
    // confirm is refused in the change, announced, the focus on it. Then it is declined with
    // its reason, and a third cancelled.
    let mut ids = vec![];
    for product in ["prod-gadget", "prod-mug", "prod-lamp"] {
        let body = json!({"actions": [{"type": "add_item", "product_id": product, "quantity": 1}]});
        let (status, requested) = app.post(&changes, Some(&buyer), &body, None).await;
        assert_eq!(status, 201, "{requested}");
        ids.push(requested["id"].as_str().unwrap().to_owned());
    }
    browser.visit("#/orders", "orders").await;
    browser.visit(&format!("#/orders/{id}"), "order").await;
    let (status, confirmed) = app
        .post(
            &format!("{changes}/{}/confirm", ids[0]),
            Some(&admin),
            &json!({}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{confirmed}");
    // The page follows the order live: it shows the confirmation made elsewhere.
    browser
        .until(&format!(
            "document.querySelector(\"li[data-change='{}']\")?.dataset.state === 'confirmed'",
            ids[0]
        ))
        .await;
    let outdated = format!("li[data-change='{}']", ids[1]);
    browser
        .click(&format!("{outdated} button[data-change-action=confirm]"))
        .await;
    browser
        .until(&format!(
            "document.activeElement.matches(\"{outdated} .refusal[role=alert]\")"
        ))
        .await;
    let (status, again) = app
        .post(
            &format!("{changes}/{}/confirm", ids[1]),
            Some(&admin),
            &json!({}),
            None,
        )
        .await;
    assert_eq!(status, 409, "{again}");
    assert_eq!(
        browser.eval("document.activeElement.textContent").await,
        format!(
            "Not confirmed: {}.",
            again["error"]["message"].as_str().unwrap()
        )
    );
    // The page shows the order as it is now: the change confirmed through the API too.
    assert_eq!(
        browser
            .attr(&format!("li[data-change='{}']", ids[0]), "data-state")
            .await,
        "confirmed"
    );
    browser.photograph("order-change-outdated").await;
    browser
        .click(&format!("{outdated} button[data-change-action=decline]"))
        .await;
    browser
        .type_into(
            &format!("{outdated} input[name=reason]"),
            "priced on an older order",
        )
        .await;
    browser
        .click(&format!("{outdated} form button[type=submit]"))
        .await;
    browser
        .until(&format!(
            "document.querySelector(\"{outdated}\")?.dataset.state === 'declined'"
        ))
        .await;
    let ended = browser.text(&format!("{outdated} [data-ended]")).await;
    assert!(
        ended.ends_with("by ops: “priced on an older order”"),
        "{ended}"
    );
    let cancelled = format!("li[data-change='{}']", ids[2]);
    browser
        .click(&format!("{cancelled} button[data-change-action=cancel]"))
        .await;
    browser
        .until(&format!(
            "document.querySelector(\"{cancelled}\")?.dataset.state === 'cancelled'"
        ))
        .await;
    let (_, listed) = app.get(&changes, Some(&admin)).await;
    let states: Vec<&str> = (listed.as_array().unwrap().iter())
        .map(|c| c["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["confirmed", "confirmed", "declined", "cancelled"]);
    let shown = browser
        .eval("[...document.querySelectorAll('li[data-change]')].map((li) => li.dataset.state)")
        .await;
    assert_eq!(shown, json!(states));

    // The form builds every action, a shipping address prefilled with the order's; on a
    // phone the changes (their prices and lines open) and the form fit the screen.
    for kind in [
        "set_quantity",
        "remove_item",
        "cancel_item",
        "return_item",
        "set_shipping_method",
        "set_discount_code",
        "set_shipping_address",
    ] {
        browser
            .eval(&format!(
                "(document.querySelector('{form} select[name=action-type]').value = '{kind}', true)"
            ))
            .await;
        browser
            .click(&format!("{form} button[data-add-action]"))
            .await;
    }
    let rows = browser
        .eval(&format!(
            "[...document.querySelectorAll('{form} ol.action-rows > li')].map((li) => li.querySelector('legend').textContent)"
        ))
        .await;
    assert_eq!(rows.as_array().unwrap().len(), 8, "{rows}");
    assert_eq!(rows[7], "Action 8: Set shipping address");
    assert_eq!(
        browser
            .eval(&format!(
                "document.querySelector(\"{form} input[name='actions[7].address.city']\").value"
            ))
            .await,
        "San Francisco"
    );
    browser
        .eval("(document.querySelectorAll('li[data-change] details').forEach((d) => (d.open = true)), true)")
        .await;
    browser.resize(PHONE).await;
    browser
        .fits("ol.change-list > li, li[data-change] tr[data-product] td, form.change-form fieldset, form.change-form button")
        .await;
    browser.resize(LAPTOP).await;
    browser.photograph("order-changes").await;
}

/// A token that stops being valid brings the sign-in form back over whatever page was
/// shown, with the reason, the navigation hidden; signing in again goes back to that page.
/// The skip link moves the focus to the content.
/// The stock pages: every product's ledger beside the orders, one product's holders, and an
/// adjustment refused beside its field, then made.
#[tokio::test(flavor = "multi_thread")]
async fn ops_read_the_stock_and_adjust_it() {
    let Some(browser) = browser().await else {
        return;
    };
    let app = App::start(None).await;
    let (admin, buyer) = (token("ops", true), token("dana", false));
    let mut holders = Vec::new();
    for units in [3, 2] {
        let mut body = harness::order_body(&[("prod-lamp", units)]);
        body["sales_channel"] = json!("sale");
        let (status, order) = app.post("/api/v1/orders/", Some(&buyer), &body, None).await;
        assert_eq!(status, 201, "{order}");
        holders.push(order["id"].as_str().unwrap().to_owned());
    }
    browser.sign_in(&app, &admin).await;
    let enter = char::from(fantoccini::key::Key::Enter);

    // Reached from an order's line.
    browser
        .visit(&format!("#/orders/{}", holders[0]), "order")
        .await;
    browser.click("a[data-stock-link='prod-lamp']").await;
    browser.page_shows("product").await;
    browser.visit("#/stock", "stock").await;
    let row = "tr[data-product='prod-lamp']";
    let counts = browser
        .eval(&format!(
            "Object.fromEntries([...document.querySelectorAll(\"{row} [data-count]\")].map((td) => [td.dataset.count, td.textContent]))"
        ))
        .await;
    assert_eq!(
        counts,
        json!({"on_hand": "40", "reserved": "5", "available": "35", "held_by_orders": "5", "in_doubt": "0"})
    );
    assert_eq!(
        browser.attr("[data-consistent]", "data-consistent").await,
        "true"
    );
    browser.photograph("stock").await;

    browser.click(&format!("{row} a")).await;
    browser.page_shows("product").await;
    let fact = |name: &str| format!("[data-fact={name}]");
    assert_eq!(browser.text(&fact("available")).await, "35");
    let shown = browser
        .eval("[...document.querySelectorAll('tr[data-holder]')].map((tr) => tr.dataset.holder).sort()")
        .await;
    holders.sort();
    assert_eq!(shown, json!(holders));

    // 36 out would leave fewer on hand than are reserved: refused beside the units.
    let form = "form.adjustment";
    let adjust = |delta: &'static str, reason: &'static str| {
        let browser = &browser;
        async move {
            let field = |name| format!("{form} input[name={name}]");
            browser.type_into(&field("delta"), delta).await;
            browser
                .type_into(&field("reason"), &format!("{reason}{enter}"))
                .await;
        }
    };
    adjust("-36", "count").await;
    let problem = format!("{form} .problem[data-for=delta]");
    browser
        .until(&format!(
            "document.querySelector(\"{problem}\").textContent !== ''"
        ))
        .await;
    assert_eq!(
        browser.text(&problem).await,
        "on hand cannot go under what orders reserve: 35 unit(s) may go"
    );
    assert_eq!(
        browser
            .attr(&format!("{form} input[name=delta]"), "aria-invalid")
            .await,
        "true"
    );
    browser.photograph("stock-product-refused").await;
    adjust("4", "a delivery").await;
    browser
        .until(&format!(
            "document.querySelector('{}')?.textContent === '44'",
            fact("on_hand")
        ))
        .await;
    assert_eq!(browser.text(&fact("available")).await, "39");
    let (_, inventory) = app.get("/api/v1/inventory/prod-lamp", Some(&admin)).await;
    assert_eq!(inventory["on_hand"], 44, "{inventory}");
    browser.no_errors().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_and_the_orders_list_follow_changes_as_they_happen() {
    let Some(browser) = browser().await else {
        return;
    };
    let app = App::start(None).await;
    let (admin, buyer) = (token("ops", true), token("dana", false));
    let place = || async {
        let (status, order) = app.place(&buyer, &[("prod-mug", 1)]).await;
        assert_eq!(status, 201, "{order}");
        order["id"].as_str().unwrap().to_owned()
    };
    let move_to = |id: String, status: &'static str| {
        let (app, admin) = (&app, &admin);
        async move {
            let body = json!({"status": status, "tracking_number": "1Z999"});
            let path = format!("/api/v1/orders/{id}/status");
            let (code, answer) = app.patch(&path, Some(admin), Some(&body)).await;
            assert_eq!(code, 200, "{answer}");
        }
    };
    let id = place().await;
    browser.sign_in(&app, &admin).await;

    // Someone else confirms the order while its page is shown: it shows at once.
    browser.visit(&format!("#/orders/{id}"), "order").await;
    move_to(id.clone(), "confirmed").await;
    browser
        .until("document.querySelector('[data-status]')?.dataset.status === 'confirmed'")
        .await;

    // The list: a listed order's row follows it; an order placed meanwhile is announced.
    browser.visit("#/orders", "orders").await;
    // (Moving to processing announces no event: the row waits for the shipment's.)
    move_to(id.clone(), "processing").await;
    move_to(id.clone(), "shipped").await;
    let badge = format!("tr[data-order='{id}'] [data-label=status] .badge");
    browser
        .until(&format!(
            "document.querySelector(\"{badge}\").textContent === 'shipped'"
        ))
        .await;
    let newer = place().await;
    browser
        .until("document.querySelector('[data-live]').textContent.startsWith('1 new order since')")
        .await;
    browser.accessible("orders list with a live notice").await;
    browser.click("[data-live] button").await;
    browser
        .until(&format!(
            "!!document.querySelector(\"tr[data-order='{newer}']\")"
        ))
        .await;
    browser.no_errors().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_token_signs_out_where_the_person_was() {
    let Some(browser) = browser().await else {
        return;
    };
    let app = App::start(None).await;
    let admin = token("ops", true);
    let now = chrono::Utc::now().timestamp();
    let expired = harness::token_with(
        &json!({"sub": "ops", "role": "admin", "exp": now - 600, "iat": now - 4200}),
    );
    browser.sign_in(&app, &admin).await;
    let enter = char::from(fantoccini::key::Key::Enter);
    let base = format!("http://{}", app.address());

    // The first Tab reaches "Skip to content", which takes the focus to the page without
    // changing the address.
    browser.open(&format!("{base}/console/#/overview")).await;
    browser.page_shows("overview").await;
    browser.press(fantoccini::key::Key::Tab).await;
    let skip = browser
        .eval("[document.activeElement.textContent, document.activeElement.getBoundingClientRect().left >= 0]")
        .await;
    assert_eq!(skip, json!(["Skip to content", true]));
    browser.press(fantoccini::key::Key::Enter).await;
    browser
        .until("document.activeElement.id === 'main' && location.hash === '#/overview'")
        .await;

    for (route, page) in [
        ("#/orders", "orders"),
        ("#/plugins", "plugins"),
        ("#/workflows", "workflows"),
    ] {
        browser.visit(route, page).await;
        // The token expires: the next page load is answered 401.
        browser
            .eval(&format!(
                "(sessionStorage.setItem('orderflow.console.token', {expired:?}), true)"
            ))
            .await;
        browser
            .eval("(window.dispatchEvent(new HashChangeEvent('hashchange')), true)")
            .await;
        browser.page_shows("sign-in").await;
        let reason = browser.text(".problem[data-for='']").await;
        assert!(reason.contains("expired"), "{reason}");
        assert_eq!(browser.shown(&["#nav", "#sign-out"]).await, [false, false]);
        // Still there after the page's other calls have come back.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            browser
                .eval("document.getElementById('main').dataset.page")
                .await,
            "sign-in"
        );
        assert_eq!(browser.eval("location.hash").await, route);
        if page == "orders" {
            browser.photograph("signed-out").await;
        }
        browser
            .type_into("input[name=token]", &format!("{admin}{enter}"))
            .await;
        browser.page_shows(page).await;
        assert_eq!(browser.shown(&["#nav", "#sign-out"]).await, [true, true]);
    }

    // Sign out: the form, without the navigation.
    browser.click("#sign-out").await;
    browser.page_shows("sign-in").await;
    assert_eq!(browser.shown(&["#nav", "#sign-out"]).await, [false, false]);
    browser.no_errors().await;
}

/// The plugins' `hourly`, summed: `{outcome: {hour: calls}}`, the hours without any left
/// out, each hour as the console names it (`2026-12-06T14:00:00Z`).
fn hourly<'a>(plugins: impl Iterator<Item = &'a Value>) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut sums: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for hour in plugins.flat_map(|p| p["hourly"].as_array().unwrap()) {
        let start = chrono::DateTime::parse_from_rfc3339(hour["hour"].as_str().unwrap()).unwrap();
        let key = start.to_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        for outcome in ["decided", "refused", "faults"] {
            let n = hour[outcome].as_u64().unwrap();
            if n > 0 {
                *sums
                    .entry(outcome.into())
                    .or_default()
                    .entry(key.clone())
                    .or_default() += n;
            }
        }
    }
    sums
}

/// What the charts under `css` draw, in the same shape as [`hourly`].
async fn charted(browser: &Browser, css: &str) -> BTreeMap<String, BTreeMap<String, u64>> {
    let cells = browser
        .eval(&format!(
            "[...document.querySelectorAll({:?})].map(td => [td.dataset.series, td.dataset.x, Number(td.dataset.value)])",
            css.split(", ").map(|c| format!("{c} td[data-series]")).collect::<Vec<_>>().join(", ")
        ))
        .await;
    let mut sums: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for cell in cells.as_array().unwrap() {
        let n = cell[2].as_u64().unwrap();
        if n > 0 {
            let series = cell[0].as_str().unwrap().to_owned();
            sums.entry(series)
                .or_default()
                .insert(cell[1].as_str().unwrap().to_owned(), n);
        }
    }
    sums
}

/// A plugin's calls, refusals, faults and fuel p50 and p99 in `/metrics`, `version`'s alone
/// if given, written as the console's data attributes write them (fuel: the upper bound of
/// the bucket the quantile falls in, `Infinity` past the last, empty without calls).
fn tally(exposition: &str, plugin: &str, version: Option<&str>) -> BTreeMap<&'static str, String> {
    let mut calls = BTreeMap::<String, f64>::new();
    let mut buckets = Vec::<(f64, f64)>::new();
    for line in exposition.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (name, labels) = series.split_once('{').unwrap_or((series, "}"));
        let labels: BTreeMap<&str, &str> = labels
            .trim_end_matches('}')
            .split(',')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k, v.trim_matches('"')))
            .collect();
        if labels.get("plugin") != Some(&plugin)
            || version.is_some_and(|v| labels.get("version") != Some(&v))
        {
            continue;
        }
        let value: f64 = value.parse().unwrap();
        match name {
            "orderflow_plugin_calls_total" => {
                *calls.entry(labels["outcome"].to_owned()).or_default() += value
            }
            "orderflow_plugin_fuel_bucket" => {
                let le = match labels["le"] {
                    "+Inf" => f64::INFINITY,
                    le => le.parse().unwrap(),
                };
                match buckets.iter_mut().find(|(bound, _)| *bound == le) {
                    Some((_, n)) => *n += value,
                    None => buckets.push((le, value)),
                }
            }
            _ => {}
        }
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = buckets.last().map_or(0.0, |(_, n)| *n);
    let quantile = |q: f64| match buckets.iter().find(|(_, n)| total > 0.0 && *n >= q * total) {
        Some((bound, _)) if bound.is_infinite() => "Infinity".to_owned(),
        Some((bound, _)) => bound.to_string(),
        None => String::new(),
    };
    let count = |outcome: &str| calls.get(outcome).copied().unwrap_or_default();
    BTreeMap::from([
        (
            "calls",
            (count("decided") + count("refused") + count("fault")).to_string(),
        ),
        ("refused", count("refused").to_string()),
        ("faults", count("fault").to_string()),
        ("fuel-p50", quantile(0.5)),
        ("fuel-p99", quantile(0.99)),
    ])
}

/// The same numbers as the row `row` of a calls table shows them.
async fn shown_tally(browser: &Browser, row: &str) -> BTreeMap<&'static str, String> {
    let mut shown = BTreeMap::new();
    for key in ["calls", "refused", "faults", "fuel-p50", "fuel-p99"] {
        shown.insert(
            key,
            browser
                .attr(&format!("{row} td[data-{key}]"), &format!("data-{key}"))
                .await,
        );
    }
    shown
}

/// With the development secret, the service logs a link that signs the console in; the
/// token leaves the address bar once taken.
#[tokio::test(flavor = "multi_thread")]
async fn the_development_sign_in_link_signs_in() {
    let Some(browser) = browser().await else {
        return;
    };
    // An empty JWT_SECRET is an unset one: the development secret in DATA_DIR.
    let app = App::start_with(vec![("JWT_SECRET", String::new())]);
    // Logged just after the service says it listens.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !app.log().contains("/console/#token=") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = app.log();
    let link = log
        .split_whitespace()
        .find(|word| word.contains("/console/#token="))
        .unwrap_or_else(|| panic!("no sign-in link in the log:\n{log}"))
        .trim_end_matches(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_');
    browser.open(link).await;
    browser.page_shows("overview").await;
    let address = browser.eval("location.hash").await;
    assert_eq!(address, json!("#/overview"));
    browser.no_errors().await;
}

/// The pages and their assets come from the binary, with their types, a policy that lets
/// nothing but this origin's scripts and styles run, and caching by version or by ETag.
#[tokio::test]
async fn the_console_is_served_with_its_policy_and_cache_headers() {
    let app = App::start(None).await;
    let http = reqwest::Client::new();
    let base = format!("http://{}", app.address());
    let get = |path: &str, etag: Option<&str>| {
        let mut request = http.get(format!("{base}{path}"));
        if let Some(etag) = etag {
            request = request.header("if-none-match", etag);
        }
        request.send()
    };
    let header = |response: &reqwest::Response, name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    for (path, content_type, cache) in [
        ("/console", "text/html", "no-cache"),
        ("/console/", "text/html", "no-cache"),
        ("/console/app.js", "text/javascript", "no-cache"),
        ("/console/style.css", "text/css", "no-cache"),
        (
            "/console/vendor/uplot-1.6.32/uPlot.esm.js",
            "text/javascript",
            "immutable",
        ),
    ] {
        let response = get(path, None).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert!(
            header(&response, "content-type").starts_with(content_type),
            "{path}"
        );
        assert!(header(&response, "cache-control").contains(cache), "{path}");
        let policy = header(&response, "content-security-policy");
        assert!(policy.contains("script-src 'self'"), "{path}: {policy}");
        assert!(!policy.contains("unsafe"), "{path}: {policy}");
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        let etag = header(&response, "etag");
        let again = get(path, Some(&etag)).await.unwrap();
        assert_eq!(again.status(), 304, "{path}");
    }
    let missing = get("/console/nothing.js", None).await.unwrap();
    assert_eq!(missing.status(), 404);
    let error: Value = serde_json::from_str(&missing.text().await.unwrap()).unwrap();
    assert_eq!(error["error"]["code"], "not_found");
}

/// `tests/install.sh` run again with everything installed does nothing: no package manager
/// is called (each is replaced by one that fails and says so), no installed file changes,
/// and it is done at once; it names the same axe-core script.
#[test]
fn installing_again_does_nothing() {
    let Some(axe) = installed() else {
        return;
    };
    // `$ORDERFLOW_TOOLS/axe-core-<version>/node_modules/axe-core/axe.min.js`
    let Some(tools) = axe.ancestors().nth(4) else {
        panic!(
            "{} is not where tests/install.sh puts axe-core",
            axe.display()
        );
    };
    let installed = axe.ancestors().nth(3).unwrap();
    let stubs = tempfile::tempdir().unwrap();
    let called = stubs.path().join("called");
    for tool in ["apt-get", "sudo", "npm", "npx"] {
        let stub = stubs.path().join(tool);
        std::fs::write(
            &stub,
            format!(
                "#!/bin/sh\necho {tool} \"$@\" >> {}\nexit 1\n",
                called.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&stub, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
    }
    let files = |root: &std::path::Path| -> BTreeMap<PathBuf, std::time::SystemTime> {
        let mut found = BTreeMap::new();
        let mut todo = vec![root.to_path_buf()];
        while let Some(dir) = todo.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let entry = entry.unwrap();
                let meta = entry.metadata().unwrap();
                if meta.is_dir() {
                    todo.push(entry.path());
                }
                found.insert(entry.path(), meta.modified().unwrap());
            }
        }
        found
    };
    let before = files(installed);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/install.sh");
    let started = Instant::now();
    let out = Command::new("bash")
        .args([
            "-c",
            &format!("set -e; source {script}; install_browser; install_axe; echo \"$ORDERFLOW_TEST_AXE\""),
        ])
        .env("ORDERFLOW_TOOLS", tools)
        .env(
            "PATH",
            format!("{}:{}", stubs.path().display(), std::env::var("PATH").unwrap()),
        )
        .output()
        .unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !called.exists(),
        "{}",
        std::fs::read_to_string(&called).unwrap_or_default()
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        axe.to_str().unwrap()
    );
    assert_eq!(stderr, "", "a second install says nothing");
    assert_eq!(files(installed), before, "a second install changes no file");
    assert!(
        took < Duration::from_secs(2),
        "a second install took {took:?}"
    );
}
