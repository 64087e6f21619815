//! Log files only their owner can read (0600 on Unix). tracing-appender creates each day's file
//! with the umask's mode; this writer narrows a file as soon as it appears (the first write of a
//! day), and [`narrow_existing`] narrows the program's older files at start. The directory is
//! already 0700, so nobody else could open a file in the moment before it is narrowed.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tracing_appender::rolling::RollingFileAppender;

use crate::FILE_SUFFIX;

/// Narrows every file of `prefix` in `directory` to 0600.
pub(crate) fn narrow_existing(directory: &Path, prefix: &str) -> io::Result<()> {
    for entry in std::fs::read_dir(directory)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with(prefix) && entry.file_type()?.is_file() {
            desk_config::private_fs::make_file_private(&entry.path())?;
        }
    }
    Ok(())
}

/// The rolling appender, narrowing each day's file on its first write.
pub(crate) struct PrivateFiles {
    inner: RollingFileAppender,
    directory: PathBuf,
    prefix: String,
    narrowed_day: Option<time::Date>,
}

impl PrivateFiles {
    pub(crate) fn new(
        inner: RollingFileAppender,
        directory: &Path,
        prefix: &str,
    ) -> io::Result<Self> {
        Ok(PrivateFiles {
            inner,
            directory: directory.to_path_buf(),
            prefix: prefix.to_string(),
            narrowed_day: None,
        })
    }

    fn narrow_today(&mut self) {
        // The appender names files by the UTC date.
        let today = time::OffsetDateTime::now_utc().date();
        if self.narrowed_day == Some(today) {
            return;
        }
        let name = format!(
            "{}.{:04}-{:02}-{:02}.{FILE_SUFFIX}",
            self.prefix,
            today.year(),
            u8::from(today.month()),
            today.day()
        );
        if desk_config::private_fs::make_file_private(&self.directory.join(name)).is_ok() {
            self.narrowed_day = Some(today);
        }
    }
}

impl Write for PrivateFiles {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.narrow_today();
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
