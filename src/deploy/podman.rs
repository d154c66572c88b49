//! The real container engine: the `podman` command (rootless, the invoking user's).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use super::effects::{ContainerEngine, ContainerState, ListedContainer};
use super::tool::{self, ToolError};

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

    pub(super) fn run(&self, args: &[&str], timeout: Duration) -> Result<String, ToolError> {
        tool::run(Command::new(&self.bin).args(args), timeout)
    }

    /// `podman KIND rm NAME`, where an absent object counts as removed. Podman 4.3 has no
    /// `--ignore` for networks and secrets, so a failed removal is checked with `inspect`: only an
    /// object that still exists makes it an error.
    fn remove_object(&self, kind: &str, name: &str) -> Result<(), ToolError> {
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
    fn version(&self) -> Result<String, ToolError> {
        let out = self.run(&["--version"], Duration::from_secs(20))?;
        Ok(out.trim().rsplit(' ').next().unwrap_or("").to_string())
    }

    fn pull(&self, image: &str, timeout: Duration) -> Result<(), ToolError> {
        self.run(&["pull", "--quiet", image], timeout).map(|_| ())
    }

    fn image_digest(&self, image: &str) -> Result<String, ToolError> {
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

    fn create_secret(&self, name: &str, file: &Path) -> Result<(), ToolError> {
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

    fn healthcheck(&self, container: &str, timeout: Duration) -> Result<bool, ToolError> {
        // "unhealthy" is an answer; anything else (no such container, no healthcheck) is an error.
        match self.run(&["healthcheck", "run", container], timeout) {
            Ok(_) => Ok(true),
            Err(e) if e.podman_unhealthy() => Ok(false),
            Err(e) => Err(e),
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

    fn containers_with_label(&self, key: &str, value: &str) -> Result<Vec<String>, ToolError> {
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

    fn remove_container(&self, name: &str) -> Result<(), ToolError> {
        // `rm -f` stops with the container's own stop signal and timeout first; `-i`: gone is fine.
        // The bound covers the longest stop grace period plus the removal.
        self.run(
            &["rm", "--force", "--ignore", name],
            Duration::from_secs(300),
        )
        .map(|_| ())
    }

    fn remove_network(&self, name: &str) -> Result<(), ToolError> {
        self.remove_object("network", name)
    }

    fn remove_secret(&self, name: &str) -> Result<(), ToolError> {
        self.remove_object("secret", name)
    }

    fn remove_volume(&self, name: &str) -> Result<(), ToolError> {
        self.remove_object("volume", name)
    }

    fn list_unit_containers(&self) -> Result<Vec<ListedContainer>, ToolError> {
        let args = [
            "ps",
            "-a",
            "--filter",
            "label=PODMAN_SYSTEMD_UNIT",
            "--format",
            "json",
        ];
        let out = self.run(&args, SHORT)?;
        parse_ps(&out).map_err(|reason| ToolError::Output {
            program: self.bin.display().to_string(),
            args: args.iter().map(|a| a.to_string()).collect(),
            reason,
        })
    }
}

/// `podman ps -a --format json` → the containers with their unit label.
fn parse_ps(json: &str) -> Result<Vec<ListedContainer>, String> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
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
}
