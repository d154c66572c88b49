//! The real container engine: the `podman` command (rootless, the invoking user's).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::effects::{ContainerEngine, ContainerState, ListedContainer};

/// Runs a command, killing it after `timeout`; returns (success, stdout, stderr).
pub fn run_with_timeout(
    cmd: &mut Command,
    timeout: Duration,
) -> Result<(bool, String, String), String> {
    let what = format!("{:?}", cmd.get_program());
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    // Drain the pipes in threads so a chatty child cannot block on a full pipe.
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_string(&mut s);
        }
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{what} timed out after {}s", timeout.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for {what}: {e}")),
        }
    };
    let stdout = t_out.join().unwrap_or_default();
    let stderr = t_err.join().unwrap_or_default();
    Ok((status.success(), stdout, stderr))
}

pub struct PodmanCli {
    pub bin: PathBuf,
    replace_supported: OnceLock<bool>,
}

impl Default for PodmanCli {
    fn default() -> Self {
        PodmanCli::new(PathBuf::from("podman"))
    }
}

impl PodmanCli {
    pub fn new(bin: PathBuf) -> PodmanCli {
        PodmanCli {
            bin,
            replace_supported: OnceLock::new(),
        }
    }

    fn run(&self, args: &[&str], timeout: Duration) -> Result<String, String> {
        let (ok, out, err) = run_with_timeout(Command::new(&self.bin).args(args), timeout)?;
        if ok {
            Ok(out)
        } else {
            Err(format!("podman {}: {}", args.join(" "), err.trim()))
        }
    }

    /// `podman KIND rm NAME`, where an absent object counts as removed. Podman 4.3 has no
    /// `--ignore` for networks and secrets, so a failed removal is checked with `inspect`: only an
    /// object that still exists makes it an error.
    fn remove_object(&self, kind: &str, name: &str) -> Result<(), String> {
        match self.run(&[kind, "rm", name], SHORT) {
            Ok(_) => Ok(()),
            Err(e) => match self.run(&[kind, "inspect", name], SHORT) {
                Ok(_) => Err(e),
                Err(_) => Ok(()),
            },
        }
    }

    /// `podman secret create --replace` exists from Podman 4.7 on; older ones need rm + create.
    fn supports_replace(&self) -> bool {
        *self.replace_supported.get_or_init(|| {
            self.run(&["secret", "create", "--help"], Duration::from_secs(10))
                .map(|h| h.contains("--replace"))
                .unwrap_or(false)
        })
    }
}

const SHORT: Duration = Duration::from_secs(30);

impl ContainerEngine for PodmanCli {
    fn version(&self) -> Result<String, String> {
        let out = self.run(&["--version"], Duration::from_secs(20))?;
        Ok(out.trim().rsplit(' ').next().unwrap_or("").to_string())
    }

    fn pull(&self, image: &str, timeout: Duration) -> Result<(), String> {
        self.run(&["pull", "--quiet", image], timeout).map(|_| ())
    }

    fn image_digest(&self, image: &str) -> Result<String, String> {
        let out = self.run(
            &["image", "inspect", "--format", "{{.Digest}} {{.Id}}", image],
            SHORT,
        )?;
        let mut parts = out.split_whitespace();
        let digest = parts.next().unwrap_or("");
        let id = parts.next().unwrap_or("");
        Ok(if digest.starts_with("sha256:") {
            digest.to_string()
        } else {
            format!("id:{id}")
        })
    }

    fn create_secret(&self, name: &str, file: &Path) -> Result<(), String> {
        let file = file.to_string_lossy();
        if self.supports_replace() {
            return self
                .run(&["secret", "create", "--replace", name, &file], SHORT)
                .map(|_| ());
        }
        // Absent is fine: the first deploy has nothing to remove.
        let _ = self.run(&["secret", "rm", name], SHORT);
        self.run(&["secret", "create", name, &file], SHORT)
            .map(|_| ())
    }

    fn healthcheck(&self, container: &str, timeout: Duration) -> Result<bool, String> {
        let (ok, out, err) = run_with_timeout(
            Command::new(&self.bin).args(["healthcheck", "run", container]),
            timeout,
        )?;
        if ok {
            return Ok(true);
        }
        // "unhealthy" is an answer; anything else (no such container, no healthcheck) is an error.
        let text = format!("{out}{err}");
        if text.contains("unhealthy") {
            Ok(false)
        } else {
            Err(format!(
                "podman healthcheck run {container}: {}",
                text.trim()
            ))
        }
    }

    fn inspect(&self, container: &str) -> Option<ContainerState> {
        let out = self.run(&["container", "inspect", container], SHORT).ok()?;
        let v: serde_json::Value = serde_json::from_str(&out).ok()?;
        let c = v.get(0)?;
        let s =
            |v: Option<&serde_json::Value>| v.and_then(|x| x.as_str()).unwrap_or("").to_string();
        let state = c.get("State");
        let health = state
            .and_then(|st| st.get("Health").or_else(|| st.get("Healthcheck")))
            .and_then(|h| h.get("Status"));
        Some(ContainerState {
            id: s(c.get("Id")),
            started_at: s(state.and_then(|st| st.get("StartedAt"))),
            status: s(state.and_then(|st| st.get("Status"))),
            health: s(health),
            image_digest: s(c.get("ImageDigest")),
        })
    }

    fn containers_with_label(&self, key: &str, value: &str) -> Result<Vec<String>, String> {
        let filter = format!("label={key}={value}");
        let out = self.run(
            &["ps", "--all", "--filter", &filter, "--format", "{{.Names}}"],
            SHORT,
        )?;
        Ok(out
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect())
    }

    fn remove_container(&self, name: &str) -> Result<(), String> {
        // `rm -f` stops with the container's own stop signal and timeout first; `-i`: gone is fine.
        // The bound covers the longest stop grace period plus the removal.
        self.run(
            &["rm", "--force", "--ignore", name],
            Duration::from_secs(300),
        )
        .map(|_| ())
    }

    fn remove_network(&self, name: &str) -> Result<(), String> {
        self.remove_object("network", name)
    }

    fn remove_secret(&self, name: &str) -> Result<(), String> {
        self.remove_object("secret", name)
    }

    fn remove_volume(&self, name: &str) -> Result<(), String> {
        self.remove_object("volume", name)
    }

    fn list_unit_containers(&self) -> Result<Vec<ListedContainer>, String> {
        let out = self.run(
            &[
                "ps",
                "-a",
                "--filter",
                "label=PODMAN_SYSTEMD_UNIT",
                "--format",
                "json",
            ],
            SHORT,
        )?;
        parse_ps(&out)
    }
}

/// `podman ps -a --format json` → the containers with their unit label.
fn parse_ps(json: &str) -> Result<Vec<ListedContainer>, String> {
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("podman ps: unreadable output: {e}"))?;
    let rows = v.as_array().map(Vec::as_slice).unwrap_or_default();
    Ok(rows
        .iter()
        .filter_map(|c| {
            let name = c
                .get("Names")
                .and_then(|n| n.get(0).or(Some(n)))
                .and_then(|n| n.as_str())?;
            let unit = c
                .get("Labels")
                .and_then(|l| l.get("PODMAN_SYSTEMD_UNIT"))
                .and_then(|u| u.as_str())
                .unwrap_or("");
            let status = c.get("Status").and_then(|s| s.as_str()).unwrap_or("");
            Some(ListedContainer {
                name: name.to_string(),
                unit: unit.to_string(),
                status: status.to_string(),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ps_json_names_the_unit() {
        let l = parse_ps(
            r#"[{"Names":["web-api-1"],"Labels":{"PODMAN_SYSTEMD_UNIT":"web-api.service"},"Status":"Up 2 minutes (unhealthy)"},
                {"Names":["other"],"Labels":null,"Status":"Exited (0)"}]"#,
        )
        .unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].name, "web-api-1");
        assert_eq!(l[0].unit, "web-api.service");
        assert!(l[0].status.contains("unhealthy"));
        assert_eq!(l[1].unit, "");
        assert!(parse_ps("not json").is_err());
    }

    #[test]
    fn timeout_kills_the_child() {
        let t0 = Instant::now();
        let r = run_with_timeout(
            Command::new("sh").args(["-c", "sleep 5"]),
            Duration::from_millis(200),
        );
        assert!(r.unwrap_err().contains("timed out"));
        assert!(t0.elapsed() < Duration::from_secs(3));
        let (ok, out, _) =
            run_with_timeout(Command::new("sh").args(["-c", "echo hi"]), SHORT).unwrap();
        assert!(ok);
        assert_eq!(out, "hi\n");
    }
}
