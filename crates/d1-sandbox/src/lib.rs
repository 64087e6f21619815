//! A local, faithful stand-in for the Thales D1 API.
