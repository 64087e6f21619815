//! [`Sensitive<T>`]: the one wrapper for card data and other secrets.
//!
//! What it allows is what it says: it can be made, deserialized (from IPC), cloned and read
//! through an explicit [`Sensitive::expose`]. What it refuses is the point: no `Serialize`, no
//! `Display`, `Debug` prints `<redacted>`, and the value is wiped from memory when dropped.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A value that must never reach a log, a file, the journal or the window.
///
/// ```
/// use desk_domain::Sensitive;
/// let pan = Sensitive::new(String::from("4000056655665556"));
/// assert_eq!(format!("{pan:?}"), "<redacted>");
/// assert_eq!(pan.expose(), "4000056655665556");
/// ```
pub struct Sensitive<T: Zeroize>(T);

impl<T: Zeroize> Sensitive<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The value itself. Every call is a place where card data is read: keep them few.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T: Zeroize> Drop for Sensitive<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> ZeroizeOnDrop for Sensitive<T> {}

impl<T: Zeroize> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T: Zeroize + Clone> Clone for Sensitive<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

/// Equality of two secrets (a cached token against a stale one) shows neither.
impl<T: Zeroize + PartialEq> PartialEq for Sensitive<T> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<T: Zeroize + Eq> Eq for Sensitive<T> {}

impl<T: Zeroize + Default> Default for Sensitive<T> {
    fn default() -> Self {
        Self(T::default())
    }
}

impl<T: Zeroize> From<T> for Sensitive<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl From<&str> for Sensitive<String> {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl<'de, T: Zeroize + Deserialize<'de>> Deserialize<'de> for Sensitive<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Self)
    }
}

/// In the generated TypeScript a `Sensitive<T>` is just `T`: the window types it.
#[cfg(feature = "specta")]
impl<T: Zeroize + specta::Type> specta::Type for Sensitive<T> {
    fn definition(types: &mut specta::Types) -> specta::datatype::DataType {
        T::definition(types)
    }
}

/// Card data the window shows on purpose, and only there: the review the teller reads with the
/// customer before sending (name, expiry), a demo number in training. It serializes — for that
/// one answer to the window — but `Debug` prints `<redacted>`, there is no `Display`, and the
/// value is wiped when dropped, so it cannot reach a log through a derived `Debug` either.
///
/// ```
/// use desk_domain::ShownToTeller;
/// let expiry = ShownToTeller::new(String::from("07/30"));
/// assert_eq!(format!("{expiry:?}"), "<redacted>");
/// assert_eq!(serde_json::to_string(&expiry).unwrap(), "\"07/30\"");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ShownToTeller<T: Zeroize>(Sensitive<T>);

impl<T: Zeroize> ShownToTeller<T> {
    pub fn new(value: T) -> Self {
        Self(Sensitive::new(value))
    }

    pub fn expose(&self) -> &T {
        self.0.expose()
    }
}

/// Redacted exactly as [`Sensitive`] is.
impl<T: Zeroize> fmt::Debug for ShownToTeller<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl<T: Zeroize + Serialize> Serialize for ShownToTeller<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.expose().serialize(serializer)
    }
}

#[cfg(feature = "specta")]
impl<T: Zeroize + specta::Type> specta::Type for ShownToTeller<T> {
    fn definition(types: &mut specta::Types) -> specta::datatype::DataType {
        T::definition(types)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_to_teller_serializes_for_the_window_and_debugs_redacted() {
        let name = ShownToTeller::new(String::from("ANA GARCIA"));
        assert_eq!(format!("{name:?}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(name.clone())), "Some(<redacted>)");
        assert_eq!(
            serde_json::to_value(&name).unwrap(),
            serde_json::json!("ANA GARCIA")
        );
        assert_eq!(name.expose(), "ANA GARCIA");
    }

    #[test]
    fn debug_never_shows_the_value() {
        let s = Sensitive::new(String::from("4000056655665556"));
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(<redacted>)");
        assert_eq!(format!("{s:#?}"), "<redacted>");
    }

    #[test]
    fn deserializes_from_ipc_json() {
        let s: Sensitive<String> = serde_json::from_str("\"123\"").unwrap();
        assert_eq!(s.expose(), "123");
        let o: Option<Sensitive<String>> = serde_json::from_str("null").unwrap();
        assert!(o.is_none());
    }
}
