//! Issuance Desk layered configuration (skeleton).
