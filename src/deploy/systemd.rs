//! The real service manager: `systemctl --user` of the invoking user.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use super::effects::{ServiceManager, UnitState};
use super::podman::run_with_timeout;

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
    fn run(&self, args: &[&str], timeout: Duration) -> Result<String, String> {
        let (ok, out, err) =
            run_with_timeout(Command::new(&self.bin).arg("--user").args(args), timeout)?;
        if ok {
            Ok(out)
        } else {
            Err(format!(
                "systemctl --user {}: {}",
                args.join(" "),
                err.trim()
            ))
        }
    }

    fn each(&self, verb: &str, units: &[String]) -> Result<(), String> {
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

/// Whether every complaint in a `systemctl stop` error is about a unit that is not loaded.
fn only_not_loaded(err: &str) -> bool {
    let complaints: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("Failed to stop"))
        .collect();
    !complaints.is_empty() && complaints.iter().all(|l| l.contains("not loaded"))
}

impl ServiceManager for SystemctlUser {
    fn daemon_reload(&self) -> Result<(), String> {
        self.run(&["daemon-reload"], Duration::from_secs(120))
            .map(|_| ())
    }
    fn restart(&self, units: &[String]) -> Result<(), String> {
        self.each("restart", units)
    }
    fn start(&self, units: &[String]) -> Result<(), String> {
        self.each("start", units)
    }
    fn stop(&self, units: &[String]) -> Result<(), String> {
        match self.each("stop", units) {
            // A unit that is not loaded is not running: nothing to stop.
            Err(e) if only_not_loaded(&e) => Ok(()),
            r => r,
        }
    }
    fn show(&self, unit: &str) -> Result<UnitState, String> {
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
    fn reset_failed(&self, units: &[String]) -> Result<(), String> {
        // Only units systemd still holds as failed: asking about one it has forgotten is an error.
        let failed: Vec<String> = units
            .iter()
            .filter(|u| self.show(u).is_ok_and(|s| s.active_state == "failed"))
            .cloned()
            .collect();
        self.each("reset-failed", &failed)
    }
    fn disable_now(&self, units: &[String]) -> Result<(), String> {
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
        assert!(only_not_loaded(
            "systemctl --user stop a b: Failed to stop a.service: Unit a.service not loaded.\nFailed to stop b.target: Unit b.target not loaded."
        ));
        assert!(!only_not_loaded("Failed to stop a.service: Access denied"));
        assert!(!only_not_loaded("Job for a.service failed"));
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
