//! The fault matrix's fixture: a small repo of two stacks on the lab, and the checks that the host
//! runs one consistent generation and lost nothing.
//!
//! `web` has one container (`app`, busybox httpd with a health check, a named volume holding a
//! file written after the first deploy, a `MARK` variable that each change sets); `worker` has one
//! loop. Both stop with SIGKILL so restarts are quick.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::harness::lab::{text, Lab};

/// What `web/compose.yaml` holds: the mark, and how `app` behaves.
#[derive(Debug, Clone)]
pub struct Web {
    pub mark: String,
    /// `app`'s command (JSON array text).
    pub command: String,
    /// `app`'s health check test (JSON array text).
    pub health: String,
    pub image: String,
}

pub const HTTPD: &str = r#"["httpd", "-f", "-p", "8080", "-h", "/www"]"#;
pub const HEALTHY: &str = r#"["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]"#;

impl Web {
    pub fn good(mark: &str) -> Web {
        Web {
            mark: mark.to_string(),
            command: HTTPD.to_string(),
            health: HEALTHY.to_string(),
            image: "${REGISTRY}/lab/busybox:1".to_string(),
        }
    }

    fn compose(&self) -> String {
        format!(
            "services:\n  app:\n    image: {}\n    command: {}\n    stop_signal: SIGKILL\n    \
             environment:\n      MARK: \"{}\"\n    volumes:\n      - data:/data\n      \
             - ./conf/index.html:/www/index.html:ro\n    healthcheck:\n      test: {}\n      \
             interval: 1s\n      timeout: 2s\n      retries: 2\n      start_period: 1s\n\
             volumes:\n  data:\n",
            self.image, self.command, self.mark, self.health
        )
    }
}

const WORKER: &str = "services:\n  loop:\n    image: ${REGISTRY}/lab/busybox:1\n    \
    command: [\"sh\", \"-c\", \"while true; do sleep 1; done\"]\n    stop_signal: SIGKILL\n";

/// The containers' names (docker compose's `<project>-<service>-1`, the translator's default).
pub const APP: &str = "web-app-1";
pub const WORKER_LOOP: &str = "worker-loop-1";

/// The file kept in `app`'s named volume: it must survive every fault.
pub const KEEP: &str = "/data/keep";

pub struct Fixture {
    pub lab: Lab,
    pub repo: PathBuf,
    pub name: String,
}

/// The host as the checks see it after a fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub current: Option<u64>,
    /// (container id, start time) of `app` and `loop`, when running.
    pub app: Option<(String, String)>,
    pub worker: Option<(String, String)>,
}

pub fn killed(o: &Output) -> bool {
    use std::os::unix::process::ExitStatusExt;
    // runuser reports a child killed by a signal as 128 + the signal.
    o.status.signal() == Some(9) || o.status.code() == Some(128 + 9)
}

impl Fixture {
    /// The lab, reset, with the two stacks committed (`web` marked `mark`) and deployed, and the
    /// file in `app`'s volume written. None: skipped (no lab).
    pub fn deployed(name: &str, mark: &str) -> Option<Fixture> {
        let f = Self::new(name)?;
        f.set_web(&Web::good(mark), "first");
        f.deploy_ok(&[]);
        assert_eq!(f.container_name("web-app.service"), APP);
        f.lab.ok(
            "podman",
            &["exec", APP, "sh", "-c", &format!("echo kept >{KEEP}")],
        );
        Some(f)
    }

    /// The lab, reset, with the repo committed but nothing deployed.
    pub fn new(name: &str) -> Option<Fixture> {
        let lab = Lab::get(name)?;
        lab.reset();
        let repo = lab.repo(name);
        let _ = std::fs::remove_dir_all(repo.join("services"));
        lab.write(&repo, "services/worker/compose.yaml", WORKER);
        lab.write(&repo, "services/web/conf/index.html", "<p>faults</p>\n");
        Some(Fixture {
            lab,
            repo,
            name: name.to_string(),
        })
    }

    pub fn set_web(&self, web: &Web, msg: &str) {
        self.lab
            .write(&self.repo, "services/web/compose.yaml", &web.compose());
        self.lab.commit(&self.repo, msg);
    }

    pub fn write(&self, rel: &str, contents: &str) {
        self.lab.write(&self.repo, rel, contents);
    }

    pub fn commit(&self, msg: &str) {
        self.lab.commit(&self.repo, msg);
    }

    /// `deploy --repo … --timeout 20 --retries 1` plus `extra` (later flags win).
    pub fn deploy_cmd(&self, extra: &[&str]) -> Command {
        let r = self.repo.to_string_lossy().into_owned();
        let bin = self.lab.bin.to_string_lossy().into_owned();
        let mut args = vec!["deploy", "--repo", &r, "--timeout", "20", "--retries", "1"];
        args.extend_from_slice(extra);
        let mut c = self.lab.cmd(&bin, &args);
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        c
    }

    pub fn deploy(&self, extra: &[&str]) -> Output {
        self.deploy_cmd(extra).output().expect("run deploy")
    }

    pub fn deploy_ok(&self, extra: &[&str]) -> Output {
        let o = self.deploy(extra);
        assert!(o.status.success(), "{}: deploy: {}", self.name, text(&o));
        o
    }

    /// A deploy with `RELEASE_TOOL_FAULT=kill@point`.
    pub fn deploy_killed_at(&self, point: &str, extra: &[&str]) -> Output {
        self.deploy_cmd(extra)
            .env("RELEASE_TOOL_FAULT", format!("kill@{point}"))
            .output()
            .expect("run deploy")
    }

    pub fn tool(&self, args: &[&str]) -> Output {
        self.lab.tool(args)
    }

    pub fn state(&self) -> &Path {
        &self.lab.state
    }

    pub fn current(&self) -> Option<u64> {
        let target = std::fs::read_link(self.state().join("current")).ok()?;
        target.file_name()?.to_str()?.parse().ok()
    }

    /// The highest generation number in the store.
    pub fn newest(&self) -> u64 {
        std::fs::read_dir(self.state().join("generations"))
            .map(|d| {
                d.flatten()
                    .filter_map(|e| e.file_name().to_str()?.parse().ok())
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0)
    }

    pub fn manifest(&self, gen: u64) -> serde_json::Value {
        let p = self
            .state()
            .join(format!("generations/{gen}/manifest.json"));
        let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    pub fn status_rows(&self) -> Vec<serde_json::Value> {
        let o = self.tool(&["status", "--format", "json"]);
        assert!(o.status.success(), "status: {}", text(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout)
            .expect("status json")
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub fn container_name(&self, unit: &str) -> String {
        self.status_rows()
            .iter()
            .find(|r| r["unit"] == unit)
            .and_then(|r| r["container_name"].as_str())
            .unwrap_or_else(|| panic!("{unit} in status"))
            .to_string()
    }

    pub fn host(&self) -> Host {
        Host {
            current: self.current(),
            app: self.lab.container(APP),
            worker: self.lab.container(WORKER_LOOP),
        }
    }

    /// `MARK` and the image of the running `app` container.
    pub fn app_config(&self, name: &str) -> (String, String) {
        let out = self.lab.ok(
            "podman",
            &[
                "container",
                "inspect",
                "--format",
                "{{range .Config.Env}}{{println .}}{{end}}IMAGE={{.ImageName}}",
                name,
            ],
        );
        let get = |k: &str| {
            out.lines()
                .find_map(|l| l.strip_prefix(k))
                .unwrap_or_default()
                .to_string()
        };
        (get("MARK="), get("IMAGE="))
    }

    /// The host runs generation `gen` whole and consistently, `app` with `mark` and the lab image,
    /// the volume's file is still there, and the state directory holds no half-done work.
    pub fn assert_consistent(&self, gen: u64, mark: &str, what: &str) {
        self.assert_consistent_except(gen, mark, &[], what)
    }

    /// `assert_consistent`, with the generations `damaged` (by the test) left unchecked.
    pub fn assert_consistent_except(&self, gen: u64, mark: &str, damaged: &[u64], what: &str) {
        let ctx = format!("{}: {what}", self.name);
        assert_eq!(self.current(), Some(gen), "{ctx}: current generation");
        let st = self.state();
        assert!(
            !st.join("intent.json").exists(),
            "{ctx}: intent.json left behind"
        );
        for e in std::fs::read_dir(st.join("generations")).unwrap().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            assert!(!n.starts_with('.'), "{ctx}: leftover {n}");
            let id: u64 = n.parse().unwrap_or_else(|_| panic!("{ctx}: stray {n}"));
            if damaged.contains(&id) {
                continue;
            }
            let m = self.manifest(id);
            assert_eq!(m["id"], id, "{ctx}: manifest of {id}");
        }
        let outcome = self.manifest(gen)["outcome"].clone();
        assert!(
            outcome == "deployed" || outcome == "restored",
            "{ctx}: outcome of {gen}: {outcome}"
        );
        let rows = self.status_rows();
        assert_eq!(rows.len(), 2, "{ctx}: {rows:?}");
        for r in &rows {
            assert_eq!(r["generation"], gen, "{ctx}: status {r}");
            assert_eq!(r["active_state"], "active", "{ctx}: status {r}");
            let name = r["container_name"].as_str().unwrap_or_default();
            assert!(
                self.lab.container(name).is_some(),
                "{ctx}: {name} not running"
            );
        }
        let app = self.container_name("web-app.service");
        let (m, image) = self.app_config(&app);
        assert_eq!(m, mark, "{ctx}: the running app's MARK");
        // Generations pin images by digest: busybox:1's, by name or by that digest.
        let digest = self.lab.ok(
            "podman",
            &[
                "image",
                "inspect",
                "--format",
                "{{.Digest}}",
                &self.lab.lab.image,
            ],
        );
        let digest = digest.trim();
        assert!(
            image.contains("lab/busybox:1")
                || (!digest.is_empty() && image.ends_with(&format!("lab/busybox@{digest}"))),
            "{ctx}: image {image} is not busybox:1 ({digest})"
        );
        // The loaded unit is the current generation's (a daemon-reload would change nothing).
        let unit = text(&self.lab.systemctl(&["cat", "web-app.service"]));
        assert!(
            unit.contains(&format!("MARK={mark}")),
            "{ctx}: loaded unit lacks MARK={mark}:\n{unit}"
        );
        let kept = self.lab.run("podman", &["exec", &app, "cat", KEEP]);
        assert!(
            String::from_utf8_lossy(&kept.stdout).contains("kept"),
            "{ctx}: the volume lost {KEEP}: {}",
            text(&kept)
        );
        let h = self.tool(&["history", "--format", "json"]);
        assert!(h.status.success(), "{ctx}: history: {}", text(&h));
    }

    /// Polls `f` for up to `secs` seconds.
    pub fn wait_for(&self, secs: u64, f: impl FnMut() -> bool) -> bool {
        self.lab.wait_for(Duration::from_secs(secs), f)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.lab.reset();
    }
}
