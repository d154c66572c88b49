//! A test hook for the fault matrix (`tests/faults.rs`, docs/testing.md): with
//! `RELEASE_TOOL_FAULT=kill@POINT` in the environment, the process kills itself with SIGKILL when
//! it reaches `POINT`, exactly as `kill -9` at that step would. The points are the steps of a
//! deploy, in order: `staged`, `pulling`, `committed`, `switched`, `reloaded`, `restarting`,
//! `rolling-back`, `recorded` (docs/testing.md says where each one is).
//!
//! The variable is read once; without it `hit` is one load of an initialized cell. It cannot make
//! a deploy do anything a `kill -9` could not, so it is left in release builds on purpose: the
//! matrix tests the binary that ships.

use std::sync::OnceLock;

/// The variable naming the point to die at.
pub const ENV: &str = "RELEASE_TOOL_FAULT";

static ARMED: OnceLock<Option<String>> = OnceLock::new();

/// The point named by a `RELEASE_TOOL_FAULT` value (`kill@POINT`); None for anything else.
fn parse(value: &str) -> Option<String> {
    value
        .strip_prefix("kill@")
        .filter(|p| !p.is_empty())
        .map(str::to_string)
}

/// SIGKILLs this process when `RELEASE_TOOL_FAULT` is `kill@<point>`.
pub fn hit(point: &str) {
    let armed = ARMED.get_or_init(|| std::env::var(ENV).ok().as_deref().and_then(parse));
    if armed.as_deref() == Some(point) {
        // SAFETY: kill(2) on our own pid has no memory-safety preconditions.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_kill_at_a_named_point_arms_the_hook() {
        assert_eq!(parse("kill@switched").as_deref(), Some("switched"));
        assert_eq!(parse("kill@rolling-back").as_deref(), Some("rolling-back"));
        assert_eq!(parse("kill@"), None);
        assert_eq!(parse("switched"), None);
        assert_eq!(parse(""), None);
        // Unarmed in the unit tests' environment: a hit returns (this test would die otherwise).
        hit("switched");
    }
}
