//! The live page in a real browser: headless Chromium loads it while a module fails and
//! restarts, and the page's text is checked after each change.
//!
//! Skipped when no Chromium is installed, unless `SYMPHRA_REQUIRE_BROWSER=1` (set by
//! `.ci/test`), which makes a missing browser a failure. `SYMPHRA_SCREENSHOT=path.png` also
//! saves a screenshot of the last page.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use common::{Flaky, Steady, chromium, reached};
use symphra::bus::Event;
use symphra::manager::{ModuleEvent, STATE_CHANGED};
use symphra::prelude::*;
use symphra_ops::Ops;
use tokio::sync::{Notify, mpsc};

/// Loads `url` in headless Chromium with a fresh profile and returns the DOM after its
/// scripts ran (a virtual time budget, not a wall-clock wait); with `screenshot`, saves
/// one there instead and returns nothing.
async fn load(browser: &Path, url: &str, screenshot: Option<&Path>) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(browser);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        // The page holds its event stream open, which a virtual time budget would wait for
        // forever: the load is stopped after 4 s and the DOM taken as it is then.
        "--timeout=4000",
    ]);
    command.arg(format!("--user-data-dir={}", profile.path().display()));
    match screenshot {
        Some(path) => {
            command.arg("--window-size=960,900");
            command.arg(format!("--screenshot={}", path.display()));
        }
        None => {
            command.arg("--dump-dom");
        }
    }
    command.arg(url).kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .expect("chromium did not finish within 120 s")
        .unwrap();
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The texts of the cells of the row of `module` in the dumped DOM.
fn row(dom: &str, module: &str) -> Vec<String> {
    let start = format!("<tr id=\"module-{module}\">");
    let Some(at) = dom.find(&start) else {
        panic!("no row for {module} in:\n{dom}");
    };
    let rest = &dom[at + start.len()..];
    let row = &rest[..rest.find("</tr>").unwrap_or(rest.len())];
    row.split("<td")
        .skip(1)
        .map(|cell| {
            let text = &cell[cell.find('>').map_or(0, |i| i + 1)..];
            text[..text.find("</td>").unwrap_or(text.len())].to_owned()
        })
        .collect()
}

/// The text of the element with `id` in the dumped DOM.
fn text_of(dom: &str, id: &str) -> String {
    let start = format!("id=\"{id}\">");
    let Some(at) = dom.find(&start) else {
        panic!("no #{id} in:\n{dom}");
    };
    let rest = &dom[at + start.len()..];
    rest[..rest.find('<').unwrap_or(rest.len())].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_page_shows_a_module_failing_and_restarting() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("SYMPHRA_REQUIRE_BROWSER").is_none(),
            "SYMPHRA_REQUIRE_BROWSER is set but no chromium is installed (apt-get install chromium)"
        );
        eprintln!("skipped: no chromium installed");
        return;
    };
    let fail = Arc::new(Notify::new());
    let restart = Arc::new(Notify::new());
    let manager = ModuleManager::builder()
        .module(Flaky {
            fail: Arc::clone(&fail),
            restart: Arc::clone(&restart),
            starts: AtomicU32::new(0),
        })
        .module(Steady)
        .build()
        .unwrap();
    let (sender, mut changes) = mpsc::unbounded_channel();
    let _subscription = manager
        .bus()
        .subscribe(STATE_CHANGED, move |event: &Event| {
            if let Some(change) = event.payload::<ModuleEvent>() {
                let _ = sender.send(change.clone());
            }
        })
        .unwrap();
    let server = Ops::new(manager.clone())
        .title("demo")
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let url = format!("http://{}/", server.local_addr());
    let report = manager.start_all().await.unwrap();
    server.show_start(&report);

    // Everything runs.
    let dom = load(&browser, &url, None).await;
    assert_eq!(
        row(&dom, "flaky"),
        ["flaky", "started", "ready", "no check", "0", ""]
    );
    assert_eq!(row(&dom, "steady")[1..3], ["started", "ready"]);
    assert_eq!(text_of(&dom, "summary"), "2 of 2 modules ready");

    // flaky's task fails; supervision restarts it, and its start waits.
    fail.notify_one();
    reached(&mut changes, ModuleState::Starting).await;
    let dom = load(&browser, &url, None).await;
    let flaky = row(&dom, "flaky");
    assert_eq!(flaky[1..3], ["starting", "not ready"], "{flaky:?}");
    assert!(flaky[5].contains("disk full"), "{flaky:?}");
    assert_eq!(text_of(&dom, "summary"), "1 of 2 modules ready");

    // The restart completes.
    restart.notify_one();
    reached(&mut changes, ModuleState::Started).await;
    let dom = load(&browser, &url, None).await;
    let flaky = row(&dom, "flaky");
    assert_eq!(flaky[1..3], ["started", "ready"], "{flaky:?}");
    assert_eq!(flaky[4], "1", "{flaky:?}");
    assert_eq!(text_of(&dom, "summary"), "2 of 2 modules ready");

    if let Some(path) = std::env::var_os("SYMPHRA_SCREENSHOT") {
        load(&browser, &url, Some(Path::new(&path))).await;
    }
    manager.stop_all().await.unwrap();
    server.shutdown().await.unwrap();
}
