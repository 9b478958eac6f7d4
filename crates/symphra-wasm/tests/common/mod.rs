//! Test guests: core modules written in WAT (canonical ABI by hand), turned into
//! components with `wit-component`.
#![allow(dead_code)]

pub mod py_echo;
pub mod v2;
pub mod wasi_fs;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use symphra_wasm::{HostConfig, ReloadOutcome, WasmHost};
use wit_component::{ComponentEncoder, StringEncoding};
use wit_parser::Resolve;

/// One host for every test of a binary (the engine is costly; pooling reserves memory).
pub fn host() -> WasmHost {
    static HOST: OnceLock<WasmHost> = OnceLock::new();
    HOST.get_or_init(|| WasmHost::new(HostConfig::default()).expect("host"))
        .clone()
}

/// Asserts that `outcome` is a rollback after new code failed with an error containing
/// `why`, which brought the old code back with no error of its own.
pub fn assert_clean_rollback(outcome: &ReloadOutcome, why: &str) {
    match outcome {
        ReloadOutcome::RolledBack {
            error,
            restored,
            rollback_errors,
        } => {
            assert!(error.contains(why), "{error}");
            assert!(*restored);
            assert!(rollback_errors.is_empty(), "{rollback_errors:?}");
        }
        other => panic!("{other:?}"),
    }
}

/// Builds the WAT of a guest. Hooks not set return `ok`.
///
/// Memory layout: 0..16 a zeroed `ok` return area; 64..76 the return area of host calls
/// (which has the layout of `result<_, string>`, so it is returned as is to propagate an
/// error); 1024.. string constants; 16384.. the bump heap of `cabi_realloc`.
#[derive(Default)]
pub struct Guest {
    hooks: Vec<(&'static str, String)>,
    strings: Vec<(u32, String)>,
    next: u32,
    pub memory_pages: u32,
}

pub const OK: &str = "(return (i32.const 0))";

impl Guest {
    pub fn new() -> Self {
        Self {
            next: 1024,
            memory_pages: 2,
            ..Self::default()
        }
    }

    /// A string constant: (offset, length).
    pub fn string(&mut self, text: &str) -> (u32, u32) {
        let offset = self.next;
        self.next += (text.len() as u32 + 7) & !7;
        self.strings.push((offset, text.to_owned()));
        (offset, text.len() as u32)
    }

    /// Code: publish a constant payload on `topic`; an error is returned from the hook.
    pub fn publish(&mut self, topic: &str, payload: &str) -> String {
        let (t, tl) = self.string(topic);
        let (p, pl) = self.string(payload);
        format!(
            "(call $publish (i32.const {t}) (i32.const {tl}) (i32.const {p}) (i32.const {pl}) (i32.const 64))
             (if (i32.load8_u (i32.const 64)) (then (return (i32.const 64))))"
        )
    }

    /// Code: subscribe to `pattern`; an error is returned from the hook.
    pub fn subscribe(&mut self, pattern: &str) -> String {
        let (p, pl) = self.string(pattern);
        format!(
            "(call $subscribe (i32.const {p}) (i32.const {pl}) (i32.const 64))
             (if (i32.load8_u (i32.const 64)) (then (return (i32.const 64))))"
        )
    }

    /// Code: log a line at info level.
    pub fn log(&mut self, message: &str) -> String {
        let (m, ml) = self.string(message);
        format!("(call $log (i32.const 2) (i32.const {m}) (i32.const {ml}))")
    }

    /// Code: return `err(message)`.
    pub fn fail(&mut self, message: &str) -> String {
        let (m, ml) = self.string(message);
        format!(
            "(i32.store8 (i32.const 80) (i32.const 1)) (i32.store (i32.const 84) (i32.const {m}))
             (i32.store (i32.const 88) (i32.const {ml})) (return (i32.const 80))"
        )
    }

    /// Sets the body of a hook (`bootstrap`, `start`, ...); `ok` is appended.
    pub fn hook(mut self, name: &'static str, body: impl Into<String>) -> Self {
        self.hooks.push((name, body.into()));
        self
    }

    pub fn wat(&self) -> String {
        let body = |name: &str| {
            self.hooks
                .iter()
                .filter(|(n, _)| *n == name)
                .map(|(_, b)| b.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        };
        let mut data = String::new();
        for (offset, text) in &self.strings {
            let escaped: String = text.bytes().map(|b| format!("\\{b:02x}")).collect();
            data.push_str(&format!("(data (i32.const {offset}) \"{escaped}\")\n"));
        }
        let export = |name: &str, params: &str| {
            format!(
                "(func (export \"symphra:module/guest@0.1.0#{name}\") {params} (result i32)\n{}\n{OK})\n",
                body(name)
            )
        };
        let mut funcs = String::new();
        for name in ["bootstrap", "start", "stop", "uninstall", "reload"] {
            funcs.push_str(&export(name, ""));
        }
        funcs.push_str(&export("install", "(param i32 i32)"));
        funcs.push_str(&export("on-event", "(param i32 i32 i32 i32)"));
        format!(
            r#"(module
  (import "symphra:module/host@0.1.0" "log" (func $log (param i32 i32 i32)))
  (import "symphra:module/host@0.1.0" "publish" (func $publish (param i32 i32 i32 i32 i32)))
  (import "symphra:module/host@0.1.0" "subscribe" (func $subscribe (param i32 i32 i32)))
  (import "symphra:module/host@0.1.0" "config" (func $config (param i32)))
  (memory (export "memory") {pages})
  (global $heap (mut i32) (i32.const 16384))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
    (global.set $heap (i32.add (local.get $ptr) (local.get 3)))
    (local.get $ptr))
  {funcs}
  {data}
)"#,
            pages = self.memory_pages
        )
    }

    /// The component bytes.
    pub fn component(&self) -> Vec<u8> {
        encode(&self.wat(), &wit_dir(), "module")
    }
}

pub fn wit_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wit")
}

/// Encodes a WAT core module as a component of `world` from the WIT in `wit` (a folder or,
/// when it does not exist, WIT text).
pub fn encode(wat: &str, wit: &Path, world: &str) -> Vec<u8> {
    let mut resolve = Resolve::default();
    let package = if wit.is_dir() {
        resolve.push_dir(wit).expect("wit dir").0
    } else {
        resolve
            .push_str("inline.wit", &wit.to_string_lossy())
            .expect("wit text")
    };
    let world = resolve
        .select_world(&[package], Some(world))
        .expect("world");
    let mut module = wat::parse_str(wat).unwrap_or_else(|e| panic!("{e}\n{wat}"));
    wit_component::embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8)
        .expect("embed");
    ComponentEncoder::default()
        .module(&module)
        .expect("module")
        .validate(true)
        .encode()
        .expect("encode")
}

/// Writes a module folder: `module.toml` and `module.wasm`.
pub fn write_module(root: &Path, folder: &str, manifest: &str, wasm: &[u8]) -> PathBuf {
    let dir = root.join(folder);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("module.toml"), manifest).expect("manifest");
    std::fs::write(dir.join("module.wasm"), wasm).expect("wasm");
    dir
}
