//! Progress reporting without libsystemd: journald's native protocol (datagrams of `KEY=value`
//! fields on `/run/systemd/journal/socket`) and sd_notify (`STATUS=` on `$NOTIFY_SOCKET`).
//! With no journal, messages go to stderr; under a service whose stderr already is the journal
//! (`$JOURNAL_STREAM`), they are not written twice.

use std::io::Write;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::Path;
use std::sync::Mutex;

pub const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    Err = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
}

/// Appends one field in the native protocol: `KEY=value\n`, or the length-prefixed binary form
/// when the value holds a newline.
pub fn encode_field(buf: &mut Vec<u8>, key: &str, value: &str) {
    if value.contains('\n') {
        buf.extend_from_slice(key.as_bytes());
        buf.push(b'\n');
        buf.extend_from_slice(&(value.len() as u64).to_le_bytes());
        buf.extend_from_slice(value.as_bytes());
        buf.push(b'\n');
    } else {
        buf.extend_from_slice(key.as_bytes());
        buf.push(b'=');
        buf.extend_from_slice(value.as_bytes());
        buf.push(b'\n');
    }
}

/// Where messages go. Cloned cheaply into threads through `&Reporter` (it is `Sync`).
pub struct Reporter {
    journal: Option<UnixDatagram>,
    notify: Option<(UnixDatagram, SocketAddr)>,
    stderr: bool,
    /// Fields on every entry (`GENERATION=`, `GIT_REV=`).
    context: Mutex<Vec<(String, String)>>,
    /// Entries recorded in memory (tests).
    pub recorded: Mutex<Vec<Vec<(String, String)>>>,
    /// Every `STATUS=` sent, in order (tests).
    pub statuses: Mutex<Vec<String>>,
}

fn stderr_is_journal() -> bool {
    let Some(v) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = v.to_str().and_then(|s| s.split_once(':')) else {
        return false;
    };
    match std::fs::metadata("/proc/self/fd/2") {
        Ok(m) => m.dev().to_string() == dev && m.ino().to_string() == ino,
        Err(_) => false,
    }
}

fn notify_socket() -> Option<(UnixDatagram, SocketAddr)> {
    let path = std::env::var("NOTIFY_SOCKET").ok()?;
    let addr = if let Some(name) = path.strip_prefix('@') {
        SocketAddr::from_abstract_name(name.as_bytes()).ok()?
    } else {
        SocketAddr::from_pathname(&path).ok()?
    };
    Some((UnixDatagram::unbound().ok()?, addr))
}

impl Reporter {
    /// The real reporter of this process.
    pub fn from_env() -> Reporter {
        let journal = Path::new(JOURNAL_SOCKET)
            .exists()
            .then(|| {
                let s = UnixDatagram::unbound().ok()?;
                s.connect(JOURNAL_SOCKET).ok()?;
                Some(s)
            })
            .flatten();
        let stderr = journal.is_none() || !stderr_is_journal();
        Reporter {
            journal,
            notify: notify_socket(),
            stderr,
            context: Mutex::new(Vec::new()),
            recorded: Mutex::new(Vec::new()),
            statuses: Mutex::new(Vec::new()),
        }
    }

    /// A reporter that only records (unit tests).
    pub fn recording() -> Reporter {
        Reporter {
            journal: None,
            notify: None,
            stderr: false,
            context: Mutex::new(Vec::new()),
            recorded: Mutex::new(Vec::new()),
            statuses: Mutex::new(Vec::new()),
        }
    }

    /// Sets a field carried by every later entry.
    pub fn set_context(&self, key: &str, value: &str) {
        if let Ok(mut c) = self.context.lock() {
            c.retain(|(k, _)| k != key);
            c.push((key.to_string(), value.to_string()));
        }
    }

    /// Logs `message` with extra fields (`STACK`, `UNIT`, ...).
    pub fn log(&self, priority: Priority, fields: &[(&str, &str)], message: &str) {
        let mut entry: Vec<(String, String)> = vec![
            ("MESSAGE".into(), message.to_string()),
            ("PRIORITY".into(), (priority as u8).to_string()),
            ("SYSLOG_IDENTIFIER".into(), "release-tool".into()),
        ];
        if let Ok(c) = self.context.lock() {
            entry.extend(c.iter().cloned());
        }
        entry.extend(
            fields
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        if let Some(j) = &self.journal {
            let mut buf = Vec::new();
            for (k, v) in &entry {
                encode_field(&mut buf, k, v);
            }
            let _ = j.send(&buf);
        }
        if self.stderr {
            let level = match priority {
                Priority::Err => "error: ",
                Priority::Warning => "warning: ",
                _ => "",
            };
            let _ = writeln!(std::io::stderr(), "release-tool: {level}{message}");
        }
        if let Ok(mut r) = self.recorded.lock() {
            r.push(entry);
        }
    }

    pub fn info(&self, fields: &[(&str, &str)], message: &str) {
        self.log(Priority::Info, fields, message)
    }
    pub fn warn(&self, fields: &[(&str, &str)], message: &str) {
        self.log(Priority::Warning, fields, message)
    }
    pub fn error(&self, fields: &[(&str, &str)], message: &str) {
        self.log(Priority::Err, fields, message)
    }

    /// Sends `STATUS=` to the service manager (shown by `systemctl status`) and logs it.
    pub fn status(&self, text: &str) {
        self.notify_status(text);
        self.log(Priority::Notice, &[], text);
    }

    /// Sends `STATUS=` only (the caller logs the same news its own way).
    pub fn notify_status(&self, text: &str) {
        if let Some((sock, addr)) = &self.notify {
            let _ = sock.send_to_addr(format!("STATUS={text}").as_bytes(), addr);
        }
        if let Ok(mut s) = self.statuses.lock() {
            s.push(text.to_string());
        }
    }

    /// Messages recorded so far (unit tests).
    pub fn messages(&self) -> Vec<String> {
        self.recorded
            .lock()
            .map(|r| {
                r.iter()
                    .filter_map(|e| {
                        e.iter()
                            .find(|(k, _)| k == "MESSAGE")
                            .map(|(_, v)| v.clone())
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_protocol_fields() {
        let mut b = Vec::new();
        encode_field(&mut b, "STACK", "web");
        encode_field(&mut b, "MESSAGE", "a\nb");
        let mut want = b"STACK=web\nMESSAGE\n".to_vec();
        want.extend_from_slice(&3u64.to_le_bytes());
        want.extend_from_slice(b"a\nb\n");
        assert_eq!(b, want);
    }

    #[test]
    fn notify_and_journal_datagrams_reach_their_sockets() {
        let t = tempfile::tempdir().unwrap();
        let jpath = t.path().join("journal");
        let npath = t.path().join("notify");
        let jsrv = UnixDatagram::bind(&jpath).unwrap();
        let nsrv = UnixDatagram::bind(&npath).unwrap();
        let j = UnixDatagram::unbound().unwrap();
        j.connect(&jpath).unwrap();
        let r = Reporter {
            journal: Some(j),
            notify: Some((
                UnixDatagram::unbound().unwrap(),
                SocketAddr::from_pathname(&npath).unwrap(),
            )),
            stderr: false,
            context: Mutex::new(Vec::new()),
            recorded: Mutex::new(Vec::new()),
            statuses: Mutex::new(Vec::new()),
        };
        r.set_context("GENERATION", "4");
        r.status("pulling 2 images");
        let mut buf = [0u8; 4096];
        let n = nsrv.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STATUS=pulling 2 images");
        let n = jsrv.recv(&mut buf).unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(text.contains("MESSAGE=pulling 2 images\n"), "{text}");
        assert!(text.contains("GENERATION=4\n"));
        assert!(text.contains("SYSLOG_IDENTIFIER=release-tool\n"));
        r.error(&[("STACK", "web"), ("UNIT", "")], "bad");
        let n = jsrv.recv(&mut buf).unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(
            text.contains("STACK=web\n") && !text.contains("UNIT="),
            "{text}"
        );
        assert!(text.contains("PRIORITY=3\n"));
    }
}
