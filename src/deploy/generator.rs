//! The systemd user generator (systemd.generator(7)): renders the CURRENT GENERATION only, never the
//! checkout, so a broken commit or an unrelated `daemon-reload` cannot change what runs.
//!
//! It links the generation's Quadlet files, and copies the user's Quadlet drop-in directories
//! (`container.d/`, `NAME.container.d/`, … from Quadlet's user search paths, so they still apply),
//! into one staging directory under the normal output directory (`<normal-dir>/release-tool/quadlet/`:
//! systemd.generator(7) lets a generator write only there; it is recreated on every reload), runs
//! the real quadlet binary on it (`QUADLET_UNIT_DIRS`, `-user`, our normal-dir), and writes the
//! plain units (`<stack>.target`) and the `default.target.wants/` links. A stack any of whose files
//! quadlet rejects is removed from the output with an error on stderr; the others stay.

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::fs;
use std::io;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::planner::service_of;
use super::store::StateStore;

/// Where quadlet is installed by the usual distributions, searched in order.
pub const QUADLET_PATHS: &[&str] = &[
    "/usr/libexec/podman/quadlet",
    "/usr/lib/podman/quadlet",
    "/usr/local/libexec/podman/quadlet",
    "/usr/local/lib/podman/quadlet",
];

/// What the generator reads from its (minimal) environment, resolved once at the edge.
#[derive(Debug, Clone, Default)]
pub struct GeneratorEnv {
    pub state_dir: Option<PathBuf>,
    /// `$RELEASE_TOOL_QUADLET`, when set.
    pub quadlet: Option<PathBuf>,
    /// Quadlet's user search paths, highest priority first (drop-ins are copied from them).
    pub quadlet_dirs: Vec<PathBuf>,
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The current user's home from the passwd database (generators may get no `$HOME`).
pub fn passwd_home() -> Option<PathBuf> {
    // SAFETY: getuid has no preconditions; getpwuid_r writes only into the buffers we pass.
    unsafe {
        let uid = libc::getuid();
        let mut pw: libc::passwd = std::mem::zeroed();
        let mut buf = vec![0 as libc::c_char; 16384];
        let mut out: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr(), buf.len(), &mut out);
        if rc != 0 || out.is_null() || pw.pw_dir.is_null() {
            return None;
        }
        let dir = CStr::from_ptr(pw.pw_dir).to_str().ok()?;
        Some(PathBuf::from(dir))
    }
}

impl GeneratorEnv {
    pub fn from_process() -> GeneratorEnv {
        // SAFETY: getuid has no preconditions.
        let uid = unsafe { libc::getuid() };
        let home = env_path("HOME").or_else(passwd_home);
        let state_dir = env_path("RELEASE_TOOL_STATE_DIR")
            .or_else(|| env_path("XDG_STATE_HOME").map(|p| p.join("release-tool")))
            .or_else(|| home.as_ref().map(|h| h.join(".local/state/release-tool")));
        let runtime = env_path("XDG_RUNTIME_DIR")
            .unwrap_or_else(|| PathBuf::from(format!("/run/user/{uid}")));
        let config =
            env_path("XDG_CONFIG_HOME").or_else(|| home.as_ref().map(|h| h.join(".config")));
        let mut quadlet_dirs = vec![runtime.join("containers/systemd")];
        quadlet_dirs.extend(config.map(|c| c.join("containers/systemd")));
        quadlet_dirs.push(PathBuf::from(format!(
            "/etc/containers/systemd/users/{uid}"
        )));
        quadlet_dirs.push(PathBuf::from("/etc/containers/systemd/users"));
        GeneratorEnv {
            state_dir,
            quadlet: env_path("RELEASE_TOOL_QUADLET"),
            quadlet_dirs,
        }
    }
}

/// Finds the quadlet binary: the configured path, else the distributions' places.
pub fn find_quadlet(configured: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = configured {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(format!(
                "quadlet not found at {} ($RELEASE_TOOL_QUADLET)",
                p.display()
            ))
        };
    }
    QUADLET_PATHS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!(
                "quadlet not found (looked in {}); install podman >= 4.4 or set RELEASE_TOOL_QUADLET",
                QUADLET_PATHS.join(", ")
            )
        })
}

/// What a generator run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct GeneratorReport {
    pub generation: Option<u64>,
    pub stacks_written: Vec<String>,
    /// Stack → why it was skipped.
    pub stacks_skipped: BTreeMap<String, String>,
}

fn is_quadlet_file(name: &str) -> bool {
    service_of(name).is_some()
}

/// Copies the `*.d` drop-in directories of Quadlet's search paths into `staging`; an earlier
/// (higher-priority) directory's file wins over a later one of the same name, as in Quadlet.
pub fn copy_dropins(search_dirs: &[PathBuf], staging: &Path) -> io::Result<()> {
    for dir in search_dirs {
        let Ok(entries) = fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            if !name.to_string_lossy().ends_with(".d") || !e.path().is_dir() {
                continue;
            }
            let dest = staging.join(&name);
            fs::create_dir_all(&dest)?;
            for f in fs::read_dir(e.path())?.flatten() {
                let target = dest.join(f.file_name());
                if f.path().is_file() && !target.exists() {
                    fs::copy(f.path(), &target)?;
                }
            }
        }
    }
    Ok(())
}

/// A stack's Quadlet file names and its plain units (name, contents).
type StackFiles = (Vec<String>, Vec<(String, Vec<u8>)>);

const HEADER: &str = "# Automatically generated by release-tool-generator\n";

/// Runs the generator into `normal` (the one directory we write to). Errors that stop everything
/// (no quadlet) are Err; skipped stacks are in the report.
pub fn generate(env: &GeneratorEnv, normal: &Path) -> Result<GeneratorReport, String> {
    let mut report = GeneratorReport::default();
    let Some(store) = env.state_dir.as_deref().and_then(StateStore::open_existing) else {
        return Ok(report);
    };
    let Some(gen) = store.current() else {
        return Ok(report);
    };
    report.generation = Some(gen);
    let units_dir = store.generation_dir(gen).join("units");
    let quadlet = find_quadlet(env.quadlet.as_deref())?;
    let staging = normal.join("release-tool");
    let qdir = staging.join("quadlet");
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(&qdir).map_err(|e| format!("{}: {e}", qdir.display()))?;

    let mut stacks: BTreeMap<String, StackFiles> = BTreeMap::new();
    let mut owner: BTreeMap<String, String> = BTreeMap::new();
    let mut entries: Vec<_> = fs::read_dir(&units_dir)
        .map_err(|e| format!("{}: {e}", units_dir.display()))?
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.file_name());
    'stacks: for e in entries {
        let stack = e.file_name().to_string_lossy().into_owned();
        let mut files: Vec<_> = match fs::read_dir(e.path()) {
            Ok(r) => r.flatten().collect(),
            Err(err) => {
                report.stacks_skipped.insert(stack, err.to_string());
                continue;
            }
        };
        files.sort_by_key(|f| f.file_name());
        let mut quadlets = Vec::new();
        let mut plain = Vec::new();
        for f in &files {
            let name = f.file_name().to_string_lossy().into_owned();
            if let Some(other) = owner.get(&name) {
                report.stacks_skipped.insert(
                    stack.clone(),
                    format!("unit {name} is also a unit of stack {other}"),
                );
                continue 'stacks;
            }
            if is_quadlet_file(&name) {
                quadlets.push((name, f.path()));
                continue;
            }
            match fs::read(f.path()) {
                Ok(bytes) => plain.push((name, bytes)),
                Err(err) => {
                    report
                        .stacks_skipped
                        .insert(stack.clone(), format!("{name}: {err}"));
                    continue 'stacks;
                }
            }
        }
        for (name, _) in &quadlets {
            owner.insert(name.clone(), stack.clone());
        }
        // One flat directory of links: quadlet 5 would read linked stack directories too, but
        // it then searches every subdirectory for drop-ins of every unit (4x slower at 200 stacks).
        for (name, path) in &quadlets {
            symlink(path, qdir.join(name)).map_err(|e| format!("{name}: {e}"))?;
        }
        stacks.insert(
            stack,
            (quadlets.into_iter().map(|(n, _)| n).collect(), plain),
        );
    }
    copy_dropins(&env.quadlet_dirs, &qdir).map_err(|e| format!("copying Quadlet drop-ins: {e}"))?;

    let out = Command::new(&quadlet)
        .env("QUADLET_UNIT_DIRS", &qdir)
        .args(["-no-kmsg-log", "-user"])
        .arg(normal)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", quadlet.display()))?;
    let quadlet_stderr = String::from_utf8_lossy(&out.stderr).into_owned();

    // One directory read instead of a stat per expected service.
    let written: std::collections::BTreeSet<String> = fs::read_dir(normal)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    for (stack, (quadlets, plain)) in &stacks {
        let missing: Vec<&String> = quadlets
            .iter()
            .filter(|q| service_of(q).is_none_or(|s| !written.contains(&s)))
            .collect();
        if !missing.is_empty() {
            let why: Vec<&str> = quadlet_stderr
                .lines()
                .filter(|l| {
                    quadlets.iter().any(|q| l.contains(q.as_str())) && !l.contains("Warning")
                })
                .collect();
            report.stacks_skipped.insert(
                stack.clone(),
                format!(
                    "quadlet rejected {}: {}",
                    missing
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    if why.is_empty() {
                        "no reason given".to_string()
                    } else {
                        why.join("; ")
                    }
                ),
            );
            remove_outputs(normal, quadlets);
            continue;
        }
        for (name, bytes) in plain {
            let mut text = HEADER.as_bytes().to_vec();
            text.extend_from_slice(bytes);
            fs::write(normal.join(name), text).map_err(|e| format!("{name}: {e}"))?;
        }
        let target = format!("{stack}.target");
        if plain.iter().any(|(n, _)| *n == target) {
            let wants = normal.join("default.target.wants");
            fs::create_dir_all(&wants).map_err(|e| e.to_string())?;
            let link = wants.join(&target);
            let _ = fs::remove_file(&link);
            symlink(format!("../{target}"), &link).map_err(|e| e.to_string())?;
        }
        report.stacks_written.push(stack.clone());
    }
    Ok(report)
}

/// Removes what quadlet wrote for a skipped stack: its services and the links to them.
fn remove_outputs(normal: &Path, quadlets: &[String]) {
    let services: Vec<String> = quadlets.iter().filter_map(|q| service_of(q)).collect();
    for s in &services {
        let _ = fs::remove_file(normal.join(s));
    }
    let Ok(entries) = fs::read_dir(normal) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".wants") || name.ends_with(".requires") {
            for s in &services {
                let _ = fs::remove_file(e.path().join(s));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropins_are_copied_with_priority() {
        let t = tempfile::tempdir().unwrap();
        let hi = t.path().join("hi");
        let lo = t.path().join("lo");
        fs::create_dir_all(hi.join("container.d")).unwrap();
        fs::create_dir_all(lo.join("container.d")).unwrap();
        fs::create_dir_all(lo.join("web-api.container.d")).unwrap();
        fs::write(hi.join("container.d/10.conf"), "hi").unwrap();
        fs::write(lo.join("container.d/10.conf"), "lo").unwrap();
        fs::write(lo.join("container.d/20.conf"), "lo20").unwrap();
        fs::write(lo.join("web-api.container.d/x.conf"), "x").unwrap();
        fs::write(lo.join("mine.container"), "user unit: not ours to copy").unwrap();
        let st = t.path().join("st");
        copy_dropins(&[hi, lo, t.path().join("missing")], &st).unwrap();
        assert_eq!(
            fs::read_to_string(st.join("container.d/10.conf")).unwrap(),
            "hi"
        );
        assert_eq!(
            fs::read_to_string(st.join("container.d/20.conf")).unwrap(),
            "lo20"
        );
        assert!(st.join("web-api.container.d/x.conf").is_file());
        assert!(!st.join("mine.container").exists());
    }

    #[test]
    fn no_state_or_no_generation_writes_nothing() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("out");
        fs::create_dir_all(&out).unwrap();
        let env = GeneratorEnv {
            state_dir: Some(t.path().join("nope")),
            quadlet: Some(PathBuf::from("/nonexistent/quadlet")),
            quadlet_dirs: vec![],
        };
        assert_eq!(generate(&env, &out).unwrap(), GeneratorReport::default());
        StateStore::open(&t.path().join("state")).unwrap();
        let env = GeneratorEnv {
            state_dir: Some(t.path().join("state")),
            ..env
        };
        assert_eq!(generate(&env, &out).unwrap(), GeneratorReport::default());
        assert_eq!(fs::read_dir(&out).unwrap().count(), 0);
    }

    #[test]
    fn missing_quadlet_is_named() {
        let e = find_quadlet(Some(Path::new("/nonexistent/q"))).unwrap_err();
        assert!(e.contains("RELEASE_TOOL_QUADLET"), "{e}");
    }

    #[test]
    fn passwd_has_a_home() {
        assert!(passwd_home().is_some());
    }
}
