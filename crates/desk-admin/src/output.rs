//! Writing to stdout without panicking when stdout is closed (`| head`).

use std::io::Write;

/// Prints one line on stdout; a closed stdout is ignored.
pub fn line(text: impl std::fmt::Display) {
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}
