//! Directories and files only their owner can use: the data directory, the log directory, the
//! journal, exports and training keys are created 0700 / 0600 on Unix, whatever the umask.
//! (Windows: the per-user profile directories these live in are already private to the user.)

use std::io;
use std::path::Path;

/// Mode of private directories on Unix.
pub const PRIVATE_DIR_MODE: u32 = 0o700;
/// Mode of private files on Unix.
pub const PRIVATE_FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents) with mode 0700, and narrows `dir` itself to 0700 if it
/// already existed with wider permissions. Parents that existed are left alone.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, PRIVATE_DIR_MODE);
    builder.create(dir)?;
    #[cfg(unix)]
    restrict(dir, PRIVATE_DIR_MODE)?;
    Ok(())
}

/// Narrows an existing file to 0600 (Unix; nothing elsewhere).
pub fn make_file_private(file: &Path) -> io::Result<()> {
    #[cfg(unix)]
    restrict(file, PRIVATE_FILE_MODE)?;
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let current = std::fs::metadata(path)?.permissions().mode() & 0o7777;
    if current != mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

/// Options that create a new file with mode 0600 (Unix) and fail if it exists.
pub fn create_new_private_file() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, PRIVATE_FILE_MODE);
    options
}
