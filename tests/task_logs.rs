//! An owned task's logs carry its module's and its own name (its tracing span).

use std::io::Write;
use std::sync::{Arc, Mutex};

use symphra::prelude::*;

/// A `std::io::Write` into a shared buffer, for a test subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Logs from its task.
struct Chatty;

impl Module for Chatty {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("chatty")
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        ctx.spawn("talker", |shutdown| async move {
            tracing::info!("hello from the task");
            shutdown.cancelled().await;
            Ok(())
        })?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn task_logs_carry_the_module_and_task_names() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    // The test runs on one thread, and so do its tasks: a thread-local default suffices.
    let _default = tracing::subscriber::set_default(subscriber);
    let manager = ModuleManager::builder().module(Chatty).build().unwrap();
    manager.start_all().await.unwrap();
    manager.stop_all().await.unwrap();
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let line = text
        .lines()
        .find(|line| line.contains("hello from the task"))
        .unwrap_or_else(|| panic!("logged: {text}"));
    assert!(line.contains("task{module=chatty task=talker}"), "{line}");
}
