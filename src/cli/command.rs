//! The typed command line: one variant per command, each holding only the options that command
//! takes, with values already checked (`--format` as a [`Format`], `manage-services`' action,
//! `rollback`'s generation, `completions`' shell). [`Args`] is what the parser collected;
//! [`Args::command`] turns it into a [`Command`] after [`check`](super::check) has refused the
//! options the table ([`COMMANDS`](super::COMMANDS)) does not give the command. The table stays the
//! one source of the help, the man page and the completions; a test keeps every option it lists for
//! a command reaching that command's options here.

use std::path::PathBuf;

use super::{command as spec_of, Args, Cmd, CommandSpec};

/// An output format (`--format`); each command prints a subset, the first of which is its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Yaml,
    Lines,
}

impl Format {
    fn from_name(name: &str) -> Option<Format> {
        match name {
            "text" => Some(Format::Text),
            "json" => Some(Format::Json),
            "yaml" => Some(Format::Yaml),
            "lines" => Some(Format::Lines),
            _ => None,
        }
    }
}

/// Where the checkout is: every command that reads it takes these.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checkout {
    pub repo: Option<PathBuf>,
    pub services_dir: Option<PathBuf>,
    pub vars_file: Option<PathBuf>,
    pub vars_json: Option<String>,
}

/// Bounds of the work that waits on others: `timeout` (one pull, one restart level's health
/// wait), and for pulls, how many run at once and how often a failed one is retried.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub timeout: Option<u64>,
    pub jobs: Option<usize>,
    pub retries: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConfigOpts {
    pub checkout: Checkout,
    pub stacks: Vec<String>,
    pub format: Format,
    pub strict: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GenerateUnitsOpts {
    pub checkout: Checkout,
    pub output_dir: Option<PathBuf>,
    pub affected_services: Option<Vec<String>>,
    pub stacks: Vec<String>,
    pub meta_target: Option<String>,
    pub strict: bool,
    pub podman_version: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DetermineChangesOpts {
    pub checkout: Checkout,
    pub changed_files: Option<Vec<String>>,
    pub assume_values_changed: bool,
    pub format: Format,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PullImagesOpts {
    pub affected_services: Option<Vec<String>>,
    pub units_dir: Option<PathBuf>,
    pub limits: Limits,
}

/// `manage-services restart|status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServicesAction {
    Restart,
    Status,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ManageServicesOpts {
    pub action: ServicesAction,
    pub state_dir: Option<PathBuf>,
    pub affected_services: Option<Vec<String>>,
    pub format: Format,
    pub limits: Limits,
    pub wait: bool,
    pub dry_run: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlanOpts {
    pub checkout: Checkout,
    pub state_dir: Option<PathBuf>,
    pub format: Format,
    pub podman_version: Option<String>,
    pub strict: bool,
    pub limits: Limits,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeployOpts {
    pub checkout: Checkout,
    pub state_dir: Option<PathBuf>,
    pub podman_version: Option<String>,
    pub strict: bool,
    pub wait: bool,
    pub limits: Limits,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RollbackOpts {
    pub state_dir: Option<PathBuf>,
    pub wait: bool,
    pub limits: Limits,
    /// The generation to return to; None: the one before the current one.
    pub generation: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HistoryOpts {
    pub state_dir: Option<PathBuf>,
    pub format: Format,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DownOpts {
    pub state_dir: Option<PathBuf>,
    pub wait: bool,
    pub limits: Limits,
    pub volumes: bool,
    pub purge_state: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PruneOpts {
    pub state_dir: Option<PathBuf>,
    pub wait: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StatusOpts {
    pub state_dir: Option<PathBuf>,
    pub affected_services: Option<Vec<String>>,
    pub format: Format,
}

/// A shell `completions` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// A command with its options.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Config(ConfigOpts),
    GenerateUnits(GenerateUnitsOpts),
    DetermineChanges(DetermineChangesOpts),
    PullImages(PullImagesOpts),
    ManageServices(ManageServicesOpts),
    Plan(PlanOpts),
    Deploy(DeployOpts),
    Rollback(RollbackOpts),
    History(HistoryOpts),
    Down(DownOpts),
    Prune(PruneOpts),
    Status(StatusOpts),
    /// The generator's directories (systemd passes one or three).
    Generator(Vec<String>),
    Completions(Shell),
    /// `help [COMMAND]`.
    Help(Option<String>),
}

impl StatusOpts {
    /// `manage-services status` is `status`.
    pub fn from_manage_services(o: &ManageServicesOpts) -> StatusOpts {
        StatusOpts {
            state_dir: o.state_dir.clone(),
            affected_services: o.affected_services.clone(),
            format: o.format,
        }
    }
}

impl Args {
    /// The typed command: `Err` is the message for a usage error (exit 2). Call after
    /// [`check`](super::check), which refuses options the command does not take.
    pub fn command(&self) -> Result<Command, String> {
        let spec =
            spec_of(&self.command).ok_or_else(|| format!("unknown command '{}'", self.command))?;
        let name = spec.name;
        let format = self.format_for(spec)?;
        let checkout = Checkout {
            repo: self.repo.clone(),
            services_dir: self.services_dir.clone(),
            vars_file: self.vars_file.clone(),
            vars_json: self.vars_json.clone(),
        };
        let limits = Limits {
            timeout: self.timeout,
            jobs: self.jobs,
            retries: self.retries,
        };
        let state_dir = self.state_dir.clone();
        let mut words = self.positional.iter().map(String::as_str);
        let cmd = match spec.cmd {
            Cmd::Config => Command::Config(ConfigOpts {
                checkout,
                stacks: self.stacks.clone(),
                format,
                strict: self.strict,
            }),
            Cmd::GenerateUnits => Command::GenerateUnits(GenerateUnitsOpts {
                checkout,
                output_dir: self.output_dir.clone(),
                affected_services: self.affected_services.clone(),
                stacks: self.stacks.clone(),
                meta_target: self.meta_target.clone(),
                strict: self.strict,
                podman_version: self.podman_version.clone(),
            }),
            Cmd::DetermineChanges => Command::DetermineChanges(DetermineChangesOpts {
                checkout,
                changed_files: self.changed_files.clone(),
                assume_values_changed: self.assume_values_changed,
                format,
            }),
            Cmd::PullImages => Command::PullImages(PullImagesOpts {
                affected_services: self.affected_services.clone(),
                units_dir: self.units_dir.clone(),
                limits,
            }),
            Cmd::ManageServices => {
                let action = match words.next() {
                    Some("restart") => ServicesAction::Restart,
                    Some("status") => ServicesAction::Status,
                    other => {
                        return Err(format!(
                            "manage-services needs 'restart' or 'status'{}",
                            other.map(|o| format!(" (not '{o}')")).unwrap_or_default()
                        ))
                    }
                };
                Command::ManageServices(ManageServicesOpts {
                    action,
                    state_dir,
                    affected_services: self.affected_services.clone(),
                    format,
                    limits,
                    wait: self.wait,
                    dry_run: self.dry_run,
                })
            }
            Cmd::Plan => Command::Plan(PlanOpts {
                checkout,
                state_dir,
                format,
                podman_version: self.podman_version.clone(),
                strict: self.strict,
                limits,
            }),
            Cmd::Deploy => Command::Deploy(DeployOpts {
                checkout,
                state_dir,
                podman_version: self.podman_version.clone(),
                strict: self.strict,
                wait: self.wait,
                limits,
            }),
            Cmd::Rollback => {
                let generation = match words.next() {
                    None => None,
                    Some(g) => Some(
                        g.parse::<u64>()
                            .map_err(|_| format!("rollback: '{g}' is not a generation number"))?,
                    ),
                };
                Command::Rollback(RollbackOpts {
                    state_dir,
                    wait: self.wait,
                    limits,
                    generation,
                })
            }
            Cmd::History => Command::History(HistoryOpts { state_dir, format }),
            Cmd::Down => Command::Down(DownOpts {
                state_dir,
                wait: self.wait,
                limits,
                volumes: self.volumes,
                purge_state: self.purge_state,
            }),
            Cmd::Prune => Command::Prune(PruneOpts {
                state_dir,
                wait: self.wait,
            }),
            Cmd::Status => Command::Status(StatusOpts {
                state_dir,
                affected_services: self.affected_services.clone(),
                format,
            }),
            // systemd.generator(7) decides how many: the generator checks them itself.
            Cmd::Generator => Command::Generator(words.by_ref().map(str::to_owned).collect()),
            Cmd::Completions => {
                let shell = match words.next() {
                    Some("bash") => Shell::Bash,
                    Some("zsh") => Shell::Zsh,
                    Some("fish") => Shell::Fish,
                    other => {
                        return Err(format!(
                            "completions needs a shell: bash, zsh or fish{}",
                            other.map(|o| format!(" (not {o:?})")).unwrap_or_default()
                        ))
                    }
                };
                Command::Completions(shell)
            }
            Cmd::Help => Command::Help(words.next().map(str::to_owned)),
        };
        if let Some(extra) = words.next() {
            return Err(format!(
                "{name}: unexpected argument '{extra}' (see release-tool {name} --help)"
            ));
        }
        Ok(cmd)
    }

    /// `--format` as given, else the command's default; a command without formats gets `Text`
    /// (it prints none, `check` refuses the option).
    fn format_for(&self, spec: &CommandSpec) -> Result<Format, String> {
        let name = self
            .format
            .as_deref()
            .or(spec.formats.first().copied())
            .unwrap_or("text");
        Format::from_name(name).ok_or_else(|| {
            format!(
                "{}: --format {name}: this command prints {}",
                spec.name,
                spec.formats.join(" or ")
            )
        })
    }
}

impl Command {
    /// Commands that change the host: they must finish (or undo) what they started.
    pub fn changes_the_host(&self) -> bool {
        match self {
            Command::Deploy(_)
            | Command::Rollback(_)
            | Command::Down(_)
            | Command::Generator(_) => true,
            Command::ManageServices(o) => o.action == ServicesAction::Restart,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{check, parse, COMMANDS, FLAGS};
    use super::*;
    use std::ffi::OsString;

    fn typed(argv: &[String]) -> Result<Command, String> {
        let a = parse(argv.iter().map(OsString::from)).map_err(|e| e.to_string())?;
        check(&a)?;
        a.command()
    }

    /// The words a command needs before its options.
    fn leading(c: &CommandSpec) -> Vec<String> {
        let mut v = vec![c.name.to_string()];
        match c.cmd {
            Cmd::ManageServices => v.push("restart".into()),
            Cmd::Completions => v.push("fish".into()),
            _ => {}
        }
        v
    }

    /// A distinct value for each option, so its arrival can be seen in the typed options.
    fn value_of(c: &CommandSpec, flag: &str, i: usize) -> String {
        match flag {
            "format" => c.formats.last().unwrap().to_string(),
            "podman-version" => format!("4.{}", 100 + i),
            "jobs" | "retries" | "timeout" => format!("{}", 1000 + i),
            _ => format!("value-of-{flag}"),
        }
    }

    #[test]
    fn every_option_the_table_gives_a_command_reaches_its_typed_options() {
        for c in COMMANDS {
            let mut argv = leading(c);
            let mut expect = Vec::new();
            for (i, name) in c.flags.iter().enumerate() {
                let f = FLAGS.iter().find(|f| f.name == *name).unwrap();
                argv.push(format!("--{name}"));
                let field = name.replace('-', "_");
                match f.value {
                    Some(_) => {
                        let v = value_of(c, name, i);
                        argv.push(v.clone());
                        let shown = match *name {
                            "format" => format!("{:?}", Format::from_name(&v).unwrap()),
                            _ => v,
                        };
                        expect.push(shown);
                    }
                    None => expect.push(format!("{field}: true")),
                }
            }
            let cmd = typed(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
            let shown = format!("{cmd:?}");
            for e in expect {
                assert!(
                    shown.contains(&e),
                    "{}: {e} is lost on the way to {shown}",
                    c.name
                );
            }
        }
    }

    #[test]
    fn without_options_each_command_gets_its_defaults() {
        for c in COMMANDS {
            let cmd = typed(&leading(c)).unwrap_or_else(|e| panic!("{}: {e}", c.name));
            let shown = format!("{cmd:?}");
            assert!(!shown.contains("Some("), "{shown}");
            if let Some(first) = c.formats.first() {
                let f = format!("{:?}", Format::from_name(first).unwrap());
                assert!(shown.contains(&format!("format: {f}")), "{shown}");
            }
        }
    }

    #[test]
    fn positional_words_are_checked_and_surplus_ones_refused() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let e = typed(&s(&["manage-services", "reboot"])).unwrap_err();
        assert!(e.contains("restart") && e.contains("reboot"), "{e}");
        let e = typed(&s(&["rollback", "three"])).unwrap_err();
        assert!(e.contains("'three' is not a generation number"), "{e}");
        assert_eq!(
            typed(&s(&["rollback", "3"])).unwrap(),
            Command::Rollback(RollbackOpts {
                state_dir: None,
                wait: false,
                limits: Limits::default(),
                generation: Some(3),
            })
        );
        let e = typed(&s(&["completions", "tcsh"])).unwrap_err();
        assert!(e.contains("bash, zsh or fish") && e.contains("tcsh"), "{e}");
        for argv in [
            &["deploy", "now"][..],
            &["config", "web"],
            &["rollback", "3", "4"],
            &["manage-services", "status", "web"],
        ] {
            let e = typed(&s(argv)).unwrap_err();
            assert!(
                e.contains(argv[0]) && e.contains(argv[argv.len() - 1]),
                "{argv:?}: {e}"
            );
        }
        assert_eq!(
            typed(&s(&["generator", "/a", "/b", "/c"])).unwrap(),
            Command::Generator(s(&["/a", "/b", "/c"]))
        );
    }

    #[test]
    fn manage_services_changes_the_host_only_when_it_restarts() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(typed(&s(&["manage-services", "restart"]))
            .unwrap()
            .changes_the_host());
        assert!(!typed(&s(&["manage-services", "status"]))
            .unwrap()
            .changes_the_host());
        assert!(typed(&s(&["deploy"])).unwrap().changes_the_host());
        assert!(!typed(&s(&["plan"])).unwrap().changes_the_host());
    }
}
