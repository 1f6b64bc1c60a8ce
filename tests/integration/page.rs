//! SPEC §11, the seed's page in a real browser: Debian's Chromium driven over WebDriver
//! (`chromedriver`, through fantoccini), signing in at the real OpenID provider of
//! `tests/oidc` through its own login form, on the shipped examples. alice picks jdoe, a day
//! and New York, generates the report, steps to the day clocks go back (25 hours), downloads
//! the CSV (the bytes `report --as alice` writes) and opens `explain` from a block; mallory
//! sees no agent and a 403 page for jdoe's URL; signing out leaves nothing behind the back
//! button. The same flow again with JavaScript off. axe-core (npm, pinned in
//! `tests/oidc/package.json`) finds no WCAG 2.1 AA violation on the form, a report, an
//! explanation and the 403 page.
//!
//! Under `CI=true` a missing `chromedriver` or Chromium fails the test; elsewhere the test
//! says so and stops. The screenshots it takes go to `target/tmp/screenshots/`, and into
//! `docs/images/` with `UPDATE_SCREENSHOTS=1` (docs/development.md).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::serve::{Running, demo_checkout, demo_served, free_port, installed, oidc_dir, started};

const DAY: &str = "2026-11-02";
const ZONE: &str = "America/New_York";

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

fn chromedriver() -> PathBuf {
    std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"))
}

/// Whether the browser and its driver are here; under CI their absence is a failure.
fn browser_present() -> bool {
    let present = chromium().is_file() && chromedriver().is_file();
    if !present {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} or {} is missing: CI installs chromium and chromium-driver (.ci/run)",
            chromium().display(),
            chromedriver().display()
        );
        println!("skipped: no chromium or chromedriver (apt-get install chromium chromium-driver)");
    }
    present
}

/// The examples served behind the real provider, whose accounts are alice (an example
/// supervisor of New York) and mallory (no user of the examples).
struct Site {
    checkout: TempDir,
    base: String,
    /// `serve --demo` (its built-in sign-in), else behind the provider.
    demo: bool,
    _provider: Option<Running>,
    _server: Running,
}

/// `serve --demo` in a copy of the checkout, as the README runs it.
fn demo_site() -> Site {
    let checkout = demo_checkout();
    let (server, base) = demo_served(checkout.path());
    Site {
        checkout,
        base,
        demo: true,
        _provider: None,
        _server: server,
    }
}

fn site() -> Site {
    installed();
    let checkout = demo_checkout();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let config = json!({
        "port": 0,
        "clients": [{"client_id": "agent-audit", "client_secret": "s3cret",
                     "redirect_uris": [format!("{base}/auth/callback")]}],
        "accounts": {"alice": {"preferred_username": "alice"},
                     "mallory": {"preferred_username": "mallory"}},
        "resource": "agent-audit",
        "access_token_ttl": 600
    });
    let dir = checkout.path();
    fs::write(dir.join("oidc.json"), config.to_string()).unwrap();
    let mut cmd = Command::new("node");
    cmd.arg(oidc_dir().join("provider.mjs"))
        .arg(dir.join("oidc.json"));
    let (provider, issuer) = started(cmd, "ready ", false);
    fs::write(dir.join("oidc-secret"), "s3cret\n").unwrap();
    fs::write(dir.join("session.key"), [9u8; 64]).unwrap();
    fs::write(
        dir.join("SERVE.toml"),
        format!(
            "listen = \"127.0.0.1:{port}\"\nevents = [\"examples/events\"]\n\
             config = \"examples/secure.toml\"\ntimezone = \"{ZONE}\"\npublic_url = \"{base}\"\n\
             [oidc]\nissuer = \"{issuer}\"\nclient_id = \"agent-audit\"\nclient_secret_file = \"oidc-secret\"\n\
             [session]\nkey_file = \"session.key\"\n"
        ),
    )
    .unwrap();
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("agent-audit"));
    cmd.arg("serve")
        .arg(dir.join("SERVE.toml"))
        .current_dir(dir);
    let (server, _) = started(cmd, "serve: listening on ", true);
    Site {
        checkout,
        base,
        demo: false,
        _provider: Some(provider),
        _server: server,
    }
}

impl Site {
    /// What the command line prints for `args`, run in the checkout as alice, naming the
    /// files as the server does (relative in demo mode, from SERVE.toml's folder else).
    fn cli(&self, args: &[&str]) -> Vec<u8> {
        let dir = if self.demo {
            PathBuf::new()
        } else {
            self.checkout.path().to_path_buf()
        };
        let out = Command::new(assert_cmd::cargo::cargo_bin!("agent-audit"))
            .args(args)
            .arg("--config")
            .arg(dir.join("examples/secure.toml"))
            .args(["--as", "alice", "--events"])
            .arg(dir.join("examples/events"))
            .args(["--agent", "jdoe"])
            .args(["--timezone", ZONE])
            .current_dir(self.checkout.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }
}

/// One chromedriver for a test; each [`Browser`] is its own session and profile.
struct Driver {
    _process: Running,
    url: String,
}

fn driver() -> Driver {
    let port = free_port();
    let mut cmd = Command::new(chromedriver());
    cmd.arg(format!("--port={port}"));
    let (process, _) = started(cmd, "ChromeDriver was started successfully", false);
    Driver {
        _process: process,
        url: format!("http://127.0.0.1:{port}"),
    }
}

struct Browser {
    client: Client,
    downloads: TempDir,
    _profile: TempDir,
}

/// How the browser is set up: script on or off, light or dark colour scheme.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Script,
    NoScript,
    Dark,
}

async fn browser(driver: &Driver, mode: Mode) -> Browser {
    let downloads = TempDir::new().unwrap();
    let profile = TempDir::new().unwrap();
    let mut prefs = json!({
        "download.default_directory": downloads.path(),
        "download.prompt_for_download": false,
    });
    if mode == Mode::NoScript {
        prefs["profile.managed_default_content_settings.javascript"] = json!(2);
    }
    let scheme = if mode == Mode::Dark {
        "--force-dark-mode"
    } else {
        "--disable-features=WebContentsForceDark"
    };
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium(),
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--lang=en-US", "--window-size=1280,1000",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", scheme,
                     format!("--user-data-dir={}", profile.path().display())],
            "prefs": prefs,
        }
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .unwrap_or_else(|e| panic!("a Chromium session through {}: {e}", driver.url));
    Browser {
        client,
        downloads,
        _profile: profile,
    }
}

impl Browser {
    async fn at(&self) -> String {
        self.client.current_url().await.unwrap().to_string()
    }

    async fn dom(&self) -> String {
        self.client.source().await.unwrap()
    }

    async fn css(&self, selector: &str) -> fantoccini::elements::Element {
        match self.client.find(Locator::Css(selector)).await {
            Ok(found) => found,
            Err(e) => panic!("no `{selector}` at {}: {e}", self.at().await),
        }
    }

    async fn text_of(&self, selector: &str) -> String {
        self.css(selector).await.text().await.unwrap()
    }

    /// Signs in as `login` from wherever a page without a session was sent: the provider's
    /// own login form, or demo mode's sign-in.
    async fn sign_in(&self, site: &Site, login: &str) {
        if site.demo {
            assert!(
                self.at().await.contains("/demo/sign-in"),
                "{}",
                self.at().await
            );
            assert!(self.dom().await.contains("identities are not verified"));
            self.follow(&format!(
                "form:has(input[name=login][value={login}]) button"
            ))
            .await;
        } else {
            assert!(
                self.at().await.contains("/interaction/"),
                "{}",
                self.at().await
            );
            self.sign_in_at_provider(login).await;
        }
    }

    /// Through the provider's own forms (its login, then its consent if it asks), as
    /// `login`, until the browser is back at the site.
    async fn sign_in_at_provider(&self, login: &str) {
        for _ in 0..4 {
            let at = self.at().await;
            if !at.contains("/interaction/") {
                return;
            }
            if let Ok(field) = self.client.find(Locator::Css("input[name=login]")).await {
                field.send_keys(login).await.unwrap();
                self.css("input[name=password]")
                    .await
                    .send_keys("any")
                    .await
                    .unwrap();
            }
            self.css("button[type=submit]").await.click().await.unwrap();
            self.settled(&at).await;
        }
        panic!("still at the provider: {}", self.at().await);
    }

    /// Waits (20 s at most) until the page is no longer `from` and has loaded.
    async fn settled(&self, from: &str) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if self.at().await != from && self.client.find(Locator::Css("body")).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the page stayed at {from}");
    }

    /// Clicks `selector` and waits for the next page.
    async fn follow(&self, selector: &str) {
        let at = self.at().await;
        self.css(selector).await.click().await.unwrap();
        self.settled(&at).await;
    }

    /// The file a download wrote (30 s at most).
    async fn downloaded(&self, name: &str) -> Vec<u8> {
        let path = self.downloads.path().join(name);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if path.is_file() {
                let partial = fs::read_dir(self.downloads.path()).unwrap().any(|e| {
                    e.unwrap()
                        .path()
                        .extension()
                        .is_some_and(|x| x == "crdownload")
                });
                if !partial {
                    return fs::read(&path).unwrap();
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let seen: Vec<_> = fs::read_dir(self.downloads.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        panic!("no download {name}; the folder holds {seen:?}");
    }

    /// Alt + `key`, as a person presses it.
    async fn alt(&self, key: Key) {
        let at = self.at().await;
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down {
                value: Key::Alt.into(),
            })
            .then(KeyAction::Down { value: key.into() })
            .then(KeyAction::Up { value: key.into() })
            .then(KeyAction::Up {
                value: Key::Alt.into(),
            });
        self.client.perform_actions(keys).await.unwrap();
        self.client.release_actions().await.unwrap();
        self.settled(&at).await;
    }

    /// axe-core's WCAG 2.0/2.1 A and AA rules on the current page: the violations.
    async fn axe(&self) -> Vec<Value> {
        let axe = fs::read_to_string(oidc_dir().join("node_modules/axe-core/axe.min.js"))
            .expect("axe-core in tests/oidc/node_modules (npm ci)");
        self.client
            .execute(&format!("{axe}\nreturn typeof window.axe;"), vec![])
            .await
            .unwrap();
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {runOnly: {type: 'tag',
                     values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
                   .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact,
                       help: v.help, nodes: v.nodes.map(n => n.target.join(' ') + ': ' +
                       n.failureSummary)}))))
                   .catch(e => done([{id: 'axe failed', help: String(e)}]));",
                vec![],
            )
            .await
            .unwrap();
        found.as_array().cloned().unwrap_or_default()
    }

    async fn assert_accessible(&self, what: &str) {
        let violations = self.axe().await;
        assert!(
            violations.is_empty(),
            "axe-core on {what} ({}): {}",
            self.at().await,
            serde_json::to_string_pretty(&violations).unwrap()
        );
    }

    /// A screenshot of the viewport, kept as `name`.
    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
        let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
        assert!(width >= 1000, "the window's width, not {width}");
        let kept = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        fs::create_dir_all(&kept).unwrap();
        fs::write(kept.join(name), &png).unwrap();
        if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
            let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/images");
            fs::create_dir_all(&docs).unwrap();
            fs::write(docs.join(name), &png).unwrap();
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The query value `key` of a URL.
fn query(url: &str, key: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// alice's flow, with or without JavaScript: everything the seed asks for, through plain
/// forms and links, and what the script adds where it runs.
async fn alice_flow(site: &Site, b: &Browser, javascript: bool) {
    // The form asks for a login (the provider's form, or demo mode's sign-in), then back
    // at the form.
    b.client.goto(&format!("{}/", site.base)).await.unwrap();
    b.sign_in(site, "alice").await;
    assert_eq!(b.at().await, format!("{}/", site.base));
    assert_eq!(
        site.demo,
        b.dom().await.contains("identities are not verified"),
        "demo mode's banner, on every page of it and only there"
    );
    // The date: yesterday in the zone; in demo mode the examples' last day.
    let yesterday = chrono::Utc::now()
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive()
        - chrono::Days::new(1);
    let default_date = if site.demo {
        "2026-11-03".to_string()
    } else {
        yesterday.to_string()
    };
    assert_eq!(
        b.css("#date").await.prop("value").await.unwrap(),
        Some(default_date)
    );
    assert!(b.text_of(".aa-who").await.contains("alice"));
    assert!(
        b.text_of(".aa-fresh")
            .await
            .contains("Events through 2026-11-04")
    );
    let mut agents = Vec::new();
    for option in b
        .client
        .find_all(Locator::Css("#agent option"))
        .await
        .unwrap()
    {
        agents.push(option.attr("value").await.unwrap().unwrap());
    }
    assert!(agents.contains(&"jdoe".to_string()), "{agents:?}");
    assert!(!agents.contains(&"mrivera".to_string()), "{agents:?}");
    assert_eq!(
        b.css("#timezone")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some(ZONE),
        "SERVE.toml's zone by default"
    );
    let filter = b.css("#agent-filter").await;
    assert_eq!(
        filter.is_displayed().await.unwrap(),
        javascript,
        "the filter is the script's"
    );
    if javascript {
        b.assert_accessible("the form").await;
        if site.demo {
            // The form is short: a short window, then the usual one again.
            b.client.set_window_size(1280, 560).await.unwrap();
            b.screenshot("page-form.png").await;
            b.client.set_window_size(1280, 1000).await.unwrap();
        }
        // Search as you type: only the matching logins stay.
        filter.send_keys("jd").await.unwrap();
        for option in b
            .client
            .find_all(Locator::Css("#agent option"))
            .await
            .unwrap()
        {
            let login = option.attr("value").await.unwrap().unwrap();
            let hidden = option.prop("hidden").await.unwrap();
            assert_eq!(
                hidden.as_deref() == Some("true"),
                !login.contains("jd"),
                "{login}"
            );
        }
    }

    // Agent, date (typed as a person types it), zone, Generate Report.
    b.css("#agent").await.select_by_value("jdoe").await.unwrap();
    let date = b.css("#date").await;
    date.send_keys("11022026").await.unwrap();
    let zone = b.css("#timezone").await;
    zone.clear().await.unwrap();
    zone.send_keys(ZONE).await.unwrap();
    b.follow("button.aa-go").await;
    let at = b.at().await;
    assert!(at.starts_with(&format!("{}/report?", site.base)), "{at}");
    assert_eq!(query(&at, "agent").as_deref(), Some("jdoe"));
    assert_eq!(query(&at, "date").as_deref(), Some(DAY));
    assert_eq!(query(&at, "timezone").as_deref(), Some(ZONE));
    assert!(b.text_of(".aa-report").await.contains("24-hour day"));
    let blocks = b
        .client
        .find_all(Locator::Css(".aa-report a.b"))
        .await
        .unwrap();
    let rows = b
        .client
        .find_all(Locator::Css(".aa-report tr[id^=r]"))
        .await
        .unwrap();
    assert!(!blocks.is_empty() && blocks.len() == rows.len());
    if javascript {
        b.assert_accessible("a report").await;
        if site.demo {
            b.screenshot("page-report.png").await;
        }
    }

    // The day clocks went back (2026-11-01 in New York; the 2026-11-02 is the day
    // after): 25 hours. By the keyboard where the script runs, by the link where not.
    if javascript {
        b.alt(Key::Left).await;
    } else {
        b.follow("a.aa-day[rel=prev]").await;
    }
    assert_eq!(query(&b.at().await, "date").as_deref(), Some("2026-11-01"));
    assert!(b.text_of(".aa-report").await.contains("25-hour day"));
    if javascript {
        b.alt(Key::Right).await;
    } else {
        b.follow("a.aa-day[rel=next]").await;
    }
    assert_eq!(query(&b.at().await, "date").as_deref(), Some(DAY));

    // Download CSV: the bytes `report --as alice` writes.
    b.css("a.aa-download[href^='/report.csv']")
        .await
        .click()
        .await
        .unwrap();
    let csv = b
        .downloaded(&format!("jdoe_{DAY}_America-New_York.csv"))
        .await;
    assert_eq!(
        String::from_utf8_lossy(&csv),
        String::from_utf8_lossy(&site.cli(&["report", "--date", DAY])),
        "the download is `report --as alice`"
    );
    assert_eq!(csv, site.cli(&["report", "--date", DAY]));

    // Explain: from a click on a block where the script runs (the instant under the
    // pointer), from the plain form (noon) where not; either way what `explain` prints.
    if javascript {
        let blocks = b
            .client
            .find_all(Locator::Css(".aa-report a.b"))
            .await
            .unwrap();
        let widest = {
            let mut best = (0.0, 0);
            for (i, block) in blocks.iter().enumerate() {
                let (_, _, w, _) = block.rectangle().await.unwrap();
                if w > best.0 {
                    best = (w, i);
                }
            }
            best.1
        };
        let status = blocks[widest].attr("data-status").await.unwrap().unwrap();
        let at = b.at().await;
        blocks[widest].click().await.unwrap();
        b.settled(&at).await;
        let explained = b.text_of("pre.aa-explain").await;
        assert!(explained.contains(&status), "{status}: {explained}");
    } else {
        b.follow(".aa-explain-form button").await;
    }
    let at = b.at().await;
    assert!(at.contains("/explain?"), "{at}");
    let instant = query(&at, "at").unwrap();
    let cli = String::from_utf8(site.cli(&["explain", "--at", &instant])).unwrap();
    let page = b.text_of("pre.aa-explain").await;
    let (page, cli) = (page.trim_end().lines(), cli.trim_end().lines());
    assert_eq!(
        page.clone().count(),
        cli.clone().count(),
        "`explain --at {instant}`"
    );
    for (n, (shown, printed)) in page.zip(cli).enumerate() {
        assert_eq!(shown, printed, "line {} of `explain --at {instant}`", n + 1);
    }
    if javascript {
        b.assert_accessible("an explanation").await;
    }
    b.follow("main a[href^='/report?']").await;
    assert_eq!(query(&b.at().await, "date").as_deref(), Some(DAY));

    // Sign out: the back button shows no data (`no-store`: the page is asked for again,
    // and the provider asks for credentials again).
    b.follow(".aa-out button").await;
    assert!(b.dom().await.contains("Signed out"));
    b.client.back().await.unwrap();
    let sign_in = if site.demo {
        "/demo/sign-in"
    } else {
        "/interaction/"
    };
    let started = Instant::now();
    while !b.at().await.contains(sign_in) && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let dom = b.dom().await;
    assert!(
        b.at().await.contains(sign_in) && dom.contains("name=\"login\""),
        "back after signing out: a sign-in form, at {}",
        b.at().await
    );
    assert!(
        !dom.contains("Available") && !dom.contains("hour day"),
        "{dom}"
    );
}

/// Runs `flow` on the site `start` serves, with one chromedriver, where the browser is here.
fn with_chromium(start: fn() -> Site, flow: impl AsyncFnOnce(&Site, &Driver)) {
    if !browser_present() {
        return;
    }
    let site = start();
    let driver = driver();
    runtime().block_on(flow(&site, &driver));
}

/// alice's whole flow in a new browser of `mode`.
async fn alice_in(site: &Site, driver: &Driver, mode: Mode) {
    let alice = browser(driver, mode).await;
    alice_flow(site, &alice, mode == Mode::Script).await;
    alice.client.close().await.unwrap();
}

#[test]
fn the_seed_flow_in_chromium_behind_the_provider_s_login() {
    with_chromium(site, async |site, driver| {
        alice_in(site, driver, Mode::Script).await;

        // The dark colour scheme: the frame turns dark, the report stays a page on paper,
        // and both keep their contrast.
        let dark = browser(driver, Mode::Dark).await;
        let b = &dark;
        b.client
            .goto(&format!(
                "{}/report?agent=jdoe&date={DAY}&timezone=America%2FNew_York",
                site.base
            ))
            .await
            .unwrap();
        b.sign_in(site, "alice").await;
        let dark_scheme = b
            .client
            .execute(
                "return matchMedia('(prefers-color-scheme: dark)').matches;",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            dark_scheme,
            json!(true),
            "the browser prefers the dark scheme"
        );
        assert!(b.text_of(".aa-report").await.contains("24-hour day"));
        b.assert_accessible("a report in the dark scheme").await;
        dark.client.close().await.unwrap();

        // mallory, no user of the examples: no agent, and jdoe's day by URL is the 403
        // page with the reason and the deciding rule, and nothing of jdoe's.
        let mallory = browser(driver, Mode::Script).await;
        let b = &mallory;
        b.client.goto(&format!("{}/", site.base)).await.unwrap();
        b.sign_in(site, "mallory").await;
        assert!(b.text_of(".aa-who").await.contains("mallory"));
        assert!(
            b.text_of("main")
                .await
                .contains("There is no agent whose activity you may audit")
        );
        assert!(
            b.client
                .find_all(Locator::Css("option"))
                .await
                .unwrap()
                .is_empty()
        );
        b.assert_accessible("the form with no agents").await;
        b.client
            .goto(&format!(
                "{}/report?agent=jdoe&date={DAY}&timezone=America%2FNew_York",
                site.base
            ))
            .await
            .unwrap();
        assert_eq!(b.text_of("h1").await, "Not within your access");
        let reason = b.text_of(".aa-reason").await;
        assert!(reason.contains("users.toml"), "the deciding rule: {reason}");
        let dom = b.dom().await;
        for data in ["New York", "Available", "2026-11-02T", "hour day", "Doe"] {
            assert!(!dom.contains(data), "{data} in the 403 page: {dom}");
        }
        b.assert_accessible("the 403 page").await;
        mallory.client.close().await.unwrap();
    });
}

#[test]
fn the_seed_flow_works_with_javascript_off() {
    with_chromium(site, async |site, driver| {
        alice_in(site, driver, Mode::NoScript).await
    });
}

/// The README's one command, in the browser: demo mode's sign-in instead of the provider,
/// the rest as above (and the screenshots of the docs are of this).
#[test]
fn the_seed_flow_in_demo_mode_as_the_readme_shows_it() {
    with_chromium(demo_site, async |site, driver| {
        alice_in(site, driver, Mode::Script).await
    });
}
