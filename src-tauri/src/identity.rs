//! Who is at the desk: the OS user of the process and their groups. The journal's operator and
//! the supervisor check both come from here.

use std::sync::OnceLock;

/// The OS user running the app and their OS groups, looked up once.
pub struct Identity {
    pub user: String,
    pub groups: Vec<String>,
}

pub fn current() -> &'static Identity {
    static IDENTITY: OnceLock<Identity> = OnceLock::new();
    IDENTITY.get_or_init(os_identity)
}

/// From the process's real uid (not `$USER`, which anyone can set before starting the app).
#[cfg(unix)]
fn os_identity() -> Identity {
    use nix::unistd::{Group, User, getuid};
    let uid = getuid();
    match User::from_uid(uid) {
        Ok(Some(user)) => {
            let mut groups: Vec<String> = group_ids(&user)
                .into_iter()
                .filter_map(|gid| Group::from_gid(gid).ok().flatten())
                .map(|group| group.name)
                .collect();
            groups.sort();
            groups.dedup();
            Identity {
                user: user.name,
                groups,
            }
        }
        _ => Identity {
            user: uid.to_string(),
            groups: Vec::new(),
        },
    }
}

#[cfg(target_os = "linux")]
fn group_ids(user: &nix::unistd::User) -> Vec<nix::unistd::Gid> {
    std::ffi::CString::new(user.name.as_str())
        .ok()
        .and_then(|name| nix::unistd::getgrouplist(&name, user.gid).ok())
        .unwrap_or_else(|| vec![user.gid])
}

/// Other Unix systems: the primary group only (see the README's known gaps).
#[cfg(all(unix, not(target_os = "linux")))]
fn group_ids(user: &nix::unistd::User) -> Vec<nix::unistd::Gid> {
    vec![user.gid]
}

/// Windows: the user name only; group membership is not read yet (README: known gaps).
#[cfg(not(unix))]
fn os_identity() -> Identity {
    Identity {
        user: std::env::var("USERNAME").unwrap_or_else(|_| "unknown".to_owned()),
        groups: Vec::new(),
    }
}
