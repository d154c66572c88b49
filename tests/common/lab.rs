//! The lab as the end-to-end tests see it: the variables `ci/lab-setup` writes, and commands run as
//! the lab user (its `systemd --user` manager, rootless Podman, the registry on 127.0.0.1:5000).
//!
//! `Lab::require("name")` follows the project rule for a missing lab: it panics when
//! `RELEASE_TOOL_REQUIRE_LAB=1` (CI), otherwise prints `skipped: <why>` and returns `None`.
//! Env file: `$RELEASE_TOOL_LAB_ENV`, else `/run/release-tool-lab/env`, else `/run/lab/env`. The env
//! file names the lab's flavour (`LAB_FLAVOUR`: `podman4`, the default, or `podman5`, whose `podman` is
//! first in `LAB_PATH`): the same tests run against either.
#![allow(dead_code)] // each test binary uses its own part of this helper

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const DEFAULT_ENV_FILES: [&str; 2] = ["/run/release-tool-lab/env", "/run/lab/env"];
const BASE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The variables of the lab's env file.
#[derive(Debug, Clone)]
pub struct Lab {
    pub env_file: PathBuf,
    pub user: String,
    pub uid: u32,
    pub home: PathBuf,
    pub runtime_dir: PathBuf,
    /// `127.0.0.1:5000`
    pub registry: String,
    /// `127.0.0.1:5000/lab/busybox:1`
    pub image: String,
    /// `127.0.0.1:5000/lab/busybox:2` (same applets, other content, other digest)
    pub image_2: String,
    /// `127.0.0.1:5000/lab/unhealthy:1` (its httpd never listens; it carries a failing HEALTHCHECK)
    pub unhealthy_image: String,
    pub quadlet: PathBuf,
    pub docker_compose: PathBuf,
    /// The user's login cgroup (see `ci/lab-setup`); commands run as the user join it.
    pub cgroup: Option<PathBuf>,
    /// The same login cgroup in the legacy `name=systemd` hierarchy (Podman 5 flavour), joined too.
    pub cgroup_legacy: Option<PathBuf>,
    /// `podman4` (Podman 4.3 with Quadlet 5's units) or `podman5` (Podman 5.4 and its Quadlet).
    pub flavour: String,
    /// The lab user's `podman` (what `podman` resolves to in `path`).
    pub podman: PathBuf,
    /// PATH of commands run as the lab user (the Podman 5 flavour puts its `podman` first).
    pub path: String,
    /// Where the end-to-end harness installs the binary it tests.
    pub e2e_dir: PathBuf,
    /// Where the harness links the generator: a directory the lab user's manager runs generators from.
    pub generator_dir: PathBuf,
    /// `ci/lab-registry` of the checkout that set the lab up (start|stop|status).
    pub registry_ctl: Option<PathBuf>,
}

/// Whether the lab must be there (CI) rather than skipped.
pub fn lab_required() -> bool {
    std::env::var("RELEASE_TOOL_REQUIRE_LAB").is_ok_and(|v| v == "1")
}

/// Applies the missing-lab rule: panic under `RELEASE_TOOL_REQUIRE_LAB=1`, else print `skipped:`.
pub fn skip_or_fail(test: &str, why: &str) {
    if lab_required() {
        panic!("{test}: the lab is required (RELEASE_TOOL_REQUIRE_LAB=1) but {why}");
    }
    eprintln!("skipped: {test}: {why}");
}

/// A binary the tests need: `$env_var`, else the first of `standard` that exists; the missing-lab
/// rule applies when none does.
pub fn require_binary(test: &str, env_var: &str, standard: &[&str]) -> Option<PathBuf> {
    let from_env = std::env::var_os(env_var).map(PathBuf::from);
    let found = from_env
        .into_iter()
        .chain(standard.iter().map(PathBuf::from))
        .find(|p| p.is_file());
    if found.is_none() {
        skip_or_fail(
            test,
            &format!("{env_var} unset and none of {standard:?} exists"),
        );
    }
    found
}

/// The lab's registry (`LAB_REGISTRY` of its env file: each flavour has its own), else the
/// Podman 4 flavour's `127.0.0.1:5000`, for tests that name images before they take the lab.
pub fn registry() -> String {
    Lab::env_file()
        .and_then(|f| fs::read_to_string(f).ok())
        .and_then(|t| parse_env(&t).remove("LAB_REGISTRY"))
        .unwrap_or_else(|| "127.0.0.1:5000".to_string())
}

impl Lab {
    /// The env file to read: `$RELEASE_TOOL_LAB_ENV`, else the first default that exists.
    pub fn env_file() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("RELEASE_TOOL_LAB_ENV") {
            return Some(PathBuf::from(p));
        }
        DEFAULT_ENV_FILES
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
    }

    /// Reads the lab and checks it can be used from this process; `Err` says why not.
    pub fn load() -> Result<Lab, String> {
        let env_file = Self::env_file().ok_or_else(|| {
            format!("no lab env file (RELEASE_TOOL_LAB_ENV unset, none of {DEFAULT_ENV_FILES:?}); run `sudo ci/lab-setup`")
        })?;
        let text = fs::read_to_string(&env_file)
            .map_err(|e| format!("cannot read {}: {e}", env_file.display()))?;
        let vars = parse_env(&text);
        let get = |k: &str| {
            vars.get(k)
                .cloned()
                .ok_or_else(|| format!("{} lacks {k}", env_file.display()))
        };
        let image = get("LAB_IMAGE")?;
        let registry = get("LAB_REGISTRY")?;
        let lab = Lab {
            user: get("LAB_USER")?,
            uid: get("LAB_UID")?
                .parse()
                .map_err(|e| format!("LAB_UID in {}: {e}", env_file.display()))?,
            home: get("LAB_HOME")?.into(),
            runtime_dir: get("LAB_RUNTIME_DIR")?.into(),
            image_2: vars
                .get("LAB_IMAGE_2")
                .cloned()
                .unwrap_or_else(|| format!("{registry}/lab/busybox:2")),
            unhealthy_image: vars
                .get("LAB_UNHEALTHY_IMAGE")
                .cloned()
                .unwrap_or_else(|| format!("{registry}/lab/unhealthy:1")),
            image,
            registry,
            quadlet: get("QUADLET")?.into(),
            docker_compose: get("DOCKER_COMPOSE")?.into(),
            cgroup: vars.get("LAB_CGROUP").map(PathBuf::from),
            cgroup_legacy: vars
                .get("LAB_CGROUP_LEGACY")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            flavour: vars
                .get("LAB_FLAVOUR")
                .cloned()
                .unwrap_or_else(|| "podman4".into()),
            podman: vars
                .get("LAB_PODMAN")
                .map_or_else(|| PathBuf::from("/usr/bin/podman"), PathBuf::from),
            path: vars
                .get("LAB_PATH")
                .cloned()
                .unwrap_or_else(|| BASE_PATH.into()),
            e2e_dir: vars.get("LAB_E2E_DIR").map_or_else(
                || PathBuf::from("/usr/local/libexec/release-tool-e2e"),
                PathBuf::from,
            ),
            // (set-ups older than the package flavour linked the Podman 4 build here)
            generator_dir: vars
                .get("LAB_GENERATOR_DIR")
                .filter(|d| !d.is_empty())
                .map_or_else(
                    || PathBuf::from("/etc/systemd/user-generators"),
                    PathBuf::from,
                ),
            registry_ctl: vars.get("LAB_REGISTRY_CTL").map(PathBuf::from),
            env_file,
        };
        let me = current_uid();
        if me != 0 && me != lab.uid {
            return Err(format!(
                "running as uid {me}: the lab tests run as root (or as {})",
                lab.user
            ));
        }
        let probe = lab.systemctl(&["show", "-p", "Version"]);
        if !probe.status.success() {
            return Err(format!(
                "the systemd --user manager of {} does not answer: {}",
                lab.user,
                String::from_utf8_lossy(&probe.stderr).trim()
            ));
        }
        Ok(lab)
    }

    /// The lab, or `None` after applying the missing-lab rule.
    pub fn require(test: &str) -> Option<Lab> {
        match Self::load() {
            Ok(lab) => Some(lab),
            Err(why) => {
                skip_or_fail(test, &why);
                None
            }
        }
    }

    /// Whether this is the Podman 5 flavour (for assertions on what legitimately differs).
    pub fn is_podman5(&self) -> bool {
        self.flavour == "podman5"
    }

    /// A command running `program` as the lab user: its HOME, XDG_RUNTIME_DIR and login cgroup, a
    /// clean environment (add more with `.env()`), the caller's working directory.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = if current_uid() == self.uid {
            Command::new(program)
        } else {
            let join: Vec<String> = [&self.cgroup, &self.cgroup_legacy]
                .into_iter()
                .flatten()
                .filter(|cg| cg.is_dir())
                .map(|cg| cg.join("cgroup.procs").display().to_string())
                .collect();
            // The shell joins the login cgroup(s), then becomes runuser, which keeps the (cleared and
            // rebuilt) environment and sets HOME, USER, LOGNAME and SHELL for the user.
            let mut c = Command::new("/bin/sh");
            c.arg("-c")
                .arg(r#"IFS=:; for f in $0; do echo $$ >"$f"; done; exec "$@""#)
                .arg(join.join(":"))
                .args(["runuser", "-u", &self.user, "--"])
                .arg(program);
            c
        };
        // PODMAN_IGNORE_CGROUPSV1_WARNING: Podman 5 warns on every command about this host's cgroup v1
        // controllers; what is tested does not depend on it.
        cmd.env_clear()
            .env("PATH", &self.path)
            .env("PODMAN_IGNORE_CGROUPSV1_WARNING", "1")
            .env("HOME", &self.home)
            .env("USER", &self.user)
            .env("LOGNAME", &self.user)
            .env("XDG_RUNTIME_DIR", &self.runtime_dir)
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                format!("unix:path={}/bus", self.runtime_dir.display()),
            )
            .stdin(Stdio::null());
        cmd
    }

    /// The release-tool binary of this build, run as the lab user.
    pub fn release_tool(&self) -> Command {
        self.command(env!("CARGO_BIN_EXE_release-tool"))
    }

    /// Copies the tree `from` into `to` (created), everything owned by the lab user; e.g. `examples/`
    /// into a `tempdir` before a test turns it into a git repo and deploys it.
    pub fn copy_tree(&self, from: &Path, to: &Path) {
        self.create_dirs(to);
        let status = Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", from.display()))
            .arg(to)
            .status()
            .expect("run cp");
        assert!(
            status.success(),
            "cp -a {} {}",
            from.display(),
            to.display()
        );
        self.chown(to);
    }

    /// Runs `argv` as the lab user and returns its output.
    pub fn run(&self, argv: &[&str]) -> Output {
        let (program, args) = argv.split_first().expect("run needs a program");
        let mut cmd = self.command(program);
        cmd.args(args);
        output_of(&mut cmd)
    }

    /// Runs `argv` as the lab user; panics with its stderr unless it succeeds; returns its stdout.
    pub fn run_ok(&self, argv: &[&str]) -> String {
        checked(argv, self.run(argv))
    }

    /// `systemctl --user ARGS` for the lab user.
    pub fn systemctl(&self, args: &[&str]) -> Output {
        let mut argv = vec!["systemctl", "--user"];
        argv.extend_from_slice(args);
        self.run(&argv)
    }

    pub fn systemctl_ok(&self, args: &[&str]) -> String {
        let mut argv = vec!["systemctl", "--user"];
        argv.extend_from_slice(args);
        self.run_ok(&argv)
    }

    /// `podman ARGS` as the lab user, checked; returns stdout.
    pub fn podman_ok(&self, args: &[&str]) -> String {
        let mut argv = vec!["podman"];
        argv.extend_from_slice(args);
        self.run_ok(&argv)
    }

    /// Where Quadlet (as the user generator) reads the user's unit files.
    pub fn quadlet_dir(&self) -> PathBuf {
        self.home.join(".config/containers/systemd")
    }

    /// Where the user's own systemd units go.
    pub fn user_unit_dir(&self) -> PathBuf {
        self.home.join(".config/systemd/user")
    }

    /// Writes a file (creating parents) and gives it and its new parents to the lab user.
    pub fn write_file(&self, path: &Path, contents: impl AsRef<[u8]>) {
        self.create_dirs(path.parent().expect("a file path has a parent"));
        fs::write(path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        self.chown(path);
    }

    /// `mkdir -p`, each directory it creates owned by the lab user.
    pub fn create_dirs(&self, dir: &Path) {
        let mut missing = Vec::new();
        let mut d = dir;
        while !d.exists() {
            missing.push(d.to_path_buf());
            d = d.parent().unwrap_or(Path::new("/"));
        }
        fs::create_dir_all(dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        for m in missing {
            self.chown(&m);
        }
    }

    /// Gives `path` (recursively) to the lab user.
    pub fn chown(&self, path: &Path) {
        if current_uid() == self.uid {
            return;
        }
        let gid = fs::metadata(&self.home)
            .map(|m| std::os::unix::fs::MetadataExt::gid(&m))
            .unwrap_or(self.uid);
        let status = Command::new("chown")
            .arg("-R")
            .arg(format!("{}:{gid}", self.uid))
            .arg(path)
            .status()
            .expect("run chown");
        assert!(status.success(), "chown {} failed", path.display());
    }

    /// A fresh directory under the lab user's home, owned by it, removed when dropped.
    pub fn tempdir(&self, prefix: &str) -> tempfile::TempDir {
        let base = self.home.join("release-tool-tests");
        self.create_dirs(&base);
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(&base)
            .unwrap_or_else(|e| panic!("tempdir in {}: {e}", base.display()));
        self.chown(dir.path());
        dir
    }

    /// Journal lines (message text only) with `SYSLOG_IDENTIFIER=identifier` (Quadlet units set it to
    /// the unit name) logged by the lab user, read as root from the system journal (shared by both
    /// flavours' users).
    pub fn journal_by_identifier(&self, identifier: &str) -> String {
        journal(&["-t", identifier, &format!("_UID={}", self.uid)])
    }

    /// Journal lines of one user unit (`_SYSTEMD_USER_UNIT=`) of the lab user, read as root.
    pub fn journal_of_user_unit(&self, unit: &str) -> String {
        journal(&[
            &format!("_SYSTEMD_USER_UNIT={unit}"),
            &format!("_UID={}", self.uid),
        ])
    }

    /// `ci/lab-registry start|stop|status`; `true` when it exited 0.
    pub fn registry_ctl(&self, action: &str) -> bool {
        let ctl = self
            .registry_ctl
            .clone()
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("ci/lab-registry"));
        let mut cmd = Command::new(ctl);
        // this flavour's registry (each flavour has its own: see ci/lab-setup)
        cmd.arg(action).env("LAB_REGISTRY", &self.registry);
        // The registry outlives this test: it must not inherit our descriptors, or it holds the
        // lab lock (`flock /tmp/rt-lab.lock cargo test ...` passes its fd down) until it stops.
        // SAFETY: close(2) is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                for fd in 3..1024 {
                    libc::close(fd);
                }
                Ok(())
            });
        }
        cmd.status().is_ok_and(|s| s.success())
    }
}

fn journal(filter: &[&str]) -> String {
    let mut cmd = Command::new("journalctl");
    cmd.args(["--no-pager", "-q", "-o", "cat"]).args(filter);
    String::from_utf8_lossy(&output_of(&mut cmd).stdout).into_owned()
}

/// Parses `KEY=value` lines (the lab env file: no quoting, `#` comments).
pub fn parse_env(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

pub fn current_uid() -> u32 {
    // No libc in dev-dependencies: the owner of /proc/self is this process's uid.
    fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap_or(u32::MAX)
}

fn output_of(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn checked(argv: &[&str], out: Output) -> String {
    assert!(
        out.status.success(),
        "{argv:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls `check` every 200 ms until it returns `Some` or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if Instant::now() >= end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// `GET path` on 127.0.0.1:port; the response body when the status is 200.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let (head, body) = resp.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.")
        .then_some(())
        .filter(|_| head.split_whitespace().nth(1) == Some("200"))?;
    Some(body.to_string())
}
