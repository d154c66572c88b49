//! The state of one stack's translation: its names and the diagnostics collected so far.

use std::collections::BTreeSet;

use crate::compose::LoadedStack;
use crate::diag::Diagnostic;

use super::names::{is_valid_name_part, is_valid_object_name};
use super::RenderOptions;

pub struct Ctx<'a> {
    pub stack: &'a LoadedStack,
    pub opts: &'a RenderOptions,
    pub diags: Vec<Diagnostic>,
    /// Services another service waits on with `service_healthy`.
    pub healthy_deps: BTreeSet<String>,
    /// Services another service waits on with `service_completed_successfully`.
    pub oneshot_deps: BTreeSet<String>,
}

impl<'a> Ctx<'a> {
    pub fn new(stack: &'a LoadedStack, opts: &'a RenderOptions) -> Ctx<'a> {
        Ctx {
            stack,
            opts,
            diags: Vec::new(),
            healthy_deps: BTreeSet::new(),
            oneshot_deps: BTreeSet::new(),
        }
    }

    /// A field that is not carried over, or carried over only in part. An error with `--strict`.
    /// `list` without its empty entries, warning for each one dropped (`field[i]`). docker
    /// compose keeps an empty entry; none means anything to Podman, and in a unit file an empty
    /// value resets the key instead.
    pub fn non_empty(&mut self, field: &str, list: &[String]) -> Vec<String> {
        for (i, v) in list.iter().enumerate() {
            if v.trim().is_empty() {
                self.warn(&format!("{field}[{i}]"), "empty; ignored");
            }
        }
        list.iter()
            .filter(|v| !v.trim().is_empty())
            .cloned()
            .collect()
    }

    pub fn warn(&mut self, field: &str, message: impl Into<String>) {
        let span = self.stack.sources.span(field);
        let d = if self.opts.strict {
            Diagnostic::error(span, field, message)
        } else {
            Diagnostic::warning(span, field, message)
        };
        self.diags.push(d);
    }

    /// A field that makes the stack untranslatable.
    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        let span = self.stack.sources.span(field);
        self.diags.push(Diagnostic::error(span, field, message));
    }

    /// The Podman object name of the top-level network or volume `key` (`section` is `networks` or
    /// `volumes`): its `name:`, else `<project>_<key>` as docker compose names it. `None`, with an
    /// error naming the field, when the key cannot name a unit or the name is no valid object name.
    pub fn object_name(&mut self, section: &str, key: &str, name: Option<&str>) -> Option<String> {
        let field = format!("{section}.{key}");
        let kind = section.trim_end_matches('s');
        if !is_valid_name_part(key) {
            self.error(&field, format!("{kind} key cannot name a unit"));
            return None;
        }
        let name = name.map_or_else(|| format!("{}_{key}", self.project_name()), str::to_owned);
        if !is_valid_object_name(&name) {
            self.error(
                &format!("{field}.name"),
                format!("{name:?} is not a valid {kind} name"),
            );
            return None;
        }
        Some(name)
    }

    pub fn has_errors(&self) -> bool {
        self.diags.iter().any(Diagnostic::is_error)
    }

    /// `<stack>-<name>` with the unit suffix.
    pub fn unit(&self, name: &str, suffix: &str) -> String {
        format!("{}-{name}.{suffix}", self.stack.name)
    }

    /// The systemd service a `.container` becomes.
    pub fn service_unit(&self, service: &str) -> String {
        format!("{}-{service}.service", self.stack.name)
    }

    /// The Podman container name of a service: `container_name:`, else docker compose's
    /// `<project>-<service>-1`.
    pub fn container_name(&self, service: &str) -> String {
        self.stack
            .project
            .services
            .get(service)
            .and_then(|s| s.container_name.clone())
            .unwrap_or_else(|| format!("{}-{service}-1", self.project_name()))
    }

    pub fn project_name(&self) -> &str {
        if self.stack.project.name.is_empty() {
            &self.stack.name
        } else {
            &self.stack.project.name
        }
    }
}
