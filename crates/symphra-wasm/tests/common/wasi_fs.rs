//! A guest that imports WASI's filesystem (a subset of `wasi:filesystem@0.2.0`, written
//! here: the enum `error-code` must list every case to match the host's type), written in
//! WAT against `symphra:module@0.1.0`.

const FS_WIT: &str = r#"
package wasi:filesystem@0.2.0;

interface types {
    enum error-code {
        access, would-block, already, bad-descriptor, busy, deadlock, quota, exist,
        file-too-large, illegal-byte-sequence, in-progress, interrupted, invalid, io,
        is-directory, loop, too-many-links, message-size, name-too-long, no-device,
        no-entry, no-lock, insufficient-memory, insufficient-space, not-directory,
        not-empty, not-recoverable, unsupported, no-tty, no-such-device, overflow,
        not-permitted, pipe, read-only, invalid-seek, text-file-busy, cross-device,
    }
    resource descriptor {
        create-directory-at: func(path: string) -> result<_, error-code>;
    }
}

interface preopens {
    use types.{descriptor};
    get-directories: func() -> list<tuple<descriptor, string>>;
}
"#;

const WORLD_WIT: &str = r#"
package symphra:module@0.1.0;

world module-with-fs {
    include module;
    import wasi:filesystem/preopens@0.2.0;
}
"#;

/// The WAT of `guest` with the two WASI imports these guests use, as a component.
fn encode_with_fs(guest: &super::Guest) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        super::wit_dir().join("module.wit"),
        dir.path().join("module.wit"),
    )
    .unwrap();
    std::fs::write(dir.path().join("test.wit"), WORLD_WIT).unwrap();
    std::fs::create_dir_all(dir.path().join("deps/wasi-filesystem")).unwrap();
    std::fs::write(dir.path().join("deps/wasi-filesystem/fs.wit"), FS_WIT).unwrap();
    let wat = guest.wat().replacen(
        "(module",
        "(module
  (import \"wasi:filesystem/preopens@0.2.0\" \"get-directories\" (func $getdirs (param i32)))
  (import \"wasi:filesystem/types@0.2.0\" \"[method]descriptor.create-directory-at\" (func $mkdir (param i32 i32 i32 i32)))",
        1,
    );
    super::encode(&wat, dir.path(), "module-with-fs")
}

/// Code: `$fd` is the first folder WASI gives the guest (the function declares
/// `(local $fd i32)` first).
const FIRST_DIR: &str = "(call $getdirs (i32.const 96))
    (if (i32.eqz (i32.load (i32.const 100))) (then unreachable))
    (local.set $fd (i32.load (i32.load (i32.const 96))))";

/// Code: try to create the folder `name` in `$fd`; the byte at 112 is then 1 on failure.
fn mkdir(g: &mut super::Guest, name: &str) -> String {
    let (p, l) = g.string(name);
    format!("(call $mkdir (local.get $fd) (i32.const {p}) (i32.const {l}) (i32.const 112))")
}

/// A guest whose `start` waits until it can create the folder `gate` in its first
/// preopened folder (it spins while `gate` exists: whoever removes it opens the gate), then
/// returns `err(fail)` if `fail` is given; its `stop` creates `stopped` there.
pub fn gated(gate: &str, fail: Option<&str>, stopped: &str) -> Vec<u8> {
    let mut g = super::Guest::new();
    let wait = mkdir(&mut g, gate);
    let end = fail.map(|message| g.fail(message)).unwrap_or_default();
    let start = format!(
        "(local $fd i32) {FIRST_DIR}
        (loop $wait {wait} (br_if $wait (i32.load8_u (i32.const 112))))
        {end}"
    );
    let stop = format!("(local $fd i32) {FIRST_DIR} {}", mkdir(&mut g, stopped));
    encode_with_fs(&g.hook("start", start).hook("stop", stop))
}

/// A guest whose `start` creates the folder `marker` in its first preopened folder and
/// fails if it was there already: it starts once.
pub fn starts_once(marker: &str) -> Vec<u8> {
    let mut g = super::Guest::new();
    let make = mkdir(&mut g, marker);
    let fail = g.fail("started once already");
    let start = format!(
        "(local $fd i32) {FIRST_DIR} {make}
        (if (i32.load8_u (i32.const 112)) (then {fail}))"
    );
    encode_with_fs(&g.hook("start", start))
}

/// At start, for every preopened folder: creates `made` in it, then `../escaped`, and
/// publishes each outcome on `fs.<made|escape>.<ok|denied>` with the folder's guest path.
pub fn component() -> Vec<u8> {
    let mut g = super::Guest::new();
    let mut attempt = |path: &str, name: &str| {
        let (p, pl) = g.string(path);
        let (ok, ok_len) = g.string(&format!("fs.{name}.ok"));
        let (denied, denied_len) = g.string(&format!("fs.{name}.denied"));
        format!(
            r#"(call $mkdir (local.get $fd) (i32.const {p}) (i32.const {pl}) (i32.const 112))
            (if (i32.load8_u (i32.const 112))
              (then (call $publish (i32.const {denied}) (i32.const {denied_len}) (i32.const 8192)
                (i32.add (local.get $gl) (i32.const 2)) (i32.const 64)))
              (else (call $publish (i32.const {ok}) (i32.const {ok_len}) (i32.const 8192)
                (i32.add (local.get $gl) (i32.const 2)) (i32.const 64))))
            (if (i32.load8_u (i32.const 64)) (then (return (i32.const 64))))"#
        )
    };
    let made = attempt("made", "made");
    let escape = attempt("../escaped", "escape");
    let start = format!(
        r#"(local $list i32) (local $n i32) (local $i i32) (local $entry i32)
        (local $fd i32) (local $gp i32) (local $gl i32)
        (call $getdirs (i32.const 96))
        (local.set $list (i32.load (i32.const 96)))
        (local.set $n (i32.load (i32.const 100)))
        (block $done (loop $next
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $entry (i32.add (local.get $list) (i32.mul (local.get $i) (i32.const 12))))
          (local.set $fd (i32.load (local.get $entry)))
          (local.set $gp (i32.load offset=4 (local.get $entry)))
          (local.set $gl (i32.load offset=8 (local.get $entry)))
          (if (i32.gt_u (local.get $gl) (i32.const 1024)) (then unreachable))
          (i32.store8 (i32.const 8192) (i32.const 34))
          (memory.copy (i32.const 8193) (local.get $gp) (local.get $gl))
          (i32.store8 (i32.add (i32.const 8193) (local.get $gl)) (i32.const 34))
          {made}
          {escape}
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $next)))"#
    );
    encode_with_fs(&g.hook("start", start))
}
