//! What a deploy tells the world: log entries with structured fields (`STACK=`, `UNIT=`,
//! `IMAGE=`, `MESSAGE_ID=`, plus the context `GENERATION=`, `GIT_REV=`) and the service manager's
//! status line (`STATUS=`) and start timeout (`EXTEND_TIMEOUT_USEC=`).
//!
//! The transaction speaks to a [`Report`]; [`Journal`] is the process's (the `log` facade, whose
//! backend `crate::logging` installs, and sd_notify), and unit tests record with
//! `deploy::fake::Recorder`.

use std::time::Duration;

use log::Level;

pub trait Report: Sync {
    /// Logs `message` with extra fields (`STACK`, `UNIT`, `MESSAGE_ID`…; empty values are left
    /// out).
    fn log(&self, level: Level, fields: &[(&str, &str)], message: &str);
    /// Sends `STATUS=` only (the caller logs the same news its own way).
    fn notify_status(&self, text: &str);
    /// The step starting now may take up to `by`: extends the service's start timeout.
    fn extend_timeout(&self, by: Duration);
    /// Sets a field carried by every later entry (`GENERATION`, `GIT_REV`).
    fn set_context(&self, key: &str, value: &str);

    fn info(&self, fields: &[(&str, &str)], message: &str) {
        self.log(Level::Info, fields, message)
    }
    fn warn(&self, fields: &[(&str, &str)], message: &str) {
        self.log(Level::Warn, fields, message)
    }
    fn error(&self, fields: &[(&str, &str)], message: &str) {
        self.log(Level::Error, fields, message)
    }
    /// Sends `STATUS=` (shown by `systemctl status`) and logs it.
    fn status(&self, text: &str) {
        self.status_with(&[], text);
    }
    /// [`Report::status`] with fields on the entry (a `MESSAGE_ID`, the `STACK`).
    fn status_with(&self, fields: &[(&str, &str)], text: &str) {
        self.notify_status(text);
        self.log(Level::Info, fields, text);
    }
}

/// The process's report: the `log` facade and sd_notify.
#[derive(Debug, Default)]
pub struct Journal;

impl Report for Journal {
    fn log(&self, level: Level, fields: &[(&str, &str)], message: &str) {
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .copied()
            .collect();
        log::logger().log(
            &log::Record::builder()
                .args(format_args!("{message}"))
                .level(level)
                .target(module_path!())
                .module_path_static(Some(module_path!()))
                .key_values(&fields)
                .build(),
        );
    }

    fn notify_status(&self, text: &str) {
        crate::logging::notify_status(text);
    }

    fn extend_timeout(&self, by: Duration) {
        crate::logging::notify_extend_timeout(by);
    }

    fn set_context(&self, key: &str, value: &str) {
        crate::logging::set_context(key, value);
    }
}
