//! Issue 19, item 14: a guest's log message cannot forge a line of the host's log: its
//! newlines and other control characters are escaped.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{Guest, host};
use symphra::Hook;
use symphra_wasm::Manifest;

/// Collects what the subscriber writes.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

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

    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    module.instantiate().await.unwrap();
    module.call_hook(Hook::Bootstrap).await.unwrap();

    let written = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines.len(), 1, "one line for one message: {written:?}");
    assert!(lines[0].contains("done\\nERROR"), "{written:?}");
    assert!(
        !written.contains('\r') && !written.contains('\u{1b}'),
        "{written:?}"
    );
}
