//! Resolves where things are from the command line and the process environment. This is the edge:
//! the pure core never reads the environment; it is handed what is resolved here.

use std::path::PathBuf;

use crate::cli::command::Checkout;

/// The checkout the units deploy by default, under the home directory.
pub const DEFAULT_REPO: &str = "release-tool-repo";

/// The default name of the global variables file at the repo root.
pub const VALUES_FILE: &str = "values.env";

#[derive(Debug, Clone)]
pub struct Context {
    pub repo: PathBuf,
    pub services_dir: PathBuf,
    /// The global variables file, when one is given or present.
    pub vars_file: Option<PathBuf>,
    pub vars_json: Option<String>,
    pub state_dir: PathBuf,
    pub home: Option<PathBuf>,
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// `--repo`, else `$RELEASE_TOOL_REPO`, else `~/release-tool-repo`, else the current directory.
pub fn default_repo(
    arg: Option<PathBuf>,
    env: Option<PathBuf>,
    home: Option<&std::path::Path>,
) -> PathBuf {
    arg.or(env)
        .or_else(|| home.map(|h| h.join(DEFAULT_REPO)))
        .unwrap_or_else(|| PathBuf::from("."))
}

impl Context {
    /// The repo must be a directory for `command`: else an error naming the path and where it
    /// came from, and the exit code.
    pub fn require_repo(&self, command: &str) -> Result<(), u8> {
        if self.repo.is_dir() {
            return Ok(());
        }
        eprintln!(
            "release-tool: {command}: the repo {} is not a directory (--repo, else \
             $RELEASE_TOOL_REPO, else ~/release-tool-repo)",
            crate::diag::escaped(&self.repo.display().to_string())
        );
        Err(super::exit::FAILURE)
    }

    /// From the checkout options and `--state-dir` (commands that do not read the checkout pass
    /// `Checkout::default()`).
    pub fn new(args: &Checkout, state_dir: Option<&std::path::Path>) -> Context {
        let home = env_path("HOME");
        // The same checkout the units deploy (release-tool-deploy.service sets RELEASE_TOOL_REPO
        // to ~/release-tool-repo), so `plan` or `status` run from anywhere talk about it.
        let repo = default_repo(
            args.repo.clone(),
            env_path("RELEASE_TOOL_REPO"),
            home.as_deref(),
        );
        let services_dir = args
            .services_dir
            .clone()
            .unwrap_or_else(|| repo.join("services"));
        // The seed tool had only --services-dir: its parent is the repo root then.
        let vars_root = match (&args.repo, &args.services_dir) {
            (None, Some(s)) => s
                .parent()
                .map(PathBuf::from)
                .unwrap_or_else(|| repo.clone()),
            _ => repo.clone(),
        };
        let vars_file = args.vars_file.clone().or_else(|| {
            let p = vars_root.join(VALUES_FILE);
            // Present in any form: a values file that is a FIFO or a dangling link is an error
            // when it is read, not a silently missing set of global variables.
            p.symlink_metadata().is_ok().then_some(p)
        });
        let state_dir = state_dir
            .map(PathBuf::from)
            .or_else(|| env_path("RELEASE_TOOL_STATE_DIR"))
            .or_else(|| env_path("XDG_STATE_HOME").map(|p| p.join("release-tool")))
            .or_else(|| home.as_ref().map(|h| h.join(".local/state/release-tool")))
            .unwrap_or_else(|| PathBuf::from("/var/lib/release-tool"));
        // Units name absolute paths (bind mounts, env files): resolve relative arguments here, at
        // the edge, against the working directory.
        let abs = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
        Context {
            repo: abs(repo),
            services_dir: abs(services_dir),
            vars_file: vars_file.map(abs),
            vars_json: args.vars_json.clone(),
            state_dir: abs(state_dir),
            home,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_become_absolute() {
        let args = Checkout {
            services_dir: Some(PathBuf::from("examples/services")),
            ..Checkout::default()
        };
        let ctx = Context::new(&args, Some(std::path::Path::new("state")));
        assert!(
            ctx.services_dir.is_absolute(),
            "{}",
            ctx.services_dir.display()
        );
        assert!(ctx.services_dir.ends_with("examples/services"));
        assert!(ctx.state_dir.is_absolute());
    }

    #[test]
    fn the_repo_defaults_to_the_units_repo() {
        let home = std::path::Path::new("/home/op");
        assert_eq!(
            default_repo(None, None, Some(home)),
            PathBuf::from("/home/op/release-tool-repo")
        );
        assert_eq!(
            default_repo(None, Some("/srv/stacks".into()), Some(home)),
            PathBuf::from("/srv/stacks")
        );
        assert_eq!(
            default_repo(Some("r".into()), Some("/srv/stacks".into()), Some(home)),
            PathBuf::from("r")
        );
        assert_eq!(default_repo(None, None, None), PathBuf::from("."));
    }
}
