//! Private directories and files: 0700 / 0600 on Unix, existing ones narrowed.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;

use desk_config::private_fs::*;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn directories_are_created_and_narrowed_to_0700() {
    let root = tempfile::tempdir().unwrap();
    let nested = root.path().join("a").join("b");
    create_private_dir(&nested).unwrap();
    assert_eq!(mode(&nested), 0o700);
    assert_eq!(mode(&root.path().join("a")), 0o700, "created parents too");
    let wide = root.path().join("wide");
    std::fs::create_dir(&wide).unwrap();
    std::fs::set_permissions(&wide, std::fs::Permissions::from_mode(0o777)).unwrap();
    create_private_dir(&wide).unwrap();
    assert_eq!(mode(&wide), 0o700);
    // Idempotent.
    create_private_dir(&wide).unwrap();
    assert_eq!(mode(&wide), 0o700);
}

#[test]
fn files_are_created_0600_only_when_new_and_narrowed() {
    let root = tempfile::tempdir().unwrap();
    let file = root.path().join("export.csv");
    create_new_private_file().open(&file).unwrap();
    assert_eq!(mode(&file), 0o600);
    let again = create_new_private_file().open(&file).unwrap_err();
    assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    make_file_private(&file).unwrap();
    assert_eq!(mode(&file), 0o600);
    assert!(make_file_private(&root.path().join("absent")).is_err());
}
