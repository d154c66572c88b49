//! Wiring for the host-side commands: the real effects, the store, the lock, and exit codes.

use std::time::Duration;

use super::context::Context;
use super::exit;
use crate::cli::command::Limits;
use crate::deploy::effects::{Effects, SystemClock};
use crate::deploy::journal::{Journal, Report};
use crate::deploy::lock::{DeployLock, LockError};
use crate::deploy::podman::PodmanCli;
use crate::deploy::prepare::{DeployOptions, DeployResult};
use crate::deploy::pulls::PullOptions;
use crate::deploy::store::StateStore;
use crate::deploy::systemd::SystemctlUser;
use crate::deploy::transaction::ApplyResult;

/// The real edges of this process.
pub struct RealEffects {
    pub podman: PodmanCli,
    pub systemd: SystemctlUser,
    pub clock: SystemClock,
    pub report: Journal,
}

/// A program named by `var` (`RELEASE_TOOL_PODMAN`, `RELEASE_TOOL_SYSTEMCTL`), else `default`.
fn bin(var: &str, default: &str) -> std::path::PathBuf {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(Into::into)
        .unwrap_or_else(|| default.into())
}

/// The podman this process runs (`$RELEASE_TOOL_PODMAN`, else `podman` on `PATH`).
pub fn podman_cli() -> PodmanCli {
    PodmanCli::new(bin("RELEASE_TOOL_PODMAN", "podman"))
}

/// Where `program` runs from: itself when it names a path, else the first executable file of
/// that name on `PATH`.
pub fn find_program(program: &std::path::Path) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let runnable = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.components().count() > 1 {
        return runnable(program).then(|| program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| runnable(p))
}

impl RealEffects {
    /// The real edges, when the programs a command needs are there: else the message naming the
    /// missing one is printed and the exit code is [`exit::MISSING_TOOL`] (nothing was done).
    /// `systemctl`: whether the command needs it (every command here needs podman).
    pub fn require(systemctl: bool) -> Result<RealEffects, u8> {
        let real = RealEffects::new();
        let mut needed = vec![("podman", "RELEASE_TOOL_PODMAN", real.podman.bin.as_path())];
        if systemctl {
            needed.push((
                "systemctl",
                "RELEASE_TOOL_SYSTEMCTL",
                real.systemd.bin.as_path(),
            ));
        }
        for (name, var, bin) in needed {
            if find_program(bin).is_none() {
                log::error!(
                    "{name} not found: {} is not an executable file{} (install {name}, or set \
                     ${var})",
                    bin.display(),
                    if bin.components().count() > 1 {
                        ""
                    } else {
                        " on PATH"
                    },
                );
                return Err(exit::MISSING_TOOL);
            }
        }
        Ok(real)
    }

    pub fn new() -> RealEffects {
        RealEffects {
            podman: podman_cli(),
            systemd: SystemctlUser {
                bin: bin("RELEASE_TOOL_SYSTEMCTL", "systemctl"),
                ..Default::default()
            },
            clock: SystemClock::default(),
            report: Journal,
        }
    }

    pub fn effects(&self) -> Effects<'_> {
        Effects {
            podman: &self.podman,
            systemd: &self.systemd,
            clock: &self.clock,
            report: &self.report,
        }
    }
}

impl Default for RealEffects {
    fn default() -> Self {
        RealEffects::new()
    }
}

/// The options `deploy`, `rollback`, `down` and `manage-services restart` share (`jobs` and
/// `retries` only `deploy` takes: the others leave them unset).
pub fn deploy_options(args: &Limits) -> DeployOptions {
    let d = DeployOptions::default();
    let timeout = args.timeout.map(Duration::from_secs).unwrap_or(d.timeout);
    DeployOptions {
        pull: PullOptions {
            jobs: args.jobs.unwrap_or(d.pull.jobs),
            retries: args.retries.unwrap_or(d.pull.retries),
            timeout: timeout.max(Duration::from_secs(1)),
            ..d.pull
        },
        timeout,
        keep: std::env::var("RELEASE_TOOL_KEEP_GENERATIONS")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|k| *k > 0)
            .unwrap_or(d.keep),
        ..d
    }
}

/// Opens the store and takes the deploy lock; Err is the exit code (the message is printed).
pub fn open_locked(
    ctx: &Context,
    wait: bool,
    report: &dyn Report,
) -> Result<(StateStore, DeployLock), u8> {
    let store = StateStore::open(&ctx.state_dir).map_err(|e| {
        report.error(&[], &e.to_string());
        exit::FAILURE
    })?;
    if wait {
        report.status("waiting for the deploy lock");
    }
    match DeployLock::acquire(&store.lock_path(), wait) {
        Ok(l) => Ok((store, l)),
        Err(e @ LockError::Held(_)) => {
            report.error(&[], &e.to_string());
            Err(exit::LOCKED)
        }
        Err(e) => {
            report.error(&[], &e.to_string());
            Err(exit::FAILURE)
        }
    }
}

pub fn deploy_exit(r: &DeployResult) -> u8 {
    match r {
        DeployResult::NoChange(_) | DeployResult::Deployed(_) => exit::OK,
        DeployResult::InvalidInput(_) => exit::INVALID_INPUT,
        DeployResult::PullFailed(_) => exit::PULL_FAILED,
        DeployResult::RolledBack(..) => exit::ROLLED_BACK,
        DeployResult::RollbackFailed(..) => exit::ROLLBACK_FAILED,
    }
}

pub fn apply_exit(r: &ApplyResult) -> u8 {
    match r {
        ApplyResult::Done => exit::OK,
        ApplyResult::RolledBack(_) => exit::ROLLED_BACK,
        ApplyResult::RollbackFailed(..) => exit::ROLLBACK_FAILED,
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the epoch (no time zone database needed).
pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
    }
}
