//! The end-to-end harness: the lab's real `systemd --user` manager, rootless podman and quadlet,
//! driven as the lab user from a test running as root. Reads the lab's env file
//! (`$RELEASE_TOOL_LAB_ENV`, else `/run/release-tool-lab/env`, else `/run/lab/env`). Without a lab
//! the tests print `skipped: …` and pass, unless `RELEASE_TOOL_REQUIRE_LAB=1`.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::common::lab::{skip_or_fail, Lab as CommonLab};

/// One systemd manager: the scenarios run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Every stack name the scenarios deploy: `reset` stops their units and removes their containers
/// and container-id files. A name missing here outlives its scenario: op05's `slow` stack was, and
/// the `slow-app.cid` it left on Podman 4.3 made the next run's first start fail ("container id
/// file exists") on a lab that was not set up again in between.
pub const STACKS: &[&str] = &["web", "worker", "extra", "slow"];

/// The lab (`tests/common/lab.rs`), serialized, with our binary installed for the lab user.
pub struct Lab {
    pub lab: CommonLab,
    pub user: String,
    pub home: PathBuf,
    pub runtime: PathBuf,
    /// The binary as installed for the lab user (and linked as the generator).
    pub bin: PathBuf,
    pub state: PathBuf,
    /// The scenario's name and start, for `target/tmp/lab-times.tsv` (see `Drop`).
    test: String,
    started: Instant,
    _serial: MutexGuard<'static, ()>,
}

/// Where each scenario's wall time is appended (flavour, test, seconds): `ci/test` prints the slowest,
/// so a CI log shows where the lab tests spend their time.
pub fn times_file() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("lab-times.tsv")
}

impl Drop for Lab {
    fn drop(&mut self) {
        use std::io::Write;
        let line = format!(
            "{}\t{}\t{:.1}\n",
            self.lab.flavour,
            self.test,
            self.started.elapsed().as_secs_f64()
        );
        if let Ok(mut f) = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(times_file())
        {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

/// Sets `NAME=value` in a dotenv file that has a `NAME=` line.
fn set_var(file: &Path, name: &str, value: &str) {
    let text = fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let prefix = format!("{name}=");
    assert!(
        text.lines().any(|l| l.starts_with(&prefix)),
        "{} has no {prefix} line",
        file.display()
    );
    let text: String = text
        .lines()
        .map(|l| match l.starts_with(&prefix) {
            true => format!("{prefix}{value}\n"),
            false => format!("{l}\n"),
        })
        .collect();
    fs::write(file, text).unwrap();
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

impl Lab {
    /// The lab, serialized, with the binary installed and the generator linked; None to skip.
    pub fn get(test: &str) -> Option<Lab> {
        let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let lab = CommonLab::require(test)?;
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            skip_or_fail(
                test,
                "the end-to-end tests run as root (they install the generator)",
            );
            return None;
        }
        let mut e = Lab {
            user: lab.user.clone(),
            home: lab.home.clone(),
            runtime: lab.runtime_dir.clone(),
            state: lab.home.join(".local/state/release-tool"),
            lab,
            bin: PathBuf::new(),
            test: test.to_string(),
            started: Instant::now(),
            _serial: serial,
        };
        e.bin = e.install();
        Some(e)
    }

    /// A command run as the lab user with its session environment.
    pub fn cmd(&self, prog: &str, args: &[&str]) -> Command {
        let mut c = self.lab.command(prog);
        c.args(args).current_dir("/");
        c
    }

    pub fn run(&self, prog: &str, args: &[&str]) -> Output {
        self.cmd(prog, args).output().expect("run as the lab user")
    }

    /// Runs and insists on success; returns stdout.
    pub fn ok(&self, prog: &str, args: &[&str]) -> String {
        let o = self.run(prog, args);
        assert!(o.status.success(), "{prog} {args:?} failed: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    pub fn systemctl(&self, args: &[&str]) -> Output {
        self.lab.systemctl(args)
    }

    /// Copies the test binary where the lab user can run it and links the generator
    /// (`LAB_GENERATOR_DIR/release-tool-generator`: each flavour's manager looks there first, so
    /// the flavours never run each other's build, nor shadow an installed package's generator).
    fn install(&self) -> PathBuf {
        let dir = self.lab.e2e_dir.clone();
        fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("release-tool");
        let tmp = dir.join(".release-tool.new");
        fs::copy(env!("CARGO_BIN_EXE_release-tool"), &tmp).unwrap();
        fs::rename(&tmp, &bin).unwrap();
        let gens = self.lab.generator_dir.clone();
        fs::create_dir_all(&gens).unwrap();
        let link = gens.join("release-tool-generator");
        let _ = fs::remove_file(&link);
        std::os::unix::fs::symlink(&bin, &link).unwrap();
        bin
    }

    /// The release-tool binary as the lab user.
    pub fn tool(&self, args: &[&str]) -> Output {
        let bin = self.bin.to_string_lossy().into_owned();
        self.run(&bin, args)
    }

    /// Stops and forgets everything the scenarios may have left: units, containers, state, repos.
    pub fn reset(&self) {
        let _ = self.systemctl(&[
            "stop",
            "release-tool-deploy.path",
            "release-tool-deploy.service",
        ]);
        let _ = self.systemctl(&["disable", "release-tool-deploy.path"]);
        for f in ["release-tool-deploy.path", "release-tool-deploy.service"] {
            let _ = fs::remove_file(self.home.join(".config/systemd/user").join(f));
            let _ = fs::remove_dir_all(
                self.home
                    .join(".config/systemd/user")
                    .join(format!("{f}.d")),
            );
        }
        let mut units: Vec<String> = STACKS.iter().map(|s| format!("{s}.target")).collect();
        units.extend(STACKS.iter().map(|s| format!("{s}-*")));
        let mut args = vec!["stop"];
        args.extend(units.iter().map(String::as_str));
        let _ = self.systemctl(&args);
        let names = self.ok("podman", &["ps", "-a", "--format", "{{.Names}}"]);
        for n in names.lines() {
            if STACKS
                .iter()
                .any(|s| n.starts_with(&format!("systemd-{s}-")) || n.starts_with(&format!("{s}-")))
            {
                let _ = self.run("podman", &["rm", "-f", n]);
            }
        }
        // Quadlet 5 units on the lab's Podman 4.3 may leave their container-id files behind.
        if let Ok(entries) = fs::read_dir(&self.runtime) {
            for e in entries.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if n.ends_with(".cid") && STACKS.iter().any(|s| n.starts_with(&format!("{s}-"))) {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
        let _ = fs::remove_dir_all(&self.state);
        let _ = fs::remove_dir_all(self.home.join("e2e"));
        let _ = self.systemctl(&["daemon-reload"]);
        let _ = self.systemctl(&["reset-failed"]);
    }

    /// A git repository made from `examples/`, owned by the lab user, at ~/e2e/<name>.
    pub fn repo(&self, name: &str) -> PathBuf {
        let repo = self.home.join("e2e").join(name);
        let _ = fs::remove_dir_all(&repo);
        fs::create_dir_all(&repo).unwrap();
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let st = Command::new("cp")
            .arg("-a")
            .arg(examples.join("."))
            .arg(&repo)
            .status()
            .unwrap();
        assert!(st.success());
        // The other lab flavour may be running the same scenario at the same time: each repo pulls
        // from its flavour's registry (the examples name 127.0.0.1:5000) and publishes the frontend
        // on a port of its own (the examples' 18080).
        let port = crate::common::lab::free_port();
        set_var(&repo.join("values.env"), "REGISTRY", &self.lab.registry);
        set_var(
            &repo.join("services/web/.env"),
            "WEB_PORT",
            &port.to_string(),
        );
        self.lab.chown(&self.home.join("e2e"));
        let r = repo.to_string_lossy().into_owned();
        self.ok("git", &["-C", &r, "init", "-q", "-b", "main"]);
        self.ok(
            "git",
            &["-C", &r, "config", "user.email", "e2e@release-tool.invalid"],
        );
        self.ok("git", &["-C", &r, "config", "user.name", "e2e"]);
        self.commit(&repo, "examples");
        repo
    }

    /// Writes a file of the repo as the lab user.
    pub fn write(&self, repo: &Path, rel: &str, contents: &str) {
        let p = repo.join(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&p, contents).unwrap();
        self.lab.chown(repo);
    }

    /// Replaces `from` with `to` in a file of the repo, which must contain `from`.
    pub fn replace(&self, repo: &Path, rel: &str, from: &str, to: &str) {
        let old = fs::read_to_string(repo.join(rel)).unwrap();
        assert!(old.contains(from), "{rel} lacks {from:?}:\n{old}");
        self.write(repo, rel, &old.replace(from, to));
    }

    pub fn commit(&self, repo: &Path, msg: &str) {
        let r = repo.to_string_lossy().into_owned();
        self.ok("git", &["-C", &r, "add", "-A"]);
        self.ok(
            "git",
            &["-C", &r, "commit", "-q", "--allow-empty", "-m", msg],
        );
    }

    pub fn deploy(&self, repo: &Path, extra: &[&str]) -> Output {
        let r = repo.to_string_lossy().into_owned();
        let mut args = vec!["deploy", "--repo", &r, "--timeout", "60"];
        args.extend_from_slice(extra);
        self.tool(&args)
    }

    /// (container id, start time) of a running container.
    pub fn container(&self, name: &str) -> Option<(String, String)> {
        let o = self.run(
            "podman",
            &[
                "container",
                "inspect",
                "--format",
                "{{.Id}} {{.State.StartedAt}} {{.State.Running}}",
                name,
            ],
        );
        if !o.status.success() {
            return None;
        }
        let s = String::from_utf8_lossy(&o.stdout).into_owned();
        let mut it = s.trim().splitn(2, ' ');
        let id = it.next()?.to_string();
        let rest = it.next()?.to_string();
        rest.ends_with("true").then_some((id, rest))
    }

    pub fn unit_property(&self, unit: &str, prop: &str) -> String {
        let o = self.systemctl(&["show", "-p", prop, "--value", unit]);
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    /// Polls `f` until true or `timeout`.
    pub fn wait_for(&self, timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
        let t0 = Instant::now();
        while t0.elapsed() < timeout {
            if f() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        false
    }

    /// The release-tool journal entries since `since` (seconds since the epoch), as text.
    pub fn journal_since(&self, since: u64) -> String {
        let o = Command::new("journalctl")
            .args(["--no-pager", "-o", "cat", "SYSLOG_IDENTIFIER=release-tool"])
            .arg(format!("_UID={}", self.lab.uid))
            .arg(format!("--since=@{since}"))
            .output()
            .unwrap();
        text(&o)
    }

    /// A journal entry field dump (`-o verbose`) since `since`, to check structured fields.
    /// The lab user's journal entries of one kind (`MESSAGE_ID=id`) since `since` (epoch
    /// seconds), as `journalctl -o json` objects: what `journalctl MESSAGE_ID=…` finds. Waits up
    /// to 10 s for at least one (journald may lag behind the process that logged).
    pub fn journal_entries(&self, id: &str, since: u64) -> Vec<serde_json::Value> {
        let read = || {
            let o = Command::new("journalctl")
                .args(["--no-pager", "-o", "json"])
                .arg(format!("MESSAGE_ID={id}"))
                .arg(format!("_UID={}", self.lab.uid))
                .arg(format!("--since=@{since}"))
                .output()
                .unwrap();
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect::<Vec<serde_json::Value>>()
        };
        let mut found = read();
        let t0 = Instant::now();
        while found.is_empty() && t0.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(300));
            found = read();
        }
        found
    }

    pub fn journal_verbose_since(&self, since: u64) -> String {
        let o = Command::new("journalctl")
            .args([
                "--no-pager",
                "-o",
                "verbose",
                "SYSLOG_IDENTIFIER=release-tool",
            ])
            .arg(format!("_UID={}", self.lab.uid))
            .arg(format!("--since=@{since}"))
            .output()
            .unwrap();
        text(&o)
    }
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
