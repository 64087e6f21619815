//! Rotation keeps at most `max_files` files of the program, leaves other programs' files alone,
//! and a directory that cannot be created is a clear error.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use desk_config::LogLevel;
use desk_logging::{
    ADMIN_FILE_PREFIX, APP_FILE_PREFIX, FILE_SUFFIX, LogOptions, LoggingError, init,
};

#[test]
fn old_files_are_deleted_down_to_the_limit_and_other_programs_files_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    for day in 1..=20 {
        let name = format!("{APP_FILE_PREFIX}.2020-01-{day:02}.{FILE_SUFFIX}");
        std::fs::write(dir.path().join(name), "{}\n").unwrap();
    }
    let admin_file = dir
        .path()
        .join(format!("{ADMIN_FILE_PREFIX}.2020-01-01.{FILE_SUFFIX}"));
    std::fs::write(&admin_file, "{}\n").unwrap();

    // A directory under a regular file cannot be created: clear error, nothing installed.
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "x").unwrap();
    let error = init(LogOptions {
        directory: Some(blocker.join("logs")),
        ..LogOptions::app()
    })
    .unwrap_err();
    assert!(matches!(error, LoggingError::Directory { .. }));
    assert!(error.to_string().contains("not-a-dir/logs"), "{error}");

    let guard = init(LogOptions {
        directory: Some(dir.path().to_path_buf()),
        level: LogLevel::Info,
        stderr: false,
        max_files: 5,
        ..LogOptions::app()
    })
    .unwrap();
    tracing::info!("after rotation");
    drop(guard);

    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let app_files: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with(APP_FILE_PREFIX))
        .collect();
    assert!(app_files.len() <= 5, "{app_files:?}");
    assert!(
        app_files
            .iter()
            .any(|n| std::fs::read_to_string(dir.path().join(n))
                .unwrap()
                .contains("after rotation")),
        "today's file is kept and written"
    );
    assert!(
        admin_file.exists(),
        "the admin CLI's files are not the app's to delete"
    );

    // Only one logger per process.
    let again = init(LogOptions {
        directory: Some(dir.path().to_path_buf()),
        ..LogOptions::app()
    });
    assert!(matches!(again, Err(LoggingError::AlreadyInitialized)));
}
