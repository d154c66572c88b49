//! release-tool: deploy a git repository of Docker Compose stacks as Podman Quadlet units.
//!
//! The pure core (`compose`, `quadlet`, `translate`) turns files and variables into unit-file bytes
//! with no process environment, clock or network. The effects (`deploy`, the state store, podman,
//! systemctl, the journal) sit at the edge behind small interfaces. See DESIGN.md.

pub mod cli;
pub mod commands;
pub mod compose;
pub mod deploy;
pub mod diag;
pub mod logging;
pub mod quadlet;
pub mod translate;
