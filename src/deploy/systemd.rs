//! The real service manager: `systemctl --user` of the invoking user.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use super::effects::{ServiceManager, UnitState};
use super::tool::{self, ToolError};

pub struct SystemctlUser {
    pub bin: PathBuf,
    /// How long one `systemctl` call may take: jobs are only queued (`--no-block`), so this
    /// bounds talking to the manager, never a unit's start or stop.
    pub call_timeout: Duration,
}

impl Default for SystemctlUser {
    fn default() -> Self {
        SystemctlUser {
            bin: PathBuf::from("systemctl"),
            call_timeout: Duration::from_secs(30),
        }
    }
}

impl SystemctlUser {
    fn run(&self, args: &[&str], timeout: Duration) -> Result<String, ToolError> {
        tool::run(Command::new(&self.bin).arg("--user").args(args), timeout)
    }

    fn each(&self, verb: &str, units: &[String]) -> Result<(), ToolError> {
        if units.is_empty() {
            return Ok(());
        }
        let mut args = vec![verb, "--no-block"];
        args.extend(units.iter().map(String::as_str));
        self.run(&args, self.call_timeout).map(|_| ())
    }
}

/// Parses `systemctl show` output (`Key=value` lines).
pub fn parse_show(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl ServiceManager for SystemctlUser {
    fn daemon_reload(&self) -> Result<(), ToolError> {
        self.run(&["daemon-reload"], Duration::from_secs(120))
            .map(|_| ())
    }
    fn restart(&self, units: &[String]) -> Result<(), ToolError> {
        self.each("restart", units)
    }
    fn start(&self, units: &[String]) -> Result<(), ToolError> {
        self.each("start", units)
    }
    fn stop(&self, units: &[String]) -> Result<(), ToolError> {
        match self.each("stop", units) {
            // A unit that is not loaded is not running: nothing to stop.
            Err(e) if e.systemd_only_not_loaded() => Ok(()),
            r => r,
        }
    }
    fn show(&self, unit: &str) -> Result<UnitState, ToolError> {
        let out = self.run(
            &[
                "show",
                "-p",
                "LoadState,ActiveState,SubState,Result,InvocationID,NRestarts",
                unit,
            ],
            self.call_timeout,
        )?;
        Ok(UnitState::from_properties(&parse_show(&out)))
    }
    fn reset_failed(&self, units: &[String]) -> Result<(), ToolError> {
        // Only units systemd still holds as failed: asking about one it has forgotten is an error.
        let failed: Vec<String> = units
            .iter()
            .filter(|u| self.show(u).is_ok_and(|s| s.active_state == "failed"))
            .cloned()
            .collect();
        self.each("reset-failed", &failed)
    }
    fn disable_now(&self, units: &[String]) -> Result<(), ToolError> {
        if units.is_empty() {
            return Ok(());
        }
        let mut args = vec!["disable", "--now"];
        args.extend(units.iter().map(String::as_str));
        self.run(&args, self.call_timeout).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopping_unloaded_units_is_not_an_error() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        let bin = t.path().join("systemctl");
        // systemd 252's answer to stopping units that are not loaded; `b` is refused otherwise.
        std::fs::write(
            &bin,
            "#!/bin/sh\ncase \"$*\" in\n\
             *b.service*) echo 'Failed to stop b.service: Access denied' >&2; exit 1;;\n\
             *) for u in \"$@\"; do case $u in *.*) echo \"Failed to stop $u: Unit $u not loaded.\" >&2;; esac; done; exit 5;;\n\
             esac\n",
        )
        .unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let s = SystemctlUser {
            bin,
            ..Default::default()
        };
        s.stop(&["a.service".into(), "c.target".into()]).unwrap();
        let e = s.stop(&["b.service".into()]).unwrap_err();
        assert_eq!(e.status(), Some(1));
        assert!(
            e.to_string()
                .ends_with("stop --no-block b.service: Failed to stop b.service: Access denied"),
            "{e}"
        );
    }

    #[test]
    fn jobs_are_only_queued() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        let log = t.path().join("calls");
        let bin = t.path().join("systemctl");
        std::fs::write(
            &bin,
            // `show` answers that b.service failed: only failed units get a reset-failed.
            format!(
                "#!/bin/sh\necho \"$*\" >> {}\ncase \"$*\" in *show*b.service) echo ActiveState=failed;; esac\n",
                log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let s = SystemctlUser {
            bin,
            ..Default::default()
        };
        let units = vec!["a.service".to_string(), "b.service".to_string()];
        s.restart(&units).unwrap();
        s.start(&units).unwrap();
        s.stop(&units).unwrap();
        s.reset_failed(&units).unwrap();
        let calls = std::fs::read_to_string(&log).unwrap();
        assert_eq!(
            calls,
            "--user restart --no-block a.service b.service\n\
             --user start --no-block a.service b.service\n\
             --user stop --no-block a.service b.service\n\
             --user show -p LoadState,ActiveState,SubState,Result,InvocationID,NRestarts a.service\n\
             --user show -p LoadState,ActiveState,SubState,Result,InvocationID,NRestarts b.service\n\
             --user reset-failed --no-block b.service\n"
        );
    }

    #[test]
    fn show_output_parses() {
        let s = UnitState::from_properties(&parse_show(
            "LoadState=loaded\nActiveState=activating\nSubState=auto-restart\nResult=exit-code\nInvocationID=ab\nNRestarts=3\n",
        ));
        assert_eq!(s.active_state, "activating");
        assert_eq!(s.sub_state, "auto-restart");
        assert_eq!(s.invocation_id, "ab");
        assert_eq!(s.n_restarts, 3);
    }
}
