//! Command-line parsing, on lexopt. The table ([`COMMANDS`], [`FLAGS`]) says which options each
//! command takes and is the one source of the help, the man page and the completions; [`parse`]
//! collects the words into [`Args`], [`check`] refuses what the table does not give the command, and
//! [`Args::command`] makes the typed [`Command`]: one variant per command with its own options.

use std::ffi::OsString;
use std::path::PathBuf;

pub mod command;
pub mod man;

pub use command::Command;

pub const USAGE: &str = "\
Usage: release-tool <COMMAND> [OPTIONS]

Deploy a git repository of Docker Compose stacks as Podman Quadlet units supervised by systemd.

Commands:
  config             Print each stack's normalized Compose model (like `docker compose config`)
  generate-units     Render the Quadlet units of some or all stacks into a directory
  determine-changes  List the stacks affected by a set of changed files (path-based)
  pull-images        Pull the images the units in a directory (of some stacks) need
  manage-services    `restart` stacks with their dependents, in order; or show their `status`
  plan               Show what a deploy would do now: units diff, pulls, restart order
  deploy             Render, pull, switch generation, restart what changed, roll back on failure
  rollback           Switch back to the previous (or a given) generation and restart
  history            List the generations with revision, time and outcome
  down               Stop and remove every stack (and the trigger); --volumes, --purge-state
  prune              Drop generations beyond the keep count and the images only they used
  status             Same as `manage-services status`
  generator          Run as the systemd user generator (also when invoked as release-tool-generator)
  completions        Print the shell completion script: bash, zsh or fish
  help               Print this help, or a command's help: release-tool help <COMMAND>

Common options:
  --repo DIR              The checkout (default: $RELEASE_TOOL_REPO, else ~/release-tool-repo,
                          the repo release-tool-deploy.service deploys)
  --services-dir DIR      Stacks directory (default: <repo>/services)
  --vars-file FILE        Global variables file (default: <repo>/values.env when present)
  --vars-json JSON        Global variables as a JSON object; wins over --vars-file
  --state-dir DIR         Generations store (default: $RELEASE_TOOL_STATE_DIR, else
                          $XDG_STATE_HOME/release-tool, else ~/.local/state/release-tool)
  --podman-version X.Y    Target Podman version (default: detected, else 5.4)
  --format FORMAT         Output format: text, json, yaml or lines (per command)
  -q, --quiet             Print only warnings and errors, not what each step did
  -v, --verbose           Print more detail (debug messages), also to the journal
  -h, --help              Print help
  -V, --version           Print version
";

/// Switches every command takes: (short, long, help), in the order the help lists them.
pub const GLOBAL_SWITCHES: &[(char, &str, &str)] = &[
    (
        'q',
        "quiet",
        "Print only warnings and errors, not what each step did",
    ),
    (
        'v',
        "verbose",
        "Print more detail (debug messages), also to the journal",
    ),
    ('h', "help", "Print this help"),
];

/// One option: its long name, the value it takes (None: a switch) and a line of help.
pub struct Flag {
    pub name: &'static str,
    pub value: Option<&'static str>,
    pub help: &'static str,
}

const fn flag(name: &'static str, value: Option<&'static str>, help: &'static str) -> Flag {
    Flag { name, value, help }
}

/// Every option (the man page's OPTIONS section documents each).
pub const FLAGS: &[Flag] = &[
    flag(
        "repo",
        Some("DIR"),
        "The checkout (default: $RELEASE_TOOL_REPO, else ~/release-tool-repo)",
    ),
    flag(
        "services-dir",
        Some("DIR"),
        "Stacks directory (default: <repo>/services)",
    ),
    flag(
        "vars-file",
        Some("FILE"),
        "Global variables file (default: <repo>/values.env when present)",
    ),
    flag(
        "vars-json",
        Some("JSON"),
        "Global variables as a JSON object; wins over --vars-file",
    ),
    flag(
        "state-dir",
        Some("DIR"),
        "Generations store (default: $RELEASE_TOOL_STATE_DIR, else ~/.local/state/release-tool)",
    ),
    flag(
        "podman-version",
        Some("X.Y"),
        "Target Podman version (default: detected, else 5.4)",
    ),
    flag("format", Some("FORMAT"), "Output format"),
    flag("stack", Some("NAME"), "Only this stack (repeatable)"),
    flag(
        "affected-services",
        Some("\"STACK ...\""),
        "The stacks to act on (spaces or commas)",
    ),
    flag(
        "changed-files",
        Some("\"PATH ...\""),
        "The changed repository paths",
    ),
    flag(
        "assume-values-changed",
        None,
        "Treat the global variables as changed (every stack)",
    ),
    flag(
        "output-dir",
        Some("DIR"),
        "Where to write the Quadlet files",
    ),
    flag(
        "units-dir",
        Some("DIR"),
        "The directory of Quadlet files whose images are pulled",
    ),
    flag(
        "meta-target",
        Some("NAME"),
        "Also write NAME.target wanting every stack",
    ),
    flag(
        "strict",
        None,
        "Unknown keys, and Compose fields Podman cannot carry, are errors, not warnings",
    ),
    flag("jobs", Some("N"), "Image pulls in parallel (default 4)"),
    flag(
        "retries",
        Some("N"),
        "Retries of a failed pull, with backoff (default 2)",
    ),
    flag(
        "timeout",
        Some("SECONDS"),
        "Bound on one pull and on one restart level's health wait (default 120)",
    ),
    flag(
        "dry-run",
        None,
        "Print the restart order and change nothing",
    ),
    flag(
        "wait",
        None,
        "Wait for another deploy to release the lock instead of exiting 7",
    ),
    flag(
        "volumes",
        None,
        "Also remove the stacks' volumes, with their data",
    ),
    flag(
        "purge-state",
        None,
        "Also remove the state directory (every generation)",
    ),
];

/// The commands, one variant each ([`COMMANDS`] gives each its name, options and help).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    Config,
    GenerateUnits,
    DetermineChanges,
    PullImages,
    ManageServices,
    Plan,
    Deploy,
    Rollback,
    History,
    Down,
    Prune,
    Status,
    Generator,
    Completions,
    Help,
}

/// One command: its name, what follows it, a line of help, the options it takes (beyond
/// `-h`/`--help`) and the values its `--format` takes (the first is the default).
pub struct CommandSpec {
    /// Which command: `commands::dispatch` matches on it, so every command of the table has a
    /// handler (the compiler checks).
    pub cmd: Cmd,
    pub name: &'static str,
    pub args: &'static str,
    pub summary: &'static str,
    pub flags: &'static [&'static str],
    pub formats: &'static [&'static str],
}

/// The options of every command that reads the checkout.
macro_rules! checkout_flags {
    ($($more:literal),* $(,)?) => {
        &["repo", "services-dir", "vars-file", "vars-json", $($more),*]
    };
}

/// The commands, in the order of the usage text. `parse` refuses an option a command does not
/// take and a `--format` it does not print; `COMMAND --help` prints its entry.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        cmd: Cmd::Config,
        name: "config",
        args: "",
        summary: "Print each stack's normalized Compose model (like `docker compose config`)",
        flags: checkout_flags!["stack", "format", "strict"],
        formats: &["json", "yaml"],
    },
    CommandSpec {
        cmd: Cmd::GenerateUnits,
        name: "generate-units",
        args: "--output-dir DIR",
        summary: "Render the Quadlet units of some or all stacks into a directory",
        flags: checkout_flags![
            "output-dir",
            "affected-services",
            "stack",
            "meta-target",
            "strict",
            "podman-version"
        ],
        formats: &[],
    },
    CommandSpec {
        cmd: Cmd::DetermineChanges,
        name: "determine-changes",
        args: "",
        summary: "List the stacks affected by a set of changed files (path-based)",
        flags: checkout_flags!["changed-files", "assume-values-changed", "format"],
        formats: &["lines", "text", "json"],
    },
    CommandSpec {
        cmd: Cmd::PullImages,
        name: "pull-images",
        args: "--affected-services \"STACK ...\" --units-dir DIR",
        summary: "Pull the images the units in a directory (of some stacks) need",
        flags: &[
            "affected-services",
            "units-dir",
            "jobs",
            "retries",
            "timeout",
        ],
        formats: &[],
    },
    CommandSpec {
        cmd: Cmd::ManageServices,
        name: "manage-services",
        args: "restart|status",
        summary: "`restart` stacks with their dependents, in order; or show their `status`",
        flags: &[
            "state-dir",
            "affected-services",
            "format",
            "timeout",
            "wait",
            "dry-run",
        ],
        formats: &["text", "json"],
    },
    CommandSpec {
        cmd: Cmd::Plan,
        name: "plan",
        args: "",
        summary: "Show what a deploy would do now: units diff, pulls, restart order",
        flags: checkout_flags!["state-dir", "format", "podman-version", "strict", "timeout"],
        formats: &["text", "json"],
    },
    CommandSpec {
        cmd: Cmd::Deploy,
        name: "deploy",
        args: "",
        summary: "Render, pull, switch generation, restart what changed, roll back on failure",
        flags: checkout_flags![
            "state-dir",
            "podman-version",
            "strict",
            "wait",
            "timeout",
            "jobs",
            "retries"
        ],
        formats: &[],
    },
    CommandSpec {
        cmd: Cmd::Rollback,
        name: "rollback",
        args: "[GEN]",
        summary: "Switch back to the previous (or a given) generation and restart",
        flags: &["state-dir", "wait", "timeout"],
        formats: &[],
    },
    CommandSpec {
        cmd: Cmd::History,
        name: "history",
        args: "",
        summary: "List the generations with revision, time and outcome",
        flags: &["state-dir", "format"],
        formats: &["text", "json"],
    },
    CommandSpec {
        cmd: Cmd::Down,
        name: "down",
        args: "",
        summary: "Stop and remove every stack (and the trigger); --volumes, --purge-state",
        flags: &["state-dir", "wait", "timeout", "volumes", "purge-state"],
        formats: &[],
    },
    CommandSpec {
        cmd: Cmd::Prune,
        name: "prune",
        args: "",
        summary: "Drop generations beyond the keep count and the images only they used",
        flags: &["state-dir", "wait"],
        formats: &[],
    },
    CommandSpec {
        cmd: Cmd::Status,
        name: "status",
        args: "",
        summary: "Same as `manage-services status`",
        flags: &["state-dir", "affected-services", "format"],
        formats: &["text", "json"],
    },
    CommandSpec {
        cmd: Cmd::Generator,
        name: "generator",
        args: "NORMAL-DIR [EARLY-DIR LATE-DIR]",
        summary: "Run as the systemd user generator (also when invoked as release-tool-generator)",
        flags: &[],
        formats: &[],
    },
    CommandSpec {
        cmd: Cmd::Completions,
        name: "completions",
        args: "bash|zsh|fish",
        summary: "Print the shell completion script: bash, zsh or fish",
        flags: &[],
        formats: &[],
    },
    CommandSpec {
        cmd: Cmd::Help,
        name: "help",
        args: "[COMMAND]",
        summary: "Print this help, or a command's help: release-tool help <COMMAND>",
        flags: &[],
        formats: &[],
    },
];

impl CommandSpec {
    /// The options this command takes, as [`FLAGS`] entries.
    pub fn options(&self) -> impl Iterator<Item = &'static Flag> + '_ {
        self.flags
            .iter()
            .filter_map(|n| FLAGS.iter().find(|f| f.name == *n))
    }

    /// An option's help for this command: `--format` lists the formats it prints.
    pub fn option_help(&self, f: &Flag) -> String {
        match (f.name, self.formats) {
            ("format", fs) if !fs.is_empty() => {
                format!("Output format: {} (default {})", fs.join(", "), fs[0])
            }
            _ => f.help.to_string(),
        }
    }
}

pub fn command(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.name == name)
}

/// A command's usage: what it does and every option it takes.
pub fn command_usage(c: &CommandSpec) -> String {
    let mut out = format!(
        "Usage: release-tool {}{}{} [OPTIONS]\n\n{}\n\nOptions:\n",
        c.name,
        if c.args.is_empty() { "" } else { " " },
        c.args,
        c.summary
    );
    let mut rows: Vec<(String, String)> = c
        .options()
        .map(|f| {
            let left = match f.value {
                Some(v) => format!("--{} {v}", f.name),
                None => format!("--{}", f.name),
            };
            (left, c.option_help(f))
        })
        .collect();
    rows.extend(
        GLOBAL_SWITCHES
            .iter()
            .map(|(short, long, help)| (format!("-{short}, --{long}"), help.to_string())),
    );
    let width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    for (l, h) in rows {
        out.push_str(&format!("  {l:<width$}  {h}\n"));
    }
    out
}

/// The command closest to a mistyped one, for "did you mean".
pub fn closest_command(name: &str) -> Option<&'static str> {
    crate::diag::closest(name, COMMANDS.iter().map(|c| c.name))
}

/// Checks the options given against the command's: an option it does not take, or a `--format`
/// it does not print, is an error naming both (exit 2).
pub fn check(a: &Args) -> Result<(), String> {
    let Some(c) = command(&a.command) else {
        return Err(match closest_command(&a.command) {
            Some(n) => format!("unknown command '{}': did you mean '{n}'?", a.command),
            None => format!("unknown command '{}'", a.command),
        });
    };
    for f in &a.given {
        if !c.flags.contains(f) {
            return Err(format!(
                "{}: --{f} is not an option of this command (see release-tool {} --help)",
                c.name, c.name
            ));
        }
    }
    if let Some(fmt) = &a.format {
        if !c.formats.contains(&fmt.as_str()) {
            return Err(format!(
                "{}: --format {fmt}: this command prints {}",
                c.name,
                c.formats.join(" or ")
            ));
        }
    }
    Ok(())
}

/// The words of a command line as parsed, before [`check`] and [`Args::command`] type them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Args {
    pub command: String,
    /// `manage-services restart|status`, `rollback GEN`, the generator's directories.
    pub positional: Vec<String>,
    pub repo: Option<PathBuf>,
    pub services_dir: Option<PathBuf>,
    pub vars_file: Option<PathBuf>,
    pub vars_json: Option<String>,
    pub state_dir: Option<PathBuf>,
    pub podman_version: Option<String>,
    pub format: Option<String>,
    pub stacks: Vec<String>,
    pub affected_services: Option<Vec<String>>,
    pub changed_files: Option<Vec<String>>,
    pub assume_values_changed: bool,
    pub output_dir: Option<PathBuf>,
    pub units_dir: Option<PathBuf>,
    pub meta_target: Option<String>,
    pub strict: bool,
    pub jobs: Option<usize>,
    pub retries: Option<u32>,
    pub timeout: Option<u64>,
    pub dry_run: bool,
    pub wait: bool,
    /// `down --volumes`: remove the stacks' volumes too.
    pub volumes: bool,
    /// `down --purge-state`: remove the state directory (every generation) too.
    pub purge_state: bool,
    pub help: bool,
    pub version: bool,
    /// `-q`: only warnings and errors on stderr.
    pub quiet: bool,
    /// `-v`: debug messages too.
    pub verbose: bool,
    /// The long options given, in order (for [`check`]).
    pub given: Vec<&'static str>,
}

/// Splits the seed tool's space-separated lists (`--affected-services "a b"`), also accepting commas.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

pub fn parse<I: IntoIterator<Item = OsString>>(args: I) -> Result<Args, lexopt::Error> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_args(args);
    let mut a = Args::default();
    while let Some(arg) = parser.next()? {
        if let Long(name) = &arg {
            if let Some(f) = FLAGS.iter().find(|f| f.name == *name) {
                a.given.push(f.name);
            }
        }
        match arg {
            Short('h') | Long("help") => a.help = true,
            Short('V') | Long("version") => a.version = true,
            Short('q') | Long("quiet") => a.quiet = true,
            Short('v') | Long("verbose") => a.verbose = true,
            Long("repo") => a.repo = Some(parser.value()?.into()),
            Long("services-dir") => a.services_dir = Some(parser.value()?.into()),
            Long("vars-file") => a.vars_file = Some(parser.value()?.into()),
            Long("vars-json") => a.vars_json = Some(parser.value()?.string()?),
            Long("state-dir") => a.state_dir = Some(parser.value()?.into()),
            Long("podman-version") => a.podman_version = Some(parser.value()?.string()?),
            Long("format") => a.format = Some(parser.value()?.string()?),
            Long("stack") => a.stacks.push(parser.value()?.string()?),
            Long("affected-services") => {
                let v = split_list(&parser.value()?.string()?);
                a.affected_services.get_or_insert_with(Vec::new).extend(v);
            }
            Long("changed-files") => {
                let v = split_list(&parser.value()?.string()?);
                a.changed_files.get_or_insert_with(Vec::new).extend(v);
            }
            Long("assume-values-changed") => a.assume_values_changed = true,
            Long("output-dir") => a.output_dir = Some(parser.value()?.into()),
            Long("units-dir") => a.units_dir = Some(parser.value()?.into()),
            Long("meta-target") => a.meta_target = Some(parser.value()?.string()?),
            Long("strict") => a.strict = true,
            Long("jobs") => a.jobs = Some(parser.value()?.parse()?),
            Long("retries") => a.retries = Some(parser.value()?.parse()?),
            Long("timeout") => a.timeout = Some(parser.value()?.parse()?),
            Long("dry-run") => a.dry_run = true,
            Long("wait") => a.wait = true,
            Long("volumes") => a.volumes = true,
            Long("purge-state") => a.purge_state = true,
            Value(v) if a.command.is_empty() => a.command = v.string()?,
            Value(v) => a.positional.push(v.string()?),
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &[&str]) -> Args {
        parse(v.iter().map(OsString::from)).unwrap()
    }

    #[test]
    fn each_command_of_the_table_is_its_own_variant() {
        for (i, a) in COMMANDS.iter().enumerate() {
            assert_eq!(command(a.name).map(|c| c.cmd), Some(a.cmd));
            for b in &COMMANDS[i + 1..] {
                assert!(
                    a.cmd != b.cmd && a.name != b.name,
                    "{} / {}",
                    a.name,
                    b.name
                );
            }
        }
    }

    #[test]
    fn seed_flags_keep_their_meaning() {
        let a = p(&[
            "generate-units",
            "--affected-services",
            "a b,c",
            "--services-dir",
            "s",
            "--output-dir",
            "o",
        ]);
        assert_eq!(a.command, "generate-units");
        assert_eq!(
            a.affected_services,
            Some(vec!["a".into(), "b".into(), "c".into()])
        );
        assert_eq!(a.services_dir, Some(PathBuf::from("s")));
        let a = p(&["manage-services", "restart", "--affected-services", "web"]);
        assert_eq!(a.positional, vec!["restart"]);
    }

    #[test]
    fn an_option_a_command_does_not_take_is_refused_naming_both() {
        let e = check(&p(&["config", "--wait", "--jobs", "3"])).unwrap_err();
        assert!(e.contains("config") && e.contains("--wait"), "{e}");
        let e = check(&p(&["history", "--format", "bogus"])).unwrap_err();
        assert!(
            e.contains("history") && e.contains("bogus") && e.contains("json"),
            "{e}"
        );
        assert!(check(&p(&["history", "--format", "json", "--state-dir", "s"])).is_ok());
        assert!(check(&p(&["deploy", "--wait", "--timeout", "60", "--repo", "r"])).is_ok());
        assert!(check(&p(&[
            "manage-services",
            "restart",
            "--affected-services",
            "a",
            "--dry-run"
        ]))
        .is_ok());
        // Every option is refused by every command that does not list it.
        for c in COMMANDS {
            for f in FLAGS {
                let mut argv = vec![c.name.to_string(), format!("--{}", f.name)];
                if f.value.is_some() {
                    let v = match f.name {
                        "format" => c.formats.first().copied().unwrap_or("json"),
                        _ => "1",
                    };
                    argv.push(v.to_string());
                }
                let a = parse(argv.iter().map(OsString::from)).unwrap();
                assert_eq!(
                    check(&a).is_ok(),
                    c.flags.contains(&f.name),
                    "{} --{}",
                    c.name,
                    f.name
                );
            }
            // and a --format it does not print, for every command that takes --format
            if c.flags.contains(&"format") {
                let a = p(&[c.name, "--format", "bogus"]);
                let e = check(&a).unwrap_err();
                assert!(e.contains(c.name) && e.contains("bogus"), "{e}");
            }
        }
    }

    #[test]
    fn the_usage_text_the_table_and_each_command_help_agree() {
        for c in COMMANDS {
            let line = USAGE
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{} ", c.name)))
                .unwrap_or_else(|| panic!("USAGE lacks {}", c.name));
            assert!(line.ends_with(c.summary), "{line:?} vs {:?}", c.summary);
            let help = command_usage(c);
            for f in c.flags {
                assert!(
                    help.contains(&format!("--{f}")),
                    "{} --help lacks --{f}",
                    c.name
                );
                assert!(FLAGS.iter().any(|x| x.name == *f), "--{f} is not in FLAGS");
            }
        }
        for f in FLAGS {
            assert!(
                COMMANDS.iter().any(|c| c.flags.contains(&f.name)),
                "no command takes --{}",
                f.name
            );
        }
    }

    #[test]
    fn a_mistyped_command_gets_the_closest_one() {
        assert_eq!(closest_command("deplyo"), Some("deploy"));
        assert_eq!(closest_command("stauts"), Some("status"));
        assert_eq!(closest_command("frobnicate"), None);
        let e = check(&p(&["rollbak"])).unwrap_err();
        assert!(e.contains("did you mean 'rollback'"), "{e}");
    }

    #[test]
    fn unknown_flag_is_refused() {
        assert!(parse(["config", "--bogus"].iter().map(OsString::from)).is_err());
    }
}
