//! One deploy at a time: an exclusive flock(2) on `<state>/lock`, held for the life of the value.
//! The kernel drops it when the process dies (even by SIGKILL), so a stale lock cannot exist.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

#[derive(Debug)]
pub struct DeployLock {
    // Held open: closing the file releases the lock.
    _file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another deploy is running (lock {0} is held); try again later or pass --wait")]
    Held(String),
    #[error("lock {path}: {source}")]
    Io { path: String, source: io::Error },
}

impl DeployLock {
    /// Takes the lock; with `wait` blocks until it is free, else fails at once with `Held`.
    pub fn acquire(path: &Path, wait: bool) -> Result<DeployLock, LockError> {
        let io = |source| LockError::Io {
            path: path.display().to_string(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io)?;
        let op = if wait {
            libc::LOCK_EX
        } else {
            libc::LOCK_EX | libc::LOCK_NB
        };
        loop {
            // SAFETY: flock on a file descriptor we own; no memory is shared.
            let rc = unsafe { libc::flock(file.as_raw_fd(), op) };
            if rc == 0 {
                return Ok(DeployLock { _file: file });
            }
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EWOULDBLOCK) => return Err(LockError::Held(path.display().to_string())),
                _ => return Err(io(err)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_until_release() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("lock");
        let first = DeployLock::acquire(&p, false).unwrap();
        // flock locks belong to the open file description: a second open conflicts, as a second
        // process would.
        let err = DeployLock::acquire(&p, false).unwrap_err();
        assert!(matches!(err, LockError::Held(_)), "{err}");
        assert!(err.to_string().contains("--wait"));
        drop(first);
        DeployLock::acquire(&p, false).unwrap();
    }

    #[test]
    fn waiting_holder_gets_it_after_release() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("lock");
        let first = DeployLock::acquire(&p, false).unwrap();
        let p2 = p.clone();
        let waiter = std::thread::spawn(move || DeployLock::acquire(&p2, true).is_ok());
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(
            !waiter.is_finished(),
            "the waiter must block while the lock is held"
        );
        drop(first);
        assert!(waiter.join().unwrap());
    }
}
