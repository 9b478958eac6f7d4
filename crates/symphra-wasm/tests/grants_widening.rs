//! Issue 22: what a reload may not add without the operator's leave. Every grant a
//! manifest can widen is named once when it grows, and never when it stays or shrinks;
//! `OperatorGrants::check_reload` refuses a wider version unless the operator allows it.

use symphra_wasm::{Capabilities, GrantError, Manifest, ModuleGrant, OperatorGrants};

/// The capabilities of a module `m` whose manifest's `[capabilities]` table is `caps`.
fn caps(caps: &str) -> Capabilities {
    let text = format!("name = \"m\"\nversion = \"1.0.0\"\n[capabilities]\n{caps}\n");
    Manifest::parse(&text, "m/module.toml")
        .unwrap_or_else(|e| panic!("{caps}: {e}"))
        .capabilities
}

/// The running version's grants, each field set to a middle value.
const BEFORE: &str = r#"publish = ["a.*"]
subscribe = ["b.>"]
env = ["TZ"]
dirs = [{ host = "d", guest = "/d" }, { host = "w", guest = "/w", write = true }]
memory-limit = "2 MiB"
hook-timeout = "2s"
inbox-events = 10
inbox-bytes = "1 MiB"
"#;

/// [`BEFORE`] with the line starting with `key` replaced by `line`.
fn with(key: &str, line: &str) -> String {
    let mut replaced = false;
    let text: Vec<&str> = BEFORE
        .lines()
        .map(|l| {
            if l.starts_with(key) {
                replaced = true;
                line
            } else {
                l
            }
        })
        .collect();
    assert!(replaced, "no line for {key}");
    text.join("\n")
}

#[test]
fn the_same_grants_widen_nothing() {
    let before = caps(BEFORE);
    assert_eq!(before.widened_from(&before), Vec::<String>::new());
    assert_eq!(
        caps("").widened_from(&caps("")),
        Vec::<String>::new(),
        "defaults"
    );
}

#[test]
fn each_wider_grant_is_named_once() {
    let before = caps(BEFORE);
    let cases = [
        (
            with("publish", "publish = [\"a.*\", \"c.x\"]"),
            "publish `c.x`",
        ),
        (
            with("subscribe", "subscribe = [\"c.>\"]"),
            "subscribe `c.>`",
        ),
        (
            with("env", "env = [\"TZ\", \"LANG\"]"),
            "environment variable `LANG`",
        ),
        // The read-only folder asked read-write.
        (
            with(
                "dirs",
                "dirs = [{ host = \"d\", guest = \"/d\", write = true }, { host = \"w\", guest = \"/w\", write = true }]",
            ),
            "read-write folder `d`",
        ),
        // The same host folder at another guest path, or another host folder at the same one.
        (
            with(
                "dirs",
                "dirs = [{ host = \"d\", guest = \"/e\" }, { host = \"w\", guest = \"/w\", write = true }]",
            ),
            "read-only folder `d`",
        ),
        (
            with(
                "dirs",
                "dirs = [{ host = \"e\", guest = \"/d\" }, { host = \"w\", guest = \"/w\", write = true }]",
            ),
            "read-only folder `e`",
        ),
        (
            with("memory-limit", "memory-limit = \"3 MiB\""),
            "memory-limit 3145728 bytes",
        ),
        (
            with("hook-timeout", "hook-timeout = \"3s\""),
            "hook-timeout 3s",
        ),
        (format!("{BEFORE}stdio = true"), "stdio"),
        (format!("{BEFORE}data = true"), "a data folder"),
        (with("inbox-events", "inbox-events = 11"), "a larger inbox"),
        (
            with("inbox-bytes", "inbox-bytes = \"2 MiB\""),
            "a larger inbox",
        ),
    ];
    for (after, phrase) in cases {
        assert_eq!(caps(&after).widened_from(&before), [phrase], "{after}");
    }
}

#[test]
fn narrower_grants_widen_nothing() {
    let before = caps(&format!("{BEFORE}stdio = true\ndata = true"));
    let cases = [
        with("publish", "publish = [\"a.b\"]"),
        with("subscribe", "subscribe = [\"b.c\"]"),
        with("env", "env = []"),
        // The read-write folder asked read-only.
        with(
            "dirs",
            "dirs = [{ host = \"d\", guest = \"/d\" }, { host = \"w\", guest = \"/w\" }]",
        ),
        with("memory-limit", "memory-limit = \"1 MiB\""),
        with("hook-timeout", "hook-timeout = \"1s\""),
        with("inbox-events", "inbox-events = 9"),
        with("inbox-bytes", "inbox-bytes = \"512 KiB\""),
        // Neither stdio nor a data folder.
        BEFORE.to_owned(),
    ];
    for after in cases {
        assert_eq!(
            caps(&after).widened_from(&before),
            Vec::<String>::new(),
            "{after}"
        );
    }
}

#[test]
fn a_reload_may_narrow_or_keep_its_grants_and_widen_them_only_with_leave() {
    let old = caps(BEFORE);
    let wider = caps(&format!("{BEFORE}stdio = true"));
    // Nothing asked, and the limits below the old ones (the defaults are above them).
    let narrower = caps(
        "memory-limit = \"1 MiB\"\nhook-timeout = \"1s\"\ninbox-events = 1\ninbox-bytes = \"1 KiB\"",
    );
    let none = OperatorGrants::none();
    assert!(none.check_reload("m", &old, &old).is_ok());
    assert!(none.check_reload("m", &old, &narrower).is_ok());
    match none.check_reload("m", &old, &wider) {
        Err(GrantError::Widened { module, widened }) => {
            assert_eq!(module, "m");
            assert_eq!(widened, ["stdio"]);
        }
        other => panic!("{other:?}"),
    }
    let leave = OperatorGrants::none().grant(
        "m",
        ModuleGrant {
            reload_may_widen: true,
            ..ModuleGrant::default()
        },
    );
    assert!(leave.check_reload("m", &old, &wider).is_ok());
    assert!(leave.check_reload("m", &old, &old).is_ok());
    // The leave is the module's own: another module's reload is still refused.
    assert!(matches!(
        leave.check_reload("other", &old, &wider),
        Err(GrantError::Widened { .. })
    ));
}
