//! Command-line parsing. One struct of options shared by the commands; each command reads the
//! options it documents and `parse` refuses the ones it does not take.

use std::ffi::OsString;
use std::path::PathBuf;

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
  -h, --help              Print help
  -V, --version           Print version
";

/// A parsed command line.
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
        match arg {
            Short('h') | Long("help") => a.help = true,
            Short('V') | Long("version") => a.version = true,
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
    fn unknown_flag_is_refused() {
        assert!(parse(["config", "--bogus"].iter().map(OsString::from)).is_err());
    }
}
