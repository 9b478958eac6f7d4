//! Issue 19, item 14: a guest's log message cannot forge a line of the host's log: its
//! newlines and other control characters are escaped.

mod common;
#[path = "../../../tests/support/log_lines.rs"]
mod log_lines;

use common::{Guest, host};
use log_lines::Lines;
use symphra::Hook;
use symphra_wasm::Manifest;

#[tokio::test]
async fn item_14_a_guest_log_message_cannot_forge_a_host_line() {
    let forged = "done\nERROR symphra::manager::runner: hook failed module=victim\r\u{1b}[2K";
    let mut g = Guest::new();
    let log = g.log(forged);
    let wasm = g.hook("bootstrap", log).component();
    let manifest =
        Manifest::parse("name = \"liar\"\nversion = \"1.0.0\"\n", "liar/module.toml").unwrap();
    let module = host()
        .load_bytes("liar/module.wasm".as_ref(), &wasm, manifest)
        .unwrap();

    let (logged, _guard) = Lines::capture(tracing::Level::INFO);
    module.instantiate().await.unwrap();
    module.call_hook(Hook::Bootstrap).await.unwrap();

    let written = logged.take();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines.len(), 1, "one line for one message: {written:?}");
    assert!(lines[0].contains("done\\nERROR"), "{written:?}");
    assert!(
        !written.contains('\r') && !written.contains('\u{1b}'),
        "{written:?}"
    );
}
