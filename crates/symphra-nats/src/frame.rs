//! Frames of the NATS protocol as the server sends them, checked the way `async-nats` will
//! parse them, so that a message the client cannot parse is skipped before it reaches it.
//!
//! `async-nats` (0.51) treats a `MSG` whose control line is not UTF-8 (a subject such as
//! `t1.\xff`, which nats-server forwards) or an `HMSG` whose header block it cannot parse (a
//! header name with a space) as a broken connection: it drops the connection and reconnects,
//! losing every message in flight meanwhile. See `docs/dev/async-nats-malformed-messages.md`.

use std::str::FromStr;

use async_nats::{HeaderName, StatusCode};

/// What to do with the bytes at the start of the server's stream.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// Forward this many bytes: one whole frame the client can parse (or one it would reject
    /// whatever we do, such as a line with a wrong number of arguments).
    Pass(usize),
    /// Drop this many bytes: one whole message the client would fail on.
    Skip(usize, Fault),
    /// The frame is not complete yet: read more.
    Incomplete,
    /// An `INFO` asking for TLS: the rest of the stream is encrypted and cannot be read.
    /// Forward this many bytes (the `INFO` line), then everything as it comes.
    StartsTls(usize),
    /// A control line longer than [`MAX_CONTROL_LINE`] without its end, or a message
    /// declaring more than [`MAX_PAYLOAD`] bytes: no server sends either, and waiting for
    /// the rest would grow the relay's buffer without bound. The connection is closed.
    TooLarge,
}

/// The longest control line the relay waits for. nats-server's own `max_control_line` is
/// 4 KiB by default; its `INFO` lines grow with the cluster's URLs, hence the margin.
pub(crate) const MAX_CONTROL_LINE: usize = 1024 * 1024;

/// The largest payload the relay waits for: nats-server refuses a `max_payload` above 64 MiB.
pub(crate) const MAX_PAYLOAD: usize = 64 * 1024 * 1024;

/// Why a message is skipped.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub(crate) enum Fault {
    /// The control line (subject or reply subject) is not valid UTF-8.
    Subject,
    /// The header block is not one the client can parse.
    Headers,
}

const CRLF: &[u8] = b"\r\n";

/// The first frame of `buf`. Reads it in place: nothing is allocated or copied.
pub(crate) fn next(buf: &[u8]) -> Frame {
    let Some(line_len) = line_len(buf) else {
        return if buf.len() > MAX_CONTROL_LINE {
            Frame::TooLarge
        } else {
            Frame::Incomplete
        };
    };
    let line = &buf[..line_len];
    let line_end = line_len + CRLF.len();
    if let Some(args) = line.strip_prefix(b"MSG ") {
        message(buf, line, line_end, args, false)
    } else if let Some(args) = line.strip_prefix(b"HMSG ") {
        message(buf, line, line_end, args, true)
    } else if let Some(info) = line.strip_prefix(b"INFO ") {
        if asks_for_tls(info) {
            Frame::StartsTls(line_end)
        } else {
            Frame::Pass(line_end)
        }
    } else {
        Frame::Pass(line_end)
    }
}

/// The length of the first line of `buf`, up to its `\r\n` (a bare `\n` does not end it).
fn line_len(buf: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = memchr::memchr(b'\n', buf.get(from..)?) {
        let newline = from + at;
        if newline > 0 && buf[newline - 1] == b'\r' {
            return Some(newline - 1);
        }
        from = newline + 1;
    }
    None
}

/// The most fields a message's control line has: `HMSG <subject> <sid> <reply> <hlen> <len>`.
const MAX_FIELDS: usize = 5;

/// A `MSG <subject> <sid> [reply] <len>` or `HMSG <subject> <sid> [reply] <hlen> <len>`.
fn message(buf: &[u8], line: &[u8], line_end: usize, args: &[u8], headers: bool) -> Frame {
    match plain_message(buf, line, line_end) {
        Some(frame) if !headers => frame,
        _ => split_message(buf, line, line_end, args, headers),
    }
}

/// [`message`] read field by field: the sizes, the number of fields, the line and the header
/// block checked as the client will read them.
fn split_message(buf: &[u8], line: &[u8], line_end: usize, args: &[u8], headers: bool) -> Frame {
    // The fields, kept in place: one more than the most a valid line has, to tell too many.
    let mut fields: [&[u8]; MAX_FIELDS + 1] = [&[]; MAX_FIELDS + 1];
    let mut count = 0;
    let mut rest = args;
    while count < fields.len() {
        let Some(start) = rest.iter().position(|b| !b.is_ascii_whitespace()) else {
            break;
        };
        rest = &rest[start..];
        let end = rest
            .iter()
            .position(u8::is_ascii_whitespace)
            .unwrap_or(rest.len());
        fields[count] = &rest[..end];
        count += 1;
        rest = &rest[end..];
    }
    let sizes = match (headers, &fields[..count]) {
        (false, [_, _, len] | [_, _, _, len]) => number(len).map(|len| (0, len)),
        (true, [_, _, header, total] | [_, _, _, header, total]) => {
            number(header).zip(number(total))
        }
        // The client fails on this too; without the sizes the frame's end is unknown.
        _ => None,
    };
    let Some((header_len, total_len)) = sizes else {
        return Frame::Pass(line_end);
    };
    if total_len > MAX_PAYLOAD {
        return Frame::TooLarge;
    }
    let Some(frame_len) = line_end
        .checked_add(total_len)
        .and_then(|n| n.checked_add(CRLF.len()))
    else {
        return Frame::Pass(line_end);
    };
    if buf.len() < frame_len {
        return Frame::Incomplete;
    }
    // ASCII (nearly always) is UTF-8, and cheaper to check on a short line.
    if !line.is_ascii() && std::str::from_utf8(line).is_err() {
        return Frame::Skip(frame_len, Fault::Subject);
    }
    if headers {
        let block = buf.get(line_end..line_end + header_len.min(total_len));
        if header_len > total_len || !block.is_some_and(header_block_parses) {
            return Frame::Skip(frame_len, Fault::Headers);
        }
    }
    Frame::Pass(frame_len)
}

/// The common case, a `MSG` whose line is ASCII (so UTF-8) and ends with its size, read
/// without splitting the line into fields; `None` for anything else, left to [`message`].
///
/// This runs for every message the server sends, and splitting costs several times more
/// (about 400 instructions a message against 100). The number of fields is not checked
/// here: a line with a wrong number is one the client rejects whatever the relay does, so
/// whether the relay passes it with or without its payload changes nothing.
fn plain_message(buf: &[u8], line: &[u8], line_end: usize) -> Option<Frame> {
    if !line.is_ascii() {
        return None;
    }
    let digits = line.iter().rposition(|b| !b.is_ascii_digit())? + 1;
    if !line[digits - 1].is_ascii_whitespace() {
        return None;
    }
    let payload_len = number(&line[digits..])?;
    if payload_len > MAX_PAYLOAD {
        return Some(Frame::TooLarge);
    }
    let frame_len = line_end + payload_len + CRLF.len();
    Some(if buf.len() < frame_len {
        Frame::Incomplete
    } else {
        Frame::Pass(frame_len)
    })
}

/// A size as the client reads it (`usize::from_str`: decimal digits, an optional `+`).
fn number(digits: &[u8]) -> Option<usize> {
    let digits = digits.strip_prefix(b"+").unwrap_or(digits);
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0_usize, |n, &d| {
        let digit = d.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?.checked_add(usize::from(digit))
    })
}

/// Whether `async-nats` can parse this header block: UTF-8, a `NATS/1.0` version line with
/// an optional status code, then `name: value` lines (values may continue on lines that
/// start with whitespace) whose names the client accepts.
fn header_block_parses(block: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(block) else {
        return false;
    };
    let mut lines = text.lines().peekable();
    let Some(suffix) = lines
        .next()
        .and_then(|version| version.strip_prefix("NATS/1.0"))
    else {
        return false;
    };
    let suffix = suffix.trim();
    let status = suffix.split_once(' ').map_or(suffix, |(s, _)| s.trim());
    if !status.is_empty() && StatusCode::from_str(status).is_err() {
        return false;
    }
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        let Some((name, _)) = line.split_once(':') else {
            return false;
        };
        // The bridge's own header is known to parse: no need to ask the client's parser.
        if name != crate::wire::EVENT_HEADER && HeaderName::from_str(name).is_err() {
            return false;
        }
        while lines
            .next_if(|l| l.starts_with(char::is_whitespace))
            .is_some()
        {}
    }
    true
}

/// Whether an `INFO` line's JSON says the connection turns to TLS.
fn asks_for_tls(info: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Info {
        #[serde(default)]
        tls_required: bool,
    }
    serde_json::from_slice::<Info>(info).is_ok_and(|i| i.tls_required)
}

#[cfg(test)]
mod tests;
