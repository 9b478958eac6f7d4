//! Log lines to stderr that do not break the live display: while one is drawn, each line is
//! written with the display lifted out of the way, then the display is drawn again below.

use std::io::{self, Write};
use std::sync::{PoisonError, RwLock};

use indicatif::MultiProgress;

/// The live display being drawn, if any.
static LIVE: RwLock<Option<MultiProgress>> = RwLock::new(None);

/// Routes log lines around `display` until [`release`].
pub(crate) fn hold(display: &MultiProgress) {
    *LIVE.write().unwrap_or_else(PoisonError::into_inner) = Some(display.clone());
}

/// Log lines go straight to stderr again.
pub(crate) fn release() {
    *LIVE.write().unwrap_or_else(PoisonError::into_inner) = None;
}

/// The writer `tracing` formats each log line into (one `write` per line).
pub(crate) struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let live = LIVE.read().unwrap_or_else(PoisonError::into_inner).clone();
        match live {
            Some(display) => display.suspend(|| io::stderr().write_all(buf))?,
            None => io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}
