//! The systemd user generator (systemd.generator(7)): renders the CURRENT GENERATION only, never the
//! checkout, so a broken commit or an unrelated `daemon-reload` cannot change what runs.
//!
//! It writes the generation's Quadlet files (the bytes it verified), and copies the user's Quadlet
//! drop-in directories (`container.d/`, `NAME.container.d/`, … from Quadlet's user search paths, so
//! they still apply), into one staging directory under the normal output directory (`<normal-dir>/release-tool/quadlet/`:
//! systemd.generator(7) lets a generator write only there; it is recreated on every reload), runs
//! the real quadlet binary on it (`QUADLET_UNIT_DIRS`, `-user`, our normal-dir), and meanwhile writes
//! the plain units (`<stack>.target`) and the `default.target.wants/` links. A stack any of whose files
//! quadlet rejects is removed from the output with quadlet's reason on stderr; the others stay.
//! A drop-in that cannot be read is reported and left out. Which generation it renders when the
//! state is broken: `intact`. It never exits 0 having written nothing while a generation with
//! stacks is chosen.

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::fs;
use std::io;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::dropins::{copy_dropins, load_failures as dropin_load_failures};
use super::fsutil::map_in_parallel;
use super::intact::{choose, Choice, SelectError};
use super::planner::service_of;

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

/// What stops the generator from writing anything. Skipped stacks and drop-ins are not errors.
#[derive(Debug, thiserror::Error)]
pub enum GeneratorError {
    #[error("{0}")]
    QuadletNotFound(String),
    #[error(transparent)]
    State(#[from] SelectError),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("cannot run {path}: {source}")]
    RunQuadlet { path: PathBuf, source: io::Error },
    #[error("generation {generation}: every stack was skipped, no unit written: {skipped}")]
    NothingWritten { generation: u64, skipped: String },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> GeneratorError + '_ {
    move |source| GeneratorError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Finds the quadlet binary: the configured path, else the distributions' places.
pub fn find_quadlet(configured: Option<&Path>) -> Result<PathBuf, GeneratorError> {
    if let Some(p) = configured {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(GeneratorError::QuadletNotFound(format!(
                "quadlet not found at {} ($RELEASE_TOOL_QUADLET)",
                p.display()
            )))
        };
    }
    QUADLET_PATHS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            GeneratorError::QuadletNotFound(format!(
                "quadlet not found (looked in {}); install podman >= 4.4 or set RELEASE_TOOL_QUADLET",
                QUADLET_PATHS.join(", ")
            ))
        })
}

/// What a generator run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct GeneratorReport {
    pub generation: Option<u64>,
    /// Why the generation rendered is not `current`'s (the state was broken), or why nothing was.
    pub notice: Option<String>,
    pub stacks_written: Vec<String>,
    /// Stack → why it was skipped.
    pub stacks_skipped: BTreeMap<String, String>,
    /// Drop-in files that could not be read, each with why; the units are rendered without them.
    pub dropins_skipped: Vec<String>,
}

/// A stack's Quadlet file names and its plain units (name, contents).
type StackFiles = (Vec<String>, Vec<(String, Vec<u8>)>);

const HEADER: &str = "# Automatically generated by release-tool-generator\n";

/// Runs the generator into `normal` (the one directory we write to). Err means nothing was
/// written; skipped stacks and drop-ins are in the report.
pub fn generate(env: &GeneratorEnv, normal: &Path) -> Result<GeneratorReport, GeneratorError> {
    let mut report = GeneratorReport::default();
    let Some(state_dir) = env.state_dir.as_deref() else {
        return Ok(report);
    };
    let gen = match choose(state_dir)? {
        Choice::Nothing(note) => {
            report.notice = note;
            return Ok(report);
        }
        Choice::Serve {
            generation,
            fallback,
        } => {
            report.notice = fallback;
            generation
        }
    };
    report.generation = Some(gen.id);
    if gen.stacks.is_empty() {
        return Ok(report);
    }
    let quadlet = find_quadlet(env.quadlet.as_deref())?;
    // systemd passes absolute paths; a relative one (by hand) would make QUADLET_UNIT_DIRS invalid.
    let normal = &std::path::absolute(normal).map_err(io_err(normal))?;
    let staging = normal.join("release-tool");
    let qdir = staging.join("quadlet");
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(&qdir).map_err(io_err(&qdir))?;

    let mut stacks: BTreeMap<String, StackFiles> = BTreeMap::new();
    let mut owner: BTreeMap<String, String> = BTreeMap::new();
    let mut copies: Vec<(String, Vec<u8>)> = Vec::new();
    'stacks: for (stack, files) in gen.stacks {
        // Names are file names in one directory; a deploy writes no other (a hand-edited manifest
        // could), and one must not reach outside the output directory.
        let odd = std::iter::once(&stack)
            .chain(files.iter().map(|f| &f.name))
            .find(|n| n.contains('/') || n.is_empty() || *n == "." || *n == "..");
        if let Some(n) = odd {
            report
                .stacks_skipped
                .insert(stack.clone(), format!("{n:?} is not a file name"));
            continue;
        }
        for f in &files {
            if let Some(other) = owner.get(&f.name) {
                report.stacks_skipped.insert(
                    stack.clone(),
                    format!("unit {} is also a unit of stack {other}", f.name),
                );
                continue 'stacks;
            }
        }
        let mut quadlets = Vec::new();
        let mut plain = Vec::new();
        for f in files {
            // Every name, plain ones too: two stacks must not write one file.
            owner.insert(f.name.clone(), stack.clone());
            if service_of(&f.name).is_none() {
                plain.push((f.name, f.bytes));
            } else {
                quadlets.push(f.name.clone());
                copies.push((f.name, f.bytes));
            }
        }
        stacks.insert(stack, (quadlets, plain));
    }
    // One flat directory of plain files, written in parallel. Not links to the generation: quadlet
    // reads a plain file faster than a link into the state dir (each read walks the long target
    // path), and it reads exactly the bytes whose hash was just checked. Not linked stack
    // directories either: quadlet 5 would read them, but it then searches every subdirectory for
    // drop-ins of every unit (4x slower at 200 stacks).
    map_in_parallel(&copies, |(name, bytes)| {
        let copy = qdir.join(name);
        fs::write(&copy, bytes).map_err(io_err(&copy))
    })
    .into_iter()
    .collect::<Result<Vec<()>, _>>()?;
    drop(copies);
    let dropins = copy_dropins(&env.quadlet_dirs, &qdir)?;
    // Quadlet runs while we write the plain units of every stack (they do not depend on its
    // output); those of a stack it rejects are removed again below.
    let first = spawn_quadlet(&quadlet, &qdir, normal)?;
    if let Err(e) = write_plain_units(normal, &stacks) {
        let mut first = first;
        let _ = first.kill();
        let _ = first.wait();
        return Err(e);
    }
    let (status, quadlet_stderr) = run_quadlet(
        first,
        &quadlet,
        &qdir,
        normal,
        &owner,
        &mut stacks,
        &mut report,
    )?;
    let loaded_not = dropin_load_failures(&quadlet_stderr, &dropins);
    report.dropins_skipped = dropins.skipped;
    report.dropins_skipped.extend(loaded_not);

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
            let why = reasons(&quadlet_stderr, quadlets);
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
                        format!(
                            "quadlet wrote no service for it ({status}; stderr: {})",
                            quadlet_stderr.trim().replace('\n', " | ")
                        )
                    } else {
                        why
                    }
                ),
            );
            remove_outputs(normal, quadlets, plain);
            continue;
        }
        report.stacks_written.push(stack.clone());
    }
    if report.stacks_written.is_empty() {
        let _ = fs::remove_dir_all(&staging);
        let skipped = report
            .stacks_skipped
            .iter()
            .map(|(s, why)| format!("stack {s}: {why}"))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(GeneratorError::NothingWritten {
            generation: gen.id,
            skipped,
        });
    }
    Ok(report)
}

/// Writes every stack's plain units (`<stack>.target`, with our header) and the
/// `default.target.wants/` link of each target.
fn write_plain_units(
    normal: &Path,
    stacks: &BTreeMap<String, StackFiles>,
) -> Result<(), GeneratorError> {
    let wants = normal.join("default.target.wants");
    let mut wants_made = false;
    for (stack, (_, plain)) in stacks {
        for (name, bytes) in plain {
            let mut text = HEADER.as_bytes().to_vec();
            text.extend_from_slice(bytes);
            let path = normal.join(name);
            fs::write(&path, text).map_err(io_err(&path))?;
        }
        let target = format!("{stack}.target");
        if plain.iter().any(|(n, _)| *n == target) {
            if !wants_made {
                fs::create_dir_all(&wants).map_err(io_err(&wants))?;
                wants_made = true;
            }
            let link = wants.join(&target);
            // systemd hands a generator empty directories; a reused one (by hand) may hold it.
            symlink(format!("../{target}"), &link)
                .or_else(|e| match e.kind() {
                    io::ErrorKind::AlreadyExists => {
                        fs::remove_file(&link).and_then(|()| symlink(format!("../{target}"), &link))
                    }
                    _ => Err(e),
                })
                .map_err(io_err(&link))?;
        }
    }
    Ok(())
}

/// Starts quadlet on the staging directory, writing into `normal`.
fn spawn_quadlet(quadlet: &Path, qdir: &Path, normal: &Path) -> Result<Child, GeneratorError> {
    Command::new(quadlet)
        .env("QUADLET_UNIT_DIRS", qdir)
        .args(["-no-kmsg-log", "-user"])
        .arg(normal)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| GeneratorError::RunQuadlet {
            path: quadlet.to_path_buf(),
            source,
        })
}

/// The lines of quadlet's stderr about these Quadlet files (it quotes the name or the path).
fn reasons(stderr: &str, quadlets: &[String]) -> String {
    stderr
        .lines()
        .filter(|l| {
            !l.contains("Warning")
                && quadlets
                    .iter()
                    .any(|q| l.contains(&format!("\"{q}\"")) || l.contains(&format!("/{q}\"")))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The Quadlet files of ours that quadlet could not load: quadlet 5 then writes nothing at all,
/// so each is found on its stderr (`error loading "PATH", …`, the one place it says which).
fn load_failures<'a>(
    stderr: &str,
    qdir: &Path,
    owner: &'a BTreeMap<String, String>,
) -> BTreeMap<&'a str, String> {
    let mut bad = BTreeMap::new();
    for line in stderr.lines() {
        let Some(at) = line.find("error loading \"") else {
            continue;
        };
        let rest = &line[at + "error loading \"".len()..];
        let Some((path, _)) = rest.split_once('"') else {
            continue;
        };
        let path = Path::new(path);
        if path.parent() != Some(qdir) {
            continue; // a drop-in: quadlet goes on without it
        }
        if let Some(stack) = path
            .file_name()
            .and_then(|n| owner.get(n.to_string_lossy().as_ref()))
        {
            bad.entry(stack.as_str())
                .or_insert_with(|| line[at..].to_string());
        }
    }
    bad
}

/// Waits for quadlet (`first`, already started); while it refuses to load a file of a stack, that
/// stack is taken out (its files and outputs removed, the reason recorded) and quadlet runs again,
/// so one bad file costs only its stack. Returns quadlet's last exit status and stderr.
fn run_quadlet(
    first: Child,
    quadlet: &Path,
    qdir: &Path,
    normal: &Path,
    owner: &BTreeMap<String, String>,
    stacks: &mut BTreeMap<String, StackFiles>,
    report: &mut GeneratorReport,
) -> Result<(std::process::ExitStatus, String), GeneratorError> {
    let mut child = first;
    loop {
        let out = child
            .wait_with_output()
            .map_err(|source| GeneratorError::RunQuadlet {
                path: quadlet.to_path_buf(),
                source,
            })?;
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let bad: Vec<(String, String)> = load_failures(&stderr, qdir, owner)
            .into_iter()
            .filter(|(s, _)| stacks.contains_key(*s))
            .map(|(s, l)| (s.to_string(), l))
            .collect();
        if bad.is_empty() {
            return Ok((out.status, stderr));
        }
        for (stack, line) in bad {
            if let Some((quadlets, plain)) = stacks.remove(&stack) {
                for q in &quadlets {
                    let _ = fs::remove_file(qdir.join(q));
                }
                remove_outputs(normal, &quadlets, &plain);
                report
                    .stacks_skipped
                    .insert(stack, format!("quadlet cannot load it: {}", line.trim()));
            }
        }
        child = spawn_quadlet(quadlet, qdir, normal)?;
    }
}

/// Removes what was written for a skipped stack: its services and the links to them (quadlet's),
/// its plain units and the link to its target (ours).
fn remove_outputs(normal: &Path, quadlets: &[String], plain: &[(String, Vec<u8>)]) {
    let services: Vec<String> = quadlets.iter().filter_map(|q| service_of(q)).collect();
    for s in &services {
        let _ = fs::remove_file(normal.join(s));
    }
    for (name, _) in plain {
        let _ = fs::remove_file(normal.join(name));
        let _ = fs::remove_file(normal.join("default.target.wants").join(name));
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
    use crate::deploy::store::StateStore;

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
        let e = find_quadlet(Some(Path::new("/nonexistent/q")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("RELEASE_TOOL_QUADLET"), "{e}");
    }

    #[test]
    fn passwd_has_a_home() {
        assert!(passwd_home().is_some());
    }
}
