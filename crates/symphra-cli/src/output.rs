//! Writing to stdout without panicking when it is closed (`symphra list DIR | head`).

use std::fmt;
use std::io::Write as _;

/// Writes `args` to stdout; a closed or failing stdout is ignored, so that a reader that
/// stops early (a pipe to `head`) does not make the command panic.
pub(crate) fn write(args: fmt::Arguments<'_>) {
    let _ = std::io::stdout().lock().write_fmt(args);
}

/// `println!` that ignores a closed stdout.
macro_rules! out {
    () => { $crate::output::write(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::write(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` that ignores a closed stdout.
macro_rules! out_raw {
    ($($arg:tt)*) => { $crate::output::write(format_args!($($arg)*)) };
}
