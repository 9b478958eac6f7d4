//! The live page updates itself: one page, opened once in headless Chromium and never
//! reloaded, shows a module failing, restarting and running again as it happens, from the
//! server-sent events alone.
//!
//! Chromium's command line cannot watch a page change (`--dump-dom` takes one picture,
//! and a virtual time budget never ends while the event stream is open), so the test
//! drives the page over the DevTools protocol (`common::cdp`): each check is a script that
//! resolves when the page's table shows the expected state (a `MutationObserver`, no
//! polling), bounded in time. A mark set on `window` after the first load and read back at
//! each check proves the page was not reloaded.
//!
//! Skipped when no Chromium is installed, unless `SYMPHRA_REQUIRE_BROWSER=1` (set by
//! `.ci/test`), which makes a missing browser a failure.

mod common;

use std::sync::Arc;
use std::sync::atomic::AtomicU32;

use common::cdp::Page;
use common::{Flaky, Steady, chromium};
use serde_json::Value;
use symphra::prelude::*;
use symphra_ops::Ops;
use tokio::sync::Notify;

/// A script resolving, once `flaky`'s row shows `state` and `restarts` and the stream is
/// live, to the row's cells, the summary and the mark left on `window`.
fn once_flaky_shows(state: &str, restarts: u32) -> String {
    format!(
        r#"new Promise((resolve) => {{
  const text = (id) => document.getElementById(id)?.textContent ?? null;
  const cells = () => [...(document.getElementById("module-flaky")?.cells ?? [])].map((c) => c.textContent);
  const shown = () => {{
    const row = cells();
    return row[1] === "{state}" && row[4] === "{restarts}" && text("connection") === "live";
  }};
  const answer = () => ({{ cells: cells(), summary: text("summary"), mark: window.symphraMark ?? null }});
  if (shown()) {{ resolve(answer()); return; }}
  const observer = new MutationObserver(() => {{
    if (shown()) {{ observer.disconnect(); resolve(answer()); }}
  }});
  observer.observe(document, {{ subtree: true, childList: true, characterData: true }});
}})"#
    )
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_open_page_follows_a_module_failing_and_restarting_without_a_reload() {
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
    let server = Ops::new(manager.clone())
        .title("demo")
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    manager.start_all().await.unwrap();

    let mut page = Page::open(&browser, &format!("http://{}/", server.local_addr())).await;
    let first = page.evaluate(&once_flaky_shows("started", 0)).await;
    assert_eq!(first["summary"], "2 of 2 modules ready");
    page.evaluate("window.symphraMark = 'first load'; true")
        .await;

    // flaky's task fails; supervision restarts it, and its start waits: the open page shows
    // it (nothing else asks the server for anything).
    fail.notify_one();
    let failing = page.evaluate(&once_flaky_shows("starting", 0)).await;
    let cells = strings(&failing["cells"]);
    assert_eq!(cells[..3], ["flaky", "starting", "not ready"], "{cells:?}");
    assert!(cells[5].contains("disk full"), "{cells:?}");
    assert_eq!(failing["summary"], "1 of 2 modules ready");
    assert_eq!(failing["mark"], "first load");

    // The restart completes: counted once done.
    restart.notify_one();
    let running = page.evaluate(&once_flaky_shows("started", 1)).await;
    let cells = strings(&running["cells"]);
    assert_eq!(cells[..3], ["flaky", "started", "ready"], "{cells:?}");
    assert_eq!(running["summary"], "2 of 2 modules ready");
    assert_eq!(running["mark"], "first load");

    manager.stop_all().await.unwrap();
    server.shutdown().await.unwrap();
}
