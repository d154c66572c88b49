//! Helpers for the hostile-repository tests (tests/loader_hostile.rs, tests/loader_bounds.rs).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use release_tool::compose::{load_stack, LoadOptions, LoadedStack, StackRef};

pub const GOOD: &str = "services:\n  web:\n    image: docker.io/library/busybox:1\n";

/// Runs `f` on a thread: a loader that blocks (on a FIFO) fails the test instead of hanging it.
pub fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("{what}: the loader blocked (or panicked)"))
}

/// A named pipe, made with mkfifo(1).
pub fn mkfifo(p: &Path) {
    let st = Command::new("mkfifo").arg(p).status().expect("mkfifo runs");
    assert!(st.success(), "mkfifo {}", p.display());
}

/// `<tmp>/repo/services/{good,bad}/`, both valid.
pub fn make_repo() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = tmp.path().join("repo");
    for s in ["good", "bad"] {
        let d = repo.join("services").join(s);
        std::fs::create_dir_all(&d).expect("mkdir");
        std::fs::write(d.join("compose.yaml"), GOOD).expect("write");
    }
    (tmp, repo)
}

pub fn stack_ref(repo: &Path, name: &str) -> StackRef {
    StackRef {
        name: name.into(),
        dir: repo.join("services").join(name),
    }
}

/// The error a load must give (a load that succeeds fails the test without printing the model).
pub fn load_err(repo: &Path, name: &str, what: &str) -> String {
    match load(repo, name) {
        Ok(_) => panic!("{what}: loaded, but must be refused"),
        Err(e) => e,
    }
}

pub fn load(repo: &Path, name: &str) -> Result<LoadedStack, String> {
    let s = stack_ref(repo, name);
    within("load_stack", move || {
        load_stack(&s, &LoadOptions::default()).map_err(|e| e.to_string())
    })
}
