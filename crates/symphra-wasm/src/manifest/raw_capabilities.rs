//! The `[capabilities]` table as written, and its checks: limits on every list and string,
//! paths that stay inside the module folder unless the operator grants more, no topics of
//! the runtime's.

use std::ops::Range;
use std::path::PathBuf;

use serde::Deserialize;
use symphra::bus::Pattern;
use toml::Spanned;

use super::capabilities::{
    Capabilities, DATA_GUEST_PATH, DirGrant, InboxPolicy, MAX_INBOX_BYTES, MAX_INBOX_EVENTS,
    RESERVED_TOPIC_ROOTS, is_reserved_topic,
};
use super::error::ManifestErrorKind;
use super::limits::{MAX_PATH_BYTES, check_env_name, check_list, check_text, quote};
use super::size::{ByteSize, parse_bytes};
use super::{Located, at, hook_timeout};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawCapabilities {
    publish: Option<Spanned<Vec<Spanned<String>>>>,
    subscribe: Option<Spanned<Vec<Spanned<String>>>>,
    env: Option<Spanned<Vec<Spanned<String>>>>,
    dirs: Option<Spanned<Vec<Spanned<RawDir>>>>,
    memory_limit: Option<Spanned<ByteSize>>,
    hook_timeout: Option<Spanned<String>>,
    #[serde(default)]
    stdio: bool,
    data: Option<Spanned<bool>>,
    inbox_events: Option<Spanned<u64>>,
    inbox_bytes: Option<Spanned<ByteSize>>,
    inbox_policy: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDir {
    host: String,
    guest: Option<String>,
    #[serde(default)]
    write: bool,
}

/// A list's entries, no more than [`MAX_LIST_ENTRIES`](super::MAX_LIST_ENTRIES).
fn list<T>(list: Option<Spanned<Vec<T>>>, field: &str) -> Result<Vec<T>, Located> {
    match list {
        None => Ok(Vec::new()),
        Some(list) => {
            at(check_list(list.get_ref()), list.span(), field)?;
            Ok(list.into_inner())
        }
    }
}

fn invalid(span: Range<usize>, field: &str, message: String) -> Located {
    (span, field.to_owned(), ManifestErrorKind::Invalid, message)
}

/// Topic patterns: each parses, and none starts with a token reserved for the runtime
/// when `publish`.
fn patterns(
    asked: Option<Spanned<Vec<Spanned<String>>>>,
    field: &str,
    publish: bool,
) -> Result<Vec<Pattern>, Located> {
    list(asked, field)?
        .into_iter()
        .map(|p| {
            at(check_text(p.get_ref(), MAX_PATH_BYTES), p.span(), field)?;
            if publish && is_reserved_topic(p.get_ref()) {
                return Err((
                    p.span(),
                    field.to_owned(),
                    ManifestErrorKind::Reserved,
                    format!(
                        "{} is under a topic reserved for the runtime ({}); a module may subscribe to these, never publish on them",
                        quote(p.get_ref()),
                        RESERVED_TOPIC_ROOTS.map(|r| format!("{r}.>")).join(", ")
                    ),
                ));
            }
            Pattern::parse(p.get_ref()).map_err(|error| {
                invalid(
                    p.span(),
                    field,
                    format!("not a topic pattern: {}", super::sanitize(&error.to_string())),
                )
            })
        })
        .collect()
}

/// A size in bytes as written.
fn size(value: Spanned<ByteSize>, field: &str) -> Result<u64, Located> {
    let span = value.span();
    match value.into_inner() {
        ByteSize::Bytes(bytes) => Ok(bytes),
        ByteSize::Text(text) => {
            at(check_text(&text, 64), span.clone(), field)?;
            parse_bytes(&text).map_err(|message| invalid(span, field, message))
        }
    }
}

/// Checks the `[capabilities]` table.
pub(super) fn capabilities(raw: RawCapabilities) -> Result<Capabilities, Located> {
    let defaults = Capabilities::default();
    let memory_limit = match raw.memory_limit {
        None => defaults.memory_limit,
        Some(limit) => size(limit, "capabilities.memory-limit")?,
    };
    let hook_timeout = match raw.hook_timeout {
        None => defaults.hook_timeout,
        Some(timeout) => at(
            hook_timeout(timeout.get_ref()),
            timeout.span(),
            "capabilities.hook-timeout",
        )?,
    };
    let inbox_events = match raw.inbox_events {
        None => defaults.inbox_events,
        Some(events) => {
            let count = usize::try_from(*events.get_ref()).unwrap_or(usize::MAX);
            if count == 0 || count > MAX_INBOX_EVENTS {
                return Err((
                    events.span(),
                    "capabilities.inbox-events".to_owned(),
                    ManifestErrorKind::TooLarge,
                    format!("{count} is not between 1 and {MAX_INBOX_EVENTS}"),
                ));
            }
            count
        }
    };
    let inbox_bytes = match raw.inbox_bytes {
        None => defaults.inbox_bytes,
        Some(bytes) => {
            let span = bytes.span();
            let value = size(bytes, "capabilities.inbox-bytes")?;
            if value == 0 || value > MAX_INBOX_BYTES {
                return Err((
                    span,
                    "capabilities.inbox-bytes".to_owned(),
                    ManifestErrorKind::TooLarge,
                    format!("{value} bytes is not between 1 and {MAX_INBOX_BYTES}"),
                ));
            }
            value
        }
    };
    let inbox_policy = match raw.inbox_policy {
        None => defaults.inbox_policy,
        Some(policy) => match policy.get_ref().as_str() {
            "drop-newest" => InboxPolicy::DropNewest,
            "drop-oldest" => InboxPolicy::DropOldest,
            other => {
                return Err(invalid(
                    policy.span(),
                    "capabilities.inbox-policy",
                    format!(
                        "{} is not a policy; write \"drop-newest\" or \"drop-oldest\"",
                        quote(other)
                    ),
                ));
            }
        },
    };
    let mut env = Vec::new();
    for name in list(raw.env, "capabilities.env")? {
        at(
            check_env_name(name.get_ref()),
            name.span(),
            "capabilities.env",
        )?;
        env.push(name.into_inner());
    }
    let mut dirs = Vec::new();
    for dir in list(raw.dirs, "capabilities.dirs")? {
        let span = dir.span();
        let RawDir { host, guest, write } = dir.into_inner();
        // Where the host path may lead is decided at load, against the module folder and
        // the operator's grants; here only its text.
        at(
            check_text(&host, MAX_PATH_BYTES),
            span.clone(),
            "capabilities.dirs.host",
        )?;
        if host.is_empty() {
            return Err(invalid(
                span,
                "capabilities.dirs.host",
                "the path is empty".to_owned(),
            ));
        }
        let guest = guest.unwrap_or_else(|| host.clone());
        at(
            check_text(&guest, MAX_PATH_BYTES),
            span,
            "capabilities.dirs.guest",
        )?;
        dirs.push(DirGrant {
            host: PathBuf::from(host),
            guest,
            write,
        });
    }
    let data = match raw.data {
        None => false,
        Some(data) => {
            let wanted = *data.get_ref();
            if wanted && dirs.iter().any(|d| d.guest == DATA_GUEST_PATH) {
                return Err(invalid(
                    data.span(),
                    "capabilities.data",
                    format!(
                        "the data folder is opened at {DATA_GUEST_PATH}, where capabilities.dirs already puts a folder; give that one another guest path"
                    ),
                ));
            }
            wanted
        }
    };
    // Every field named, without `..`: a new capability fails to build here until the
    // manifest sets it.
    Ok(Capabilities {
        publish: patterns(raw.publish, "capabilities.publish", true)?,
        subscribe: patterns(raw.subscribe, "capabilities.subscribe", false)?,
        env,
        dirs,
        memory_limit,
        hook_timeout,
        stdio: raw.stdio,
        data,
        inbox_events,
        inbox_bytes,
        inbox_policy,
    })
}
