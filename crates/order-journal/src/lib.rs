//! The order journal: one SQLite row per order and its status history.
