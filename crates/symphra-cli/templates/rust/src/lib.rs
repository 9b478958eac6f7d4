//! The Symphra module `{{name}}`, in Rust: answers `{{name}}.request` on `{{name}}.reply`.
//! Build: ./build.sh (needs `rustup target add wasm32-wasip2`).

use std::sync::Mutex;

wit_bindgen::generate!({
    path: "wit",
    world: "module",
});

use exports::symphra::module::guest::Guest;
use symphra::module::host::{self, Level};

/// The configuration given to `install` (JSON text).
static CONFIG: Mutex<String> = Mutex::new(String::new());

struct Module;

impl Guest for Module {
    fn bootstrap() -> Result<(), String> {
        host::log(Level::Info, "{{name}}: bootstrap");
        Ok(())
    }

    fn install(config: String) -> Result<(), String> {
        *CONFIG.lock().map_err(|e| e.to_string())? = config;
        Ok(())
    }

    fn start() -> Result<(), String> {
        host::subscribe("{{name}}.request")?;
        host::log(Level::Info, "{{name}}: started");
        Ok(())
    }

    fn stop() -> Result<(), String> {
        host::log(Level::Info, "{{name}}: stopped");
        Ok(())
    }

    fn uninstall() -> Result<(), String> {
        Ok(())
    }

    fn reload() -> Result<(), String> {
        Ok(())
    }

    fn on_event(_topic: String, payload: String) -> Result<(), String> {
        host::publish("{{name}}.reply", &format!("{{\"request\":{payload}}}"))
    }
}

export!(Module);
