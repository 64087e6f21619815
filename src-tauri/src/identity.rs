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
    IDENTITY.get_or_init(|| match desk_config::dev_hooks::os_user() {
        // Debug builds only: the e2e tests play two operators on one machine account.
        Some((user, groups)) => Identity { user, groups },
        None => os_identity(),
    })
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

/// Windows: the user and the groups of the process token (never `%USERNAME%`, which anyone can
/// set before starting the app). Groups are given as their SID (`S-1-5-21-…`), `DOMAIN\name`
/// and `name`, enabled groups only, so `[supervisors] groups` may use any of the three (SIDs
/// or `DOMAIN\name` are unambiguous).
#[cfg(windows)]
fn os_identity() -> Identity {
    windows_token::identity().unwrap_or_else(|| Identity {
        user: "unknown".to_owned(),
        groups: Vec::new(),
    })
}

/// Other non-Unix systems: no trustworthy source here.
#[cfg(not(any(unix, windows)))]
fn os_identity() -> Identity {
    Identity {
        user: "unknown".to_owned(),
        groups: Vec::new(),
    }
}

/// The Win32 calls behind the Windows identity: `OpenProcessToken`, `GetTokenInformation`
/// (`TokenUser`, `TokenGroups`), `ConvertSidToStringSidW`, `LookupAccountSidW`. Each `unsafe`
/// block is one documented call on a buffer this module owns. Written against `windows` 0.62;
/// the Linux build machine cannot compile it — check it on Windows.
#[cfg(windows)]
#[allow(unsafe_code)]
mod windows_token {
    use windows::Win32::Foundation::{CloseHandle, HANDLE, HLOCAL, LocalFree};
    use windows::Win32::Security::Authorization::ConvertSidToStringSidW;
    use windows::Win32::Security::{
        GetTokenInformation, LookupAccountSidW, PSID, SID_NAME_USE, TOKEN_GROUPS,
        TOKEN_INFORMATION_CLASS, TOKEN_QUERY, TOKEN_USER, TokenGroups, TokenUser,
    };
    use windows::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};
    use windows::core::PWSTR;

    /// `SE_GROUP_ENABLED` and `SE_GROUP_USE_FOR_DENY_ONLY` (winnt.h).
    const GROUP_ENABLED: u32 = 0x4;
    const GROUP_DENY_ONLY: u32 = 0x10;

    struct Token(HANDLE);

    impl Drop for Token {
        fn drop(&mut self) {
            // SAFETY: the handle came from OpenProcessToken and is closed once.
            let _ = unsafe { CloseHandle(self.0) };
        }
    }

    /// The token information of `class`, in a buffer aligned for the pointers it holds.
    fn information(token: &Token, class: TOKEN_INFORMATION_CLASS) -> Option<Vec<u64>> {
        let mut needed = 0u32;
        // SAFETY: a size query: no buffer is passed, only `needed` is written.
        let _ = unsafe { GetTokenInformation(token.0, class, None, 0, &mut needed) };
        if needed == 0 {
            return None;
        }
        let mut buffer = vec![0u64; (needed as usize).div_ceil(8)];
        // SAFETY: the buffer holds at least `needed` bytes and outlives every read of it.
        unsafe {
            GetTokenInformation(
                token.0,
                class,
                Some(buffer.as_mut_ptr().cast()),
                needed,
                &mut needed,
            )
        }
        .ok()?;
        Some(buffer)
    }

    /// `S-1-5-…` of a SID.
    fn sid_string(sid: PSID) -> Option<String> {
        let mut text = PWSTR::null();
        // SAFETY: `sid` points into a live token buffer; the string is freed below.
        unsafe { ConvertSidToStringSidW(sid, &mut text) }.ok()?;
        // SAFETY: a NUL-terminated string allocated by ConvertSidToStringSidW.
        let out = unsafe { text.to_string() }.ok();
        // SAFETY: freed once, with the allocator ConvertSidToStringSidW used.
        let _ = unsafe { LocalFree(Some(HLOCAL(text.0.cast()))) };
        out
    }

    /// (domain, name) of the account or group with this SID.
    fn account(sid: PSID) -> Option<(String, String)> {
        let mut name = [0u16; 256];
        let mut domain = [0u16; 256];
        let mut name_len = name.len() as u32;
        let mut domain_len = domain.len() as u32;
        let mut kind = SID_NAME_USE::default();
        // SAFETY: both buffers are as long as the lengths passed; the SID is live.
        unsafe {
            LookupAccountSidW(
                None,
                sid,
                Some(PWSTR(name.as_mut_ptr())),
                &mut name_len,
                Some(PWSTR(domain.as_mut_ptr())),
                &mut domain_len,
                &mut kind,
            )
        }
        .ok()?;
        let text = |buffer: &[u16], len: u32| {
            String::from_utf16_lossy(&buffer[..(len as usize).min(buffer.len())])
        };
        Some((text(&domain, domain_len), text(&name, name_len)))
    }

    pub(super) fn identity() -> Option<super::Identity> {
        let mut handle = HANDLE::default();
        // SAFETY: this process's pseudo-handle; the token handle is closed by `Token`.
        unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut handle) }.ok()?;
        let token = Token(handle);
        let user_buffer = information(&token, TokenUser)?;
        // SAFETY: GetTokenInformation(TokenUser) filled the buffer with a TOKEN_USER.
        let user_sid = unsafe { &*user_buffer.as_ptr().cast::<TOKEN_USER>() }
            .User
            .Sid;
        let user = account(user_sid)
            .map(|(_, name)| name)
            .or_else(|| sid_string(user_sid))?;
        let mut groups = Vec::new();
        if let Some(buffer) = information(&token, TokenGroups) {
            // SAFETY: GetTokenInformation(TokenGroups) filled the buffer with a TOKEN_GROUPS
            // followed by `GroupCount` SID_AND_ATTRIBUTES entries.
            let entries = unsafe {
                let header = &*buffer.as_ptr().cast::<TOKEN_GROUPS>();
                std::slice::from_raw_parts(header.Groups.as_ptr(), header.GroupCount as usize)
            };
            for entry in entries {
                if entry.Attributes & GROUP_ENABLED == 0 || entry.Attributes & GROUP_DENY_ONLY != 0
                {
                    continue;
                }
                if let Some(sid) = sid_string(entry.Sid) {
                    groups.push(sid);
                }
                if let Some((domain, name)) = account(entry.Sid) {
                    if !domain.is_empty() {
                        groups.push(format!("{domain}\\{name}"));
                    }
                    groups.push(name);
                }
            }
        }
        groups.sort();
        groups.dedup();
        Some(super::Identity { user, groups })
    }
}
