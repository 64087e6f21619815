//! Issuance Desk keychain credentials (skeleton).
