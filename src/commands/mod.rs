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

use crate::cli::{Args, Cmd};

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

/// Commands that change the host: they must finish (or undo) what they started, so a reader that
/// goes away (`release-tool deploy | head -1`) must not kill them. They log through the Reporter,
/// which ignores write errors.
fn changes_the_host(cmd: Cmd, args: &Args) -> bool {
    match cmd {
        Cmd::Deploy | Cmd::Rollback | Cmd::Down | Cmd::Generator => true,
        Cmd::ManageServices => args.positional.first().map(String::as_str) != Some("status"),
        _ => false,
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

pub fn dispatch(args: &Args) -> u8 {
    let Some(spec) = crate::cli::command(&args.command) else {
        eprintln!(
            "release-tool: unknown command '{}' (see release-tool --help)",
            args.command
        );
        return exit::USAGE;
    };
    if !changes_the_host(spec.cmd, args) {
        quiet_on_closed_pipe();
    }
    match spec.cmd {
        Cmd::Config => config::run(args),
        Cmd::GenerateUnits => generate_units::run(args),
        Cmd::DetermineChanges => determine_changes::run(args),
        Cmd::PullImages => pull_images::run(args),
        Cmd::ManageServices => manage_services::run(args),
        Cmd::Status => manage_services::status(args),
        Cmd::Plan => plan::run(args),
        Cmd::Deploy => deploy::run(args),
        Cmd::Rollback => rollback::run(args),
        Cmd::History => history::run(args),
        Cmd::Down => down::run(args),
        Cmd::Prune => prune::run(args),
        Cmd::Generator => generator::run(&args.positional),
        Cmd::Completions => completions::run(args),
        // `main` prints the help before dispatching; here for completeness.
        Cmd::Help => {
            print!("{}", crate::cli::USAGE);
            exit::OK
        }
    }
}
