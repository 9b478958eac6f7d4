//! A guest built against `symphra:module@0.2.0` (`wit/0.2`), written in WAT.
//!
//! At `start` it subscribes to `cmd.*`; each event's fifth byte of topic (the first after
//! `cmd.`) says what to do:
//!
//! - `cmd.ready`: calls `host.ready`; `cmd.heartbeat`: calls `host.heartbeat`;
//! - `cmd.degrade`, `cmd.unhealthy`, `cmd.good`: its `health.check` answers degraded
//!   ("cache cold"), unhealthy ("backend down") or healthy from then on;
//! - `cmd.who`: publishes on `seen` the event's source as a JSON string, or `null`;
//! - `cmd.forge`: publishes `{"name":"ghost"}` on `module.started`, returning the host's
//!   error from `on-event`.
//!
//! Memory: 64..76 the return area of host calls (`result<_, string>`, returned as is to
//! pass an error on), 96..108 that of `health.check`, 1024.. string constants, 4096.. the
//! payload `cmd.who` builds, 16384.. the heap of `cabi_realloc`.

use super::{encode, wit_dir};

/// The component; without `health`, built for the world `module` (no health export).
pub fn component(health: bool) -> Vec<u8> {
    let health_export = if health {
        r#"(func (export "symphra:module/health@0.2.0#check") (result i32)
    (i32.store8 (i32.const 96) (global.get $health))
    (if (i32.eq (global.get $health) (i32.const 1)) (then
      (i32.store (i32.const 100) (i32.const 1088)) (i32.store (i32.const 104) (i32.const 10))))
    (if (i32.eq (global.get $health) (i32.const 2)) (then
      (i32.store (i32.const 100) (i32.const 1104)) (i32.store (i32.const 104) (i32.const 12))))
    (i32.const 96))"#
    } else {
        ""
    };
    let wat = format!(
        r#"(module
  (import "symphra:module/host@0.2.0" "publish" (func $publish (param i32 i32 i32 i32 i32)))
  (import "symphra:module/host@0.2.0" "subscribe" (func $subscribe (param i32 i32 i32)))
  (import "symphra:module/host@0.2.0" "ready" (func $ready))
  (import "symphra:module/host@0.2.0" "heartbeat" (func $heartbeat))
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 16384))
  (global $health (mut i32) (i32.const 0))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
    (global.set $heap (i32.add (local.get $ptr) (local.get 3)))
    (local.get $ptr))
  (func (export "symphra:module/guest@0.2.0#bootstrap") (result i32) (i32.const 0))
  (func (export "symphra:module/guest@0.2.0#install") (param i32 i32) (result i32) (i32.const 0))
  (func (export "symphra:module/guest@0.2.0#start") (result i32)
    (call $subscribe (i32.const 1024) (i32.const 5) (i32.const 64))
    (if (i32.load8_u (i32.const 64)) (then (return (i32.const 64))))
    (i32.const 0))
  (func (export "symphra:module/guest@0.2.0#stop") (result i32) (i32.const 0))
  (func (export "symphra:module/guest@0.2.0#uninstall") (result i32) (i32.const 0))
  (func (export "symphra:module/guest@0.2.0#reload") (result i32) (i32.const 0))
  (func (export "symphra:module/guest@0.2.0#on-event")
    (param $tp i32) (param $tl i32) (param $pp i32) (param $pl i32)
    (param $sd i32) (param $sp i32) (param $sl i32) (result i32)
    (local $c i32)
    (if (i32.lt_u (local.get $tl) (i32.const 5)) (then (return (i32.const 0))))
    (local.set $c (i32.load8_u (i32.add (local.get $tp) (i32.const 4))))
    (if (i32.eq (local.get $c) (i32.const 114)) (then (call $ready)))
    (if (i32.eq (local.get $c) (i32.const 104)) (then (call $heartbeat)))
    (if (i32.eq (local.get $c) (i32.const 100)) (then (global.set $health (i32.const 1))))
    (if (i32.eq (local.get $c) (i32.const 117)) (then (global.set $health (i32.const 2))))
    (if (i32.eq (local.get $c) (i32.const 103)) (then (global.set $health (i32.const 0))))
    (if (i32.eq (local.get $c) (i32.const 119)) (then
      (if (local.get $sd)
        (then
          ;; A module name fits: they are short.
          (if (i32.gt_u (local.get $sl) (i32.const 1024)) (then unreachable))
          (i32.store8 (i32.const 4096) (i32.const 34))
          (memory.copy (i32.const 4097) (local.get $sp) (local.get $sl))
          (i32.store8 (i32.add (i32.const 4097) (local.get $sl)) (i32.const 34))
          (call $publish (i32.const 1032) (i32.const 4) (i32.const 4096)
            (i32.add (local.get $sl) (i32.const 2)) (i32.const 64)))
        (else
          (call $publish (i32.const 1032) (i32.const 4) (i32.const 1040) (i32.const 4) (i32.const 64))))
      (if (i32.load8_u (i32.const 64)) (then (return (i32.const 64))))))
    (if (i32.eq (local.get $c) (i32.const 102)) (then
      (call $publish (i32.const 1048) (i32.const 14) (i32.const 1064) (i32.const 16) (i32.const 64))
      (if (i32.load8_u (i32.const 64)) (then (return (i32.const 64))))))
    (i32.const 0))
  {health_export}
  (data (i32.const 1024) "cmd.*")
  (data (i32.const 1032) "seen")
  (data (i32.const 1040) "null")
  (data (i32.const 1048) "module.started")
  (data (i32.const 1064) "{{\"name\":\"ghost\"}}")
  (data (i32.const 1088) "cache cold")
  (data (i32.const 1104) "backend down")
)"#
    );
    let world = if health {
        "module-with-health"
    } else {
        "module"
    };
    encode(&wat, &wit_dir().join("0.2"), world)
}

/// A 0.2.0 component that imports nothing and whose hooks all return `ok`.
pub fn silent() -> Vec<u8> {
    let hook = |name: &str, params: &str| {
        format!(
            "(func (export \"symphra:module/guest@0.2.0#{name}\") {params} (result i32) (i32.const 0))\n"
        )
    };
    let mut funcs = String::new();
    for name in ["bootstrap", "start", "stop", "uninstall", "reload"] {
        funcs.push_str(&hook(name, ""));
    }
    funcs.push_str(&hook("install", "(param i32 i32)"));
    funcs.push_str(&hook("on-event", "(param i32 i32 i32 i32 i32 i32 i32)"));
    let wat = format!(
        r#"(module
  (memory (export "memory") 1)
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 1024))
  {funcs})"#
    );
    encode(&wat, &wit_dir().join("0.2"), "module")
}
