//! The host side: generations (the state store), change detection, pulls, ordered restarts,
//! health checks, rollback, and the systemd generator. Effects live here, behind small traits
//! (`effects`), so the transaction logic is tested with recorded fakes and the edges (`podman`,
//! `systemd`, `journal`) against the real things. See docs/deploy.md.

pub mod cleanup;
pub mod dropins;
pub mod effects;
pub mod exact;
pub mod faultpoint;
pub mod fsutil;
pub mod gate;
pub mod generator;
pub mod images;
pub mod intact;
pub mod journal;
pub mod lock;
pub mod manifest;
pub mod planner;
pub mod podman;
pub mod prepare;
pub mod pulls;
pub mod render;
pub mod restart;
pub mod snapshot;
pub mod store;
pub mod systemd;
pub mod tool;
pub mod transaction;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod exact_tests;
#[cfg(test)]
pub mod fake;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_health;
