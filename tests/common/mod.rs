//! Helpers shared by the integration tests: `mod common;` in a test file, then `common::lab::Lab`.
#![allow(dead_code)]

pub mod compose_ref;
pub mod lab;
