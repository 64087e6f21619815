//! Thales D1 client for INSTANT card orders.
