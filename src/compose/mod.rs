//! The Compose loader: a pipeline of named phases, as docker compose's loader has
//! (parse → interpolate → merge overrides → extends/include → profiles → normalize → validate).
//!
//! Pure: every function here is a function of the files it is given and the variables passed in
//! `LoadOptions`. No process environment, clock or network.

mod canon;
mod convert;
pub mod discover;
pub mod dotenv;
mod env_files;
pub mod extends;
pub mod interpolate;
mod load;
pub mod merge;
pub mod node;
pub mod normalize;
pub(crate) mod paths;
pub mod profiles;
mod rebase;
pub mod schema;
#[cfg(test)]
mod schema_tests;
mod service;
mod service_mounts;
mod service_runtime;
pub mod short;
pub mod source;
pub mod template;
pub mod validate;
pub mod vars;
pub mod yaml;
mod yaml_diag;
mod yaml_scan;

pub mod model;

pub use load::{load_files, load_files_json, stack_files};
pub use vars::load_global_vars;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::diag::{Diagnostic, Span};
pub use model::*;

/// Options for loading one stack. Built at the edge (main/deploy) and passed in.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Global variables (values file merged with `--vars-json`): lowest-precedence interpolation
    /// source, and added to every container's environment at the lowest precedence.
    pub global_vars: IndexMap<String, String>,
    /// Home directory used for `~` expansion (the core never reads `$HOME` itself).
    pub home: Option<PathBuf>,
    /// The directory that output paths name in place of the directory files are read from.
    /// A deploy reads a generation's snapshot but the units must name a stable path
    /// (`…/current/inputs/services/<stack>`), so change detection sees the same bytes.
    pub display_dir: Option<PathBuf>,
    /// `--strict`: an unknown key is an error, not a warning (the stack fails to load).
    pub strict: bool,
}

/// Field path (`services.web.ports[1]`) → where its value was written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceMap {
    pub spans: BTreeMap<String, Span>,
}

impl SourceMap {
    /// The span of `path`, or of its nearest recorded ancestor, or an empty span.
    pub fn span(&self, path: &str) -> Span {
        let mut p = path;
        loop {
            if let Some(s) = self.spans.get(p) {
                if p.is_empty() && !path.is_empty() {
                    // Only the file is known: a line would point at an unrelated field.
                    return Span {
                        file: s.file.clone(),
                        line: 0,
                        column: 0,
                    };
                }
                return s.clone();
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                // A field no file wrote (the implicit default network): name the file itself.
                None if !p.is_empty() => p = "",
                None => return Span::default(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_falls_back_to_ancestors_then_the_file() {
        let mut m = SourceMap::default();
        let at = |line| Span {
            file: "c.yaml".into(),
            line,
            column: 1,
        };
        m.spans.insert(String::new(), at(1));
        m.spans.insert("services.web".into(), at(3));
        assert_eq!(m.span("services.web.ports[1]"), at(3));
        let file_only = m.span("networks.default.name");
        assert_eq!(
            (file_only.file.to_str(), file_only.line),
            (Some("c.yaml"), 0)
        );
        assert_eq!(SourceMap::default().span("x"), Span::default());
    }
}

/// One loaded stack.
#[derive(Debug, Clone)]
pub struct LoadedStack {
    /// The stack (directory) name; also what units are named after.
    pub name: String,
    /// Where its files were read from.
    pub dir: PathBuf,
    pub project: Project,
    pub sources: SourceMap,
    /// Non-fatal findings (unknown keys, deprecated forms), each naming file, line and field.
    pub warnings: Vec<Diagnostic>,
    /// Every file the load read (compose files, overrides, .env, env_files, extends/include
    /// targets), for snapshots and change detection.
    pub inputs: Vec<PathBuf>,
}

/// A stack directory found under the services dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackRef {
    pub name: String,
    pub dir: PathBuf,
}

/// Why a stack could not be loaded: one or more errors, each naming file, line and field.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", .diagnostics.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct LoadError {
    pub diagnostics: Vec<Diagnostic>,
}

/// Lists the stacks under `services_dir` (directories holding a compose file), sorted by name.
/// A directory whose name is not a valid unit-name part is an error naming it.
pub fn discover_stacks(services_dir: &Path) -> Result<Vec<StackRef>, LoadError> {
    discover::discover_stacks(services_dir)
}

/// Loads one stack directory into its normalized model: its compose files (`COMPOSE_FILE` from
/// its `.env`, else `compose.yaml` & co. plus the automatic override), its `.env`, env files.
pub fn load_stack(stack: &StackRef, opts: &LoadOptions) -> Result<LoadedStack, LoadError> {
    load_stack_json(stack, opts).map(|(s, _)| s)
}

/// [`load_stack`], also returning the normalized tree in docker compose's JSON shape.
pub fn load_stack_json(
    stack: &StackRef,
    opts: &LoadOptions,
) -> Result<(LoadedStack, serde_json::Value), LoadError> {
    if let Err(e) = discover::check_stack_name(&stack.name) {
        return Err(LoadError {
            diagnostics: vec![Diagnostic::error(
                Span {
                    file: stack.dir.clone(),
                    ..Default::default()
                },
                "",
                e,
            )],
        });
    }
    let files = stack_files(&stack.dir, opts)?;
    let (mut loaded, json) = load_files_json(&stack.dir, &files, None, opts)?;
    loaded.name = stack.name.clone();
    Ok((loaded, json))
}
