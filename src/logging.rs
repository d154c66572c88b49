//! The process's logger, behind the `log` facade: the journal (systemd-journal-logger: journald's
//! native protocol, with structured fields) when journald is there, and plain lines on stderr for
//! a person at a terminal. Under a service whose stderr already is the journal (`$JOURNAL_STREAM`)
//! a message is not written twice.
//!
//! Structured fields come from the record's key-values (`STACK`, `UNIT`, `IMAGE`, `MESSAGE_ID`)
//! and from the process context set with [`set_context`] (`GENERATION`, `GIT_REV`): every
//! journal entry of a deploy carries the generation and commit it is about. `MESSAGE_ID` names
//! the kind of event ([`ids`]), so `journalctl --user MESSAGE_ID=…` finds, say, every failed
//! deploy.
//!
//! On a terminal (stderr a TTY, not under systemd, not `-q`), the step a long command is at, the
//! same text as `STATUS=` (pulls done, the unit a health wait waits for with its countdown), shows
//! on a spinner line (indicatif) below the log lines; elsewhere only the plain lines appear.

use std::io::{IsTerminal, Write};
use std::sync::{OnceLock, RwLock};
use std::time::Duration;

use log::kv::{Error as KvError, Key, Value, VisitSource};
use log::{Level, LevelFilter, Log, Metadata, Record};
use systemd_journal_logger::JournalLog;

/// `MESSAGE_ID=` of each kind of event (128-bit ids, as sd-id128 makes them; they never change).
pub mod ids {
    /// A deploy starts: `deploying <rev>`.
    pub const DEPLOY_STARTED: &str = "c17b7431a3dd45959e8096cbdd23c230";
    /// A deploy made a generation current (`deployed generation N`).
    pub const DEPLOY_SUCCEEDED: &str = "bf6cd31a11e04a779173ecda15543cc2";
    /// A deploy failed (before or after switching).
    pub const DEPLOY_FAILED: &str = "8061c1aa6a184cd8bc2f7122ae55c44c";
    /// A failed deploy was rolled back to the previous generation.
    pub const ROLLED_BACK: &str = "61b1f6b243484010a6b441f91f34d935";
    /// The rollback failed too: the host needs attention.
    pub const ROLLBACK_FAILED: &str = "72380841ef454467873bdad62346f2c7";
    /// A stack failed to load or translate and was left as it was.
    pub const STACK_REFUSED: &str = "db2b0003457e4377b04b24be16ebc496";
    /// A unit is (re)started by a deploy, rollback or `manage-services restart`.
    pub const UNIT_RESTARTED: &str = "c6341201b6c24fd8bf4e4d9a244707e2";
    /// A unit did not come up healthy in time (the health gate).
    pub const UNIT_UNHEALTHY: &str = "8fe73bf7c2c14712af03d736d0eacd5f";
    /// An image pull failed.
    pub const PULL_FAILED: &str = "e99f376317ea44c1af5482024dafd915";
    /// An image no kept generation uses was removed.
    pub const IMAGE_REMOVED: &str = "cdd1208ad4ba4e7ebafe35d733705654";
    /// A deploy found nothing to change.
    pub const NOTHING_CHANGED: &str = "1a70e85a56894e69bce4c578e605c8d4";
    /// A unit came up (and, with a health check, healthy) after a restart.
    pub const UNIT_UP: &str = "b0da574607424ce882bd0f9086ca9372";

    /// Every id with its name (docs and tests).
    pub const ALL: &[(&str, &str)] = &[
        ("DEPLOY_STARTED", DEPLOY_STARTED),
        ("DEPLOY_SUCCEEDED", DEPLOY_SUCCEEDED),
        ("DEPLOY_FAILED", DEPLOY_FAILED),
        ("ROLLED_BACK", ROLLED_BACK),
        ("ROLLBACK_FAILED", ROLLBACK_FAILED),
        ("STACK_REFUSED", STACK_REFUSED),
        ("UNIT_RESTARTED", UNIT_RESTARTED),
        ("UNIT_UNHEALTHY", UNIT_UNHEALTHY),
        ("PULL_FAILED", PULL_FAILED),
        ("IMAGE_REMOVED", IMAGE_REMOVED),
        ("NOTHING_CHANGED", NOTHING_CHANGED),
        ("UNIT_UP", UNIT_UP),
    ];
}

/// How much a person at the terminal sees: `-q` (warnings and errors), the default (what each
/// step did), `-v` (detail).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verbosity {
    Quiet,
    #[default]
    Normal,
    Verbose,
}

impl Verbosity {
    fn stderr_level(self) -> LevelFilter {
        match self {
            Verbosity::Quiet => LevelFilter::Warn,
            Verbosity::Normal => LevelFilter::Info,
            Verbosity::Verbose => LevelFilter::Debug,
        }
    }
}

/// The logger `init` installs.
struct ProcessLogger {
    journal: Option<JournalLog>,
    /// Entries at or above this level go to the journal.
    journal_level: LevelFilter,
    /// Entries at or above this level are printed on stderr (`Off`: stderr is the journal).
    stderr_level: LevelFilter,
}

/// Fields every later entry carries (`GENERATION`, `GIT_REV`).
static CONTEXT: RwLock<Vec<(String, String)>> = RwLock::new(Vec::new());

/// Sets (or replaces) a field carried by every later journal entry of this process.
pub fn set_context(key: &str, value: &str) {
    if let Ok(mut c) = CONTEXT.write() {
        set_field(&mut c, key, value);
    }
}

/// Sets `key` in a list of context fields: replaced, or removed when `value` is empty.
pub fn set_field(fields: &mut Vec<(String, String)>, key: &str, value: &str) {
    fields.retain(|(k, _)| k != key);
    if !value.is_empty() {
        fields.push((key.to_string(), value.to_string()));
    }
}

/// Installs the process's logger once: the journal when its socket answers, stderr unless
/// stderr is the journal. Later calls keep the first logger.
pub fn init(verbosity: Verbosity) {
    let journal = JournalLog::new()
        .ok()
        .map(|j| j.with_syslog_identifier("release-tool".into()));
    let to_terminal = journal.is_none() || !systemd_journal_logger::connected_to_journal();
    let stderr_level = if to_terminal {
        verbosity.stderr_level()
    } else {
        LevelFilter::Off
    };
    let journal_level = if journal.is_none() {
        LevelFilter::Off
    } else if verbosity == Verbosity::Verbose {
        LevelFilter::Debug
    } else {
        LevelFilter::Info
    };
    let wanted = progress_wanted(
        to_terminal && std::io::stderr().is_terminal(),
        std::env::var_os("INVOCATION_ID").is_some(),
        verbosity,
    );
    let _ = PROGRESS_WANTED.set(wanted);
    let logger = ProcessLogger {
        journal,
        journal_level,
        stderr_level,
    };
    if log::set_boxed_logger(Box::new(logger)).is_ok() {
        log::set_max_level(journal_level.max(stderr_level));
    }
}

/// The context fields, then `own`: a field the entry names itself (the `GENERATION` a failed
/// deploy was about, while the context already says the one rolled back to) replaces the
/// context's, so no entry carries a field twice. Empty values are left out.
fn with_context(own: Vec<(String, String)>) -> Vec<(String, String)> {
    let context = CONTEXT.read().map(|c| c.clone()).unwrap_or_default();
    merge_fields(context, own)
}

/// `context`, then `own`: a field `own` names replaces the context's; empty values are left
/// out. The process logger and the tests' recorder both build an entry's fields with it.
pub fn merge_fields(
    context: Vec<(String, String)>,
    own: Vec<(String, String)>,
) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = context
        .into_iter()
        .filter(|(k, _)| !own.iter().any(|(o, _)| o == k))
        .collect();
    fields.extend(own);
    fields.retain(|(_, v)| !v.is_empty());
    fields
}

/// Whether to show the spinner line: a terminal, not a service (`$INVOCATION_ID`), not `-q`.
fn progress_wanted(terminal: bool, under_systemd: bool, verbosity: Verbosity) -> bool {
    terminal && !under_systemd && verbosity != Verbosity::Quiet
}

static PROGRESS_WANTED: OnceLock<bool> = OnceLock::new();
/// The spinner, made at the first status of a command that has any.
static PROGRESS: OnceLock<indicatif::ProgressBar> = OnceLock::new();

fn progress() -> Option<&'static indicatif::ProgressBar> {
    if !PROGRESS_WANTED.get().copied().unwrap_or(false) {
        return None;
    }
    Some(PROGRESS.get_or_init(|| {
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }))
}

/// Removes the spinner line (before the process exits).
pub fn finish() {
    if let Some(bar) = PROGRESS.get() {
        bar.finish_and_clear();
    }
}

/// Collects a record's key-values as strings.
struct Collect<'a>(&'a mut Vec<(String, String)>);

impl<'kvs> VisitSource<'kvs> for Collect<'_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), KvError> {
        self.0.push((key.as_str().to_string(), value.to_string()));
        Ok(())
    }
}

/// The line a person reads for `record`: `release-tool: warning: …`.
pub fn stderr_line(level: Level, message: &str) -> String {
    let prefix = match level {
        Level::Error => "error: ",
        Level::Warn => "warning: ",
        Level::Info => "",
        Level::Debug | Level::Trace => "debug: ",
    };
    format!("release-tool: {prefix}{message}\n")
}

impl Log for ProcessLogger {
    fn enabled(&self, m: &Metadata) -> bool {
        m.level() <= self.journal_level || m.level() <= self.stderr_level
    }

    fn log(&self, record: &Record) {
        if record.level() <= self.journal_level {
            if let Some(j) = &self.journal {
                let mut own = Vec::new();
                let _ = record.key_values().visit(&mut Collect(&mut own));
                let fields = with_context(own);
                let full = Record::builder()
                    .args(*record.args())
                    .level(record.level())
                    .target(record.target())
                    .module_path(record.module_path())
                    .file(record.file())
                    .line(record.line())
                    .key_values(&fields)
                    .build();
                j.log(&full);
            }
        }
        if record.level() <= self.stderr_level {
            // One write per line, so lines from threads never interleave; above the spinner.
            let line = stderr_line(record.level(), &record.args().to_string());
            let write = || {
                let _ = std::io::stderr().lock().write_all(line.as_bytes());
            };
            match PROGRESS.get() {
                Some(bar) => bar.suspend(write),
                None => write(),
            }
        }
    }

    fn flush(&self) {}
}

/// Sends `STATUS=` to the service manager (what `systemctl status` shows); nothing without
/// `$NOTIFY_SOCKET`.
pub fn notify_status(text: &str) {
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Status(text)]);
    if let Some(bar) = progress() {
        bar.set_message(text.to_string());
    }
}

/// Tells the service manager the current step may take `by` more (`EXTEND_TIMEOUT_USEC=`): a
/// long pull or health wait does not hit the service's start timeout, while a deploy that
/// hangs outside such a step still does.
pub fn notify_extend_timeout(by: std::time::Duration) {
    let usec = u32::try_from(by.as_micros()).unwrap_or(u32::MAX);
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::ExtendTimeoutUsec(usec)]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_lines_name_the_level_once() {
        assert_eq!(stderr_line(Level::Info, "done"), "release-tool: done\n");
        assert_eq!(stderr_line(Level::Warn, "x"), "release-tool: warning: x\n");
        assert_eq!(stderr_line(Level::Error, "x"), "release-tool: error: x\n");
    }

    #[test]
    fn the_spinner_shows_only_to_a_person_at_a_terminal() {
        assert!(progress_wanted(true, false, Verbosity::Normal));
        assert!(progress_wanted(true, false, Verbosity::Verbose));
        assert!(!progress_wanted(true, false, Verbosity::Quiet));
        assert!(
            !progress_wanted(true, true, Verbosity::Normal),
            "under systemd"
        );
        assert!(
            !progress_wanted(false, false, Verbosity::Normal),
            "a pipe or a file"
        );
    }

    #[test]
    fn message_ids_are_distinct_128_bit_ids() {
        let mut seen = std::collections::BTreeSet::new();
        for (name, id) in ids::ALL {
            assert_eq!(id.len(), 32, "{name}");
            assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{name}");
            assert!(seen.insert(*id), "{name} repeats an id");
        }
    }

    #[test]
    fn context_fields_replace_and_clear() {
        set_context("TEST_FIELD", "1");
        set_context("TEST_FIELD", "2");
        let c = CONTEXT.read().unwrap().clone();
        assert_eq!(
            c.iter()
                .filter(|(k, _)| k == "TEST_FIELD")
                .collect::<Vec<_>>(),
            vec![&("TEST_FIELD".to_string(), "2".to_string())]
        );
        set_context("TEST_FIELD", "");
        assert!(!CONTEXT
            .read()
            .unwrap()
            .iter()
            .any(|(k, _)| k == "TEST_FIELD"));
    }
}
