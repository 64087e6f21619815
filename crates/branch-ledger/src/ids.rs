//! The ledger's own identifiers: branch, region and desk ids, and a desk's login role.
//!
//! The rule (1–40 characters among `A-Z a-z 0-9 _ -`) is the server's `ledger.is_ledger_id`; it
//! keeps `desk_<desk id>` within PostgreSQL's 63-byte role names and makes ids safe in a
//! certificate's CN.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::error::{LedgerError, Result};

/// Longest branch, region or desk id.
pub const MAX_LEDGER_ID_CHARS: usize = 40;

/// The prefix of a desk's login role: desk `B0042-D1` logs in as `desk_B0042-D1`.
pub const DESK_ROLE_PREFIX: &str = "desk_";

fn check(field: &'static str, value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= MAX_LEDGER_ID_CHARS
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(LedgerError::Settings(format!(
            "{field} must be 1 to {MAX_LEDGER_ID_CHARS} characters among A-Z a-z 0-9 _ -"
        )))
    }
}

macro_rules! ledger_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Accepts 1–40 characters among `A-Z a-z 0-9 _ -`; anything else is refused with a
            /// message naming the field (not the value).
            pub fn parse(value: &str) -> Result<Self> {
                check($field, value)?;
                Ok(Self(value.to_owned()))
            }

            /// The id.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// From a value the server returned (already checked by its constraints).
            pub(crate) fn from_server(value: String) -> Self {
                Self(value)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = LedgerError;
            fn from_str(value: &str) -> Result<Self> {
                Self::parse(value)
            }
        }
    };
}

ledger_id!(
    /// A branch of the bank (`branch_id`): the unit of visibility and of distribution.
    BranchId,
    "the branch id"
);
ledger_id!(
    /// A region (a group of branches a regional desk sees).
    RegionId,
    "the region id"
);
ledger_id!(
    /// A desk: one PC at a counter, or a regional supervisor's desk. Unique across the bank.
    DeskId,
    "the desk id"
);

impl DeskId {
    /// The desk's login role, which is also the CN of its client certificate: `desk_<id>`.
    pub fn role_name(&self) -> String {
        format!("{DESK_ROLE_PREFIX}{}", self.0)
    }
}

/// What a desk may read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeskKind {
    /// A desk at a counter: reads its own branch.
    Teller,
    /// A regional supervisor's desk: reads every branch of its branch's region.
    Regional,
}

impl DeskKind {
    /// As stored (`teller`, `regional`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Teller => "teller",
            Self::Regional => "regional",
        }
    }

    pub(crate) fn from_server(value: &str) -> Self {
        if value == "regional" {
            Self::Regional
        } else {
            Self::Teller
        }
    }
}

impl fmt::Display for DeskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Quotes a role name for SQL (roles are validated ledger ids plus the prefix, or the admin's
/// role; quoting keeps upper-case letters and hyphens intact).
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn ids_accept_the_documented_characters_and_lengths() {
        assert!(BranchId::parse("B0042").is_ok());
        assert!(DeskId::parse("b0042_desk-1").is_ok());
        assert!(RegionId::parse(&"r".repeat(40)).is_ok());
        for bad in ["", " ", "a b", "é", "a.b", "x;drop", "a\"b"] {
            let e = DeskId::parse(bad).unwrap_err();
            assert!(e.to_string().contains("the desk id must be"), "{e}");
        }
        assert!(BranchId::parse(&"b".repeat(41)).is_err());
    }

    #[test]
    fn a_desk_logs_in_as_its_prefixed_role_within_postgres_limits() {
        let desk = DeskId::parse(&"D".repeat(40)).unwrap();
        assert_eq!(desk.role_name().len(), 45);
        assert!(desk.role_name().len() <= 63);
        assert_eq!(DeskId::parse("B1-D2").unwrap().role_name(), "desk_B1-D2");
    }

    #[test]
    fn quoting_doubles_quotes() {
        assert_eq!(quote_ident("desk_B1-D2"), "\"desk_B1-D2\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
