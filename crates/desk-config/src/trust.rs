//! Whether the machine-wide file can be trusted: on Unix it must be owned by root (or the owner
//! the caller names, for tests) and not writable by group or others. A file a teller can edit
//! could otherwise name them supervisor or point the desk at another D1.
//!
//! Windows and other systems: not checked here (the file lives under `%ProgramData%`, whose ACL
//! IT manages); see DEPLOYMENT.md.

use std::path::Path;

use crate::sources::MachineFileOwner;

/// Why the machine file is refused, for people; `None` when it may be used.
#[cfg(unix)]
pub(crate) fn machine_file_problem(path: &Path, owner: MachineFileOwner) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let metadata = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => return Some(format!("its owner and permissions cannot be read: {e}")),
    };
    let mode = metadata.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Some(format!(
            "the machine-wide file is writable by {} (mode {mode:04o}), so anyone could change \
             who is supervisor or which D1 is used: make it writable by its owner only \
             (chmod 644 {})",
            match (mode & 0o020 != 0, mode & 0o002 != 0) {
                (true, true) => "its group and by others",
                (true, false) => "its group",
                _ => "others",
            },
            path.display()
        ));
    }
    let uid = metadata.uid();
    let expected = match owner {
        MachineFileOwner::Anyone => return None,
        MachineFileOwner::Root => 0,
        MachineFileOwner::Uid(uid) => uid,
    };
    if uid != expected {
        return Some(format!(
            "the machine-wide file is owned by user id {uid}, not {}: only IT may own it \
             (chown root:root {})",
            if expected == 0 {
                "root".to_string()
            } else {
                format!("user id {expected}")
            },
            path.display()
        ));
    }
    None
}

/// Not checked outside Unix (see the module comment).
#[cfg(not(unix))]
pub(crate) fn machine_file_problem(_path: &Path, _owner: MachineFileOwner) -> Option<String> {
    None
}
