//! The Quadlet unit model and its one writer.
//!
//! A typed struct per unit kind (`.container`, `.volume`, `.network`, `.pod`, `.build`, `.image`,
//! plain `.target`), and one serializer that owns all escaping: no value can add a line, a key or a
//! section to a unit file. `keys` is the table of every key it writes and how each is escaped
//! (docs/escaping.md).

pub mod escape;
pub mod keys;
pub mod model;
pub mod versions;
pub mod writer;

pub use model::*;
pub use writer::{write_unit, WriteError};
