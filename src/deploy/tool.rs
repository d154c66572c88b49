//! Running the programs at the edge (`podman`, `systemctl`) and what their failures mean.
//!
//! A failure is a [`ToolError`] that keeps the program, its arguments, its exit status and what it
//! printed. What a failure means (the object does not exist, the container is unhealthy, the
//! units are not loaded) is decided here, once, from the exit status the tools document and, where
//! they give one exit status for several causes, from the error names they print (Podman's
//! `define.ErrNoSuch…`, systemd's "not loaded"); nothing above this module reads a message.

use std::fmt;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A program at the edge that could not do what it was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolError {
    /// It could not be started; `missing` when it is not installed (or not on `PATH`).
    Spawn {
        program: String,
        missing: bool,
        reason: String,
    },
    /// It ran longer than its bound and was killed.
    TimedOut {
        program: String,
        args: Vec<String>,
        after: Duration,
    },
    /// It exited non-zero (`status` None: killed by a signal).
    Failed {
        program: String,
        args: Vec<String>,
        status: Option<i32>,
        stdout: String,
        stderr: String,
    },
    /// It succeeded but printed something we cannot read.
    Output {
        program: String,
        args: Vec<String>,
        reason: String,
    },
}

impl std::error::Error for ToolError {}

fn command_line(program: &str, args: &[String]) -> String {
    let mut s = program.to_string();
    for a in args {
        s.push(' ');
        s.push_str(a);
    }
    s
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ToolError::Spawn {
                program, reason, ..
            } => write!(f, "cannot run {program}: {reason}"),
            ToolError::TimedOut {
                program,
                args,
                after,
            } => write!(
                f,
                "{} timed out after {}s",
                command_line(program, args),
                after.as_secs()
            ),
            ToolError::Failed {
                program,
                args,
                status,
                stdout,
                stderr,
            } => {
                let said = [stderr.trim(), stdout.trim()]
                    .into_iter()
                    .find(|s| !s.is_empty());
                match (said, status) {
                    (Some(s), _) => write!(f, "{}: {s}", command_line(program, args)),
                    (None, Some(c)) => {
                        write!(f, "{}: exit status {c}", command_line(program, args))
                    }
                    (None, None) => {
                        write!(f, "{}: killed by a signal", command_line(program, args))
                    }
                }
            }
            ToolError::Output {
                program,
                args,
                reason,
            } => write!(
                f,
                "{}: unreadable output: {reason}",
                command_line(program, args)
            ),
        }
    }
}

/// Above the edge a failure is reported, not inspected: it becomes the message it displays.
impl From<ToolError> for String {
    fn from(e: ToolError) -> String {
        e.to_string()
    }
}

/// The messages of Podman's "no such object" errors (`libpod/define/errors.go`,
/// `containers/storage`'s `ErrImageUnknown`): the last `: `-part of its `Error: …` line starts
/// with one (`…: no such volume NAME`, `…: image not known`).
const PODMAN_NO_SUCH: &[&str] = &[
    "no such container",
    "no such image",
    "image not known",
    "no such volume",
    "no such secret",
    "network not found",
    "no such pod",
];

impl ToolError {
    /// A failure of `program args` as it exited.
    pub fn failed(program: &str, args: &[&str], status: Option<i32>, stderr: &str) -> ToolError {
        ToolError::Failed {
            program: program.to_string(),
            args: args.iter().map(|a| a.to_string()).collect(),
            status,
            stdout: String::new(),
            stderr: stderr.to_string(),
        }
    }

    pub fn status(&self) -> Option<i32> {
        match self {
            ToolError::Failed { status, .. } => *status,
            _ => None,
        }
    }

    /// The program is not installed: the documented exit status 8 (`exit::MISSING_TOOL`).
    pub fn is_missing_program(&self) -> bool {
        matches!(self, ToolError::Spawn { missing: true, .. })
    }

    /// `podman … inspect|rm NAME` failed because NAME does not exist. `podman rm`, `image rm`,
    /// `volume rm` and `network rm` document exit status 1 for exactly that; the other verbs
    /// exit 125 for every error, so their `Error:` line says which.
    pub fn podman_no_such_object(&self) -> bool {
        let ToolError::Failed {
            args,
            status,
            stderr,
            ..
        } = self
        else {
            return false;
        };
        let verb = args
            .iter()
            .map(String::as_str)
            .find(|a| !a.starts_with('-'));
        let rm = args.iter().any(|a| a == "rm" || a == "rmi");
        let documented = rm && *status == Some(1) && verb != Some("secret");
        documented
            || stderr
                .lines()
                .filter(|l| l.starts_with("Error:"))
                .filter_map(|l| l.trim_end().rsplit(": ").next())
                .any(|last| PODMAN_NO_SUCH.iter().any(|m| last.starts_with(m)))
    }

    /// `podman healthcheck run` answered "unhealthy": its documented exit status 1 (an error,
    /// such as no such container or no healthcheck, is 125).
    pub fn podman_unhealthy(&self) -> bool {
        matches!(
            self,
            ToolError::Failed {
                status: Some(1),
                ..
            }
        )
    }

    /// `systemctl stop` failed only because units are not loaded (nothing to stop): systemctl's
    /// exit status 5 ("not installed", from the manager's `NoSuchUnit`), and every unit it names
    /// failing for that.
    pub fn systemd_only_not_loaded(&self) -> bool {
        let ToolError::Failed {
            status: Some(5),
            stderr,
            ..
        } = self
        else {
            return false;
        };
        let complaints: Vec<&str> = stderr
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("Failed to "))
            .collect();
        !complaints.is_empty() && complaints.iter().all(|l| l.ends_with(" not loaded."))
    }
}

/// Runs `cmd` (stdin closed), killing it after `timeout`: its standard output when it exits 0,
/// else the failure with everything it printed.
pub fn run(cmd: &mut Command, timeout: Duration) -> Result<String, ToolError> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let args: Vec<String> = cmd
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ToolError::Spawn {
            program: program.clone(),
            missing: e.kind() == std::io::ErrorKind::NotFound,
            reason: e.to_string(),
        })?;
    // Drain the pipes in threads so a chatty child cannot block on a full pipe.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut s);
            }
            s
        })
    };
    let t_out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let t_err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let deadline = started + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ToolError::TimedOut {
                    program,
                    args,
                    after: timeout,
                });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                return Err(ToolError::Spawn {
                    program,
                    missing: false,
                    reason: format!("waiting for it: {e}"),
                })
            }
        }
    };
    let stdout = t_out.join().unwrap_or_default();
    let stderr = t_err.join().unwrap_or_default();
    // `-v` shows every command the tool runs, how long it took and how it ended.
    log::debug!(
        "ran {program} {} ({:.1}s, {status})",
        args.join(" "),
        started.elapsed().as_secs_f64()
    );
    if status.success() {
        Ok(stdout)
    } else {
        Err(ToolError::Failed {
            program,
            args,
            status: status.code(),
            stdout,
            stderr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `podman ARGS` as Podman 4.3.1 answered it (recorded on the lab host as root, 2026-12).
    fn podman(args: &str, status: i32, stderr: &str) -> ToolError {
        let args: Vec<&str> = args.split(' ').collect();
        ToolError::failed("podman", &args, Some(status), stderr)
    }

    #[test]
    fn podman_no_such_object_from_real_answers() {
        let absent = [
            podman("image inspect nosuch", 125, "Error: inspecting object: nosuch: image not known\n"),
            podman("image inspect --format {{.Id}} docker.io/library/nosuch@sha256:00", 125,
                "Error: inspecting object: docker.io/library/nosuch@sha256:00: image not known\n"),
            podman("image rm nosuch0123", 1, "Error: nosuch0123: image not known\n"),
            podman("network rm nosuch-net-rt", 1,
                "Error: unable to find network with name or ID nosuch-net-rt: network not found\n"),
            podman("network inspect nosuch-net-rt", 125,
                "Error: inspecting object: network nosuch-net-rt: unable to find network with name or ID nosuch-net-rt: network not found\n"),
            podman("secret rm nosuch-secret-rt", 125,
                "Error: no secret with name or id \"nosuch-secret-rt\": no such secret\n"),
            podman("volume rm nosuch-vol-rt", 1,
                "Error: no volume with name \"nosuch-vol-rt\" found: no such volume\n"),
            podman("volume inspect nosuch-vol-rt", 125, "Error: inspecting object: no such volume nosuch-vol-rt\n"),
            podman("container inspect nosuch-ctr-rt", 125, "Error: inspecting object: no such container nosuch-ctr-rt\n"),
            podman("rm nosuch-ctr-rt", 1,
                "Error: no container with name or ID \"nosuch-ctr-rt\" found: no such container\n"),
        ];
        for e in &absent {
            assert!(e.podman_no_such_object(), "{e}");
        }
        // Other failures are failures (constructed, in the same shapes).
        let other = [
            podman("pull --quiet localhost:1/nosuch:latest", 125,
                "Error: initializing source docker://localhost:1/nosuch:latest: pinging container registry localhost:1: Get \"https://localhost:1/v2/\": dial tcp 127.0.0.1:1: connect: connection refused\n"),
            podman("image rm 3113", 2,
                "Error: image used by 5e1c: image is in use by a container: consider listing external containers and force-removing image\n"),
            podman("secret rm s", 125, "Error: open /run/secrets: permission denied\n"),
            // A secret's exit status 1 is not documented as "absent".
            podman("secret rm s", 1, "Error: database is locked\n"),
            podman("image inspect x", 125, "Error: no such image mentioned mid-line: database is locked\n"),
        ];
        for e in &other {
            assert!(!e.podman_no_such_object(), "{e}");
        }
        let t = ToolError::TimedOut {
            program: "podman".into(),
            args: vec![],
            after: Duration::from_secs(1),
        };
        assert!(!t.podman_no_such_object());
    }

    #[test]
    fn podman_unhealthy_is_exit_status_1_only() {
        assert!(podman("healthcheck run web", 1, "").podman_unhealthy());
        // "no such container" mentions nothing healthy, and is 125.
        let e = podman("healthcheck run nosuch-ctr-rt", 125,
            "Error: unable to look up nosuch-ctr-rt to perform a health check: no container with name or ID \"nosuch-ctr-rt\" found: no such container\n");
        assert!(!e.podman_unhealthy());
        assert!(e.podman_no_such_object());
    }

    /// `systemctl --user ARGS` as systemd 252 answered it (recorded as the lab user, 2026-12).
    fn systemctl(args: &str, status: i32, stderr: &str) -> ToolError {
        let mut a = vec!["--user"];
        a.extend(args.split(' '));
        ToolError::failed("systemctl", &a, Some(status), stderr)
    }

    #[test]
    fn systemd_not_loaded_from_real_answers() {
        let e = systemctl("stop --no-block nosuch-clierr-a.service nosuch-clierr-b.target", 5,
            "Failed to stop nosuch-clierr-a.service: Unit nosuch-clierr-a.service not loaded.\nFailed to stop nosuch-clierr-b.target: Unit nosuch-clierr-b.target not loaded.\n");
        assert!(e.systemd_only_not_loaded());
        assert_eq!(
            e.to_string(),
            "systemctl --user stop --no-block nosuch-clierr-a.service nosuch-clierr-b.target: \
             Failed to stop nosuch-clierr-a.service: Unit nosuch-clierr-a.service not loaded.\n\
             Failed to stop nosuch-clierr-b.target: Unit nosuch-clierr-b.target not loaded."
        );
        for e in [
            // A start of a unit that does not exist is a failure to report.
            systemctl("start --no-block nosuch-clierr-a.service", 5,
                "Failed to start nosuch-clierr-a.service: Unit nosuch-clierr-a.service not found.\n"),
            // No manager to talk to.
            systemctl("stop --no-block a.service", 1, "Failed to connect to bus: No medium found\n"),
            // One not loaded, one that failed otherwise (the exit status is the first one's).
            systemctl("stop --no-block a.service b.service", 5,
                "Failed to stop a.service: Unit a.service not loaded.\nFailed to stop b.service: Access denied\n"),
            systemctl("reset-failed nosuch-clierr-a.service", 1,
                "Failed to reset failed state of unit nosuch-clierr-a.service: Unit nosuch-clierr-a.service not loaded.\n"),
        ] {
            assert!(!e.systemd_only_not_loaded(), "{e}");
        }
    }

    #[test]
    fn run_keeps_status_output_and_bounds_time() {
        let t0 = Instant::now();
        let e = run(
            Command::new("sh").args(["-c", "sleep 5"]),
            Duration::from_millis(200),
        )
        .unwrap_err();
        assert!(matches!(e, ToolError::TimedOut { .. }), "{e}");
        assert_eq!(e.to_string(), "sh -c sleep 5 timed out after 0s");
        assert!(t0.elapsed() < Duration::from_secs(3));
        assert_eq!(
            run(
                Command::new("sh").args(["-c", "echo hi"]),
                Duration::from_secs(30)
            )
            .unwrap(),
            "hi\n"
        );
        let e = run(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            Duration::from_secs(30),
        )
        .unwrap_err();
        assert_eq!(e.status(), Some(3));
        assert_eq!(e.to_string(), "sh -c echo out; echo err >&2; exit 3: err");
        let e = run(
            &mut Command::new("/nonexistent/podman"),
            Duration::from_secs(5),
        )
        .unwrap_err();
        assert!(e.is_missing_program(), "{e}");
        assert!(
            e.to_string()
                .starts_with("cannot run /nonexistent/podman: "),
            "{e}"
        );
    }
}
