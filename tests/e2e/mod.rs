//! Shared by the end-to-end test crates (`tests/e2e*.rs`).
pub mod lab;
