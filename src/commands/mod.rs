//! One module per command. `main` parses, `dispatch` picks the module; each returns an exit code.

pub mod completions;
pub mod config;
pub mod context;
pub mod deploy;
pub mod determine_changes;
pub mod down;
pub mod generate_units;
pub mod generator;
pub mod history;
pub mod manage_services;
pub mod plan;
pub mod prune;
pub mod pull_images;
pub mod rollback;
pub mod runtime;
mod yaml_out;

use crate::cli::Command;

/// Documented exit codes (see the man page, EXIT STATUS).
pub mod exit {
    /// Each code once: a constant and its entry in [`ALL`] (which the man page test reads).
    macro_rules! codes {
        ($($(#[$doc:meta])* $name:ident = $value:literal;)*) => {
            $($(#[$doc])* pub const $name: u8 = $value;)*
            /// Every exit code, by name.
            pub const ALL: &[(&str, u8)] = &[$((stringify!($name), $value)),*];
        };
    }
    codes! {
        /// Success.
        OK = 0;
        /// A runtime failure not covered below (I/O, podman or systemctl failed).
        FAILURE = 1;
        /// Bad command line.
        USAGE = 2;
        /// Invalid input: a stack failed to load or translate (the others were still handled).
        INVALID_INPUT = 3;
        /// An image pull failed; nothing was switched.
        PULL_FAILED = 4;
        /// The deploy failed after switching and was rolled back to the previous generation.
        ROLLED_BACK = 5;
        /// The deploy failed and the rollback failed too: the host needs attention.
        ROLLBACK_FAILED = 6;
        /// Another deploy holds the lock (only without --wait).
        LOCKED = 7;
        /// A required tool (quadlet, podman, systemctl) is missing.
        MISSING_TOOL = 8;
    }
}

/// For commands that only print: a closed pipe (`release-tool history | head -1`) ends the process
/// quietly, as it ends `cat`, instead of a panic on the failed write (Rust ignores SIGPIPE).
pub fn quiet_on_closed_pipe() {
    // SAFETY: setting a signal disposition to its default has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Runs the command. Commands that change the host must finish (or undo) what they started, so a
/// reader that goes away (`release-tool deploy | head -1`) must not kill them: they log through the
/// Reporter, which ignores write errors. The others end quietly on a closed pipe.
pub fn dispatch(cmd: &Command) -> u8 {
    if !cmd.changes_the_host() {
        quiet_on_closed_pipe();
    }
    match cmd {
        Command::Config(o) => config::run(o),
        Command::GenerateUnits(o) => generate_units::run(o),
        Command::DetermineChanges(o) => determine_changes::run(o),
        Command::PullImages(o) => pull_images::run(o),
        Command::ManageServices(o) => manage_services::run(o),
        Command::Status(o) => manage_services::status(o),
        Command::Plan(o) => plan::run(o),
        Command::Deploy(o) => deploy::run(o),
        Command::Rollback(o) => rollback::run(o),
        Command::History(o) => history::run(o),
        Command::Down(o) => down::run(o),
        Command::Prune(o) => prune::run(o),
        Command::Generator(dirs) => generator::run(dirs),
        Command::Completions(shell) => completions::run(*shell),
        // `main` prints the help before dispatching; here for completeness.
        Command::Help(_) => {
            print!("{}", crate::cli::USAGE);
            exit::OK
        }
    }
}
