//! The real renderer of a snapshot: the loader and the translator, run over `inputs/services/*`
//! with the global variables of `inputs/values.env` and `inputs/vars.json`. `plan` and `deploy`
//! both render through this, from a snapshot, so their bytes agree.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use indexmap::IndexMap;

use super::effects::ContainerEngine;
use super::exact::rebase_paths;
use super::generator::find_quadlet;
use super::prepare::{StackError, StackRenderer};
use super::tool;
use crate::compose::vars::load_global_vars;
use crate::compose::{discover_stacks, load_stack, LoadOptions};
use crate::translate::{render_stack, PodmanVersion, RenderOptions, RenderedStack};

pub struct RepoRenderer {
    pub podman_version: PodmanVersion,
    pub strict: bool,
    pub home: Option<PathBuf>,
}

fn whole(message: String) -> Vec<StackError> {
    vec![StackError {
        stack: String::new(),
        message,
    }]
}

impl RepoRenderer {
    /// The global variables a snapshot holds: its values file, `vars.json` winning.
    pub fn globals(&self, inputs: &Path) -> Result<IndexMap<String, String>, String> {
        let values = inputs.join("values.env");
        let json = inputs.join("vars.json");
        let json = if json.is_file() {
            Some(fs::read_to_string(&json).map_err(|e| format!("{}: {e}", json.display()))?)
        } else {
            None
        };
        load_global_vars(
            values.is_file().then_some(values.as_path()),
            json.as_deref(),
        )
        .map_err(|e| e.to_string())
    }
}

impl StackRenderer for RepoRenderer {
    fn render_all(
        &self,
        inputs: &Path,
        shown: &Path,
    ) -> Result<Vec<RenderedStack>, Vec<StackError>> {
        let global_vars = self.globals(inputs).map_err(whole)?;
        let stacks = discover_stacks(&inputs.join("services")).map_err(|e| whole(e.to_string()))?;
        let opts = RenderOptions {
            podman_version: self.podman_version,
            strict: self.strict,
        };
        let mut out = Vec::new();
        let mut errors = Vec::new();
        for s in &stacks {
            let load = LoadOptions {
                global_vars: global_vars.clone(),
                home: self.home.clone(),
                display_dir: Some(shown.join("services").join(&s.name)),
                strict: self.strict,
            };
            let rendered = load_stack(s, &load)
                .map_err(|e| e.to_string())
                .and_then(|loaded| {
                    // The loader's warnings (unknown keys) go with the translation's, also
                    // when the translation fails: an unknown key is often the cause.
                    match render_stack(&loaded, &opts) {
                        Ok(mut r) => {
                            r.warnings.splice(0..0, loaded.warnings);
                            Ok(r)
                        }
                        Err(d) => Err(loaded
                            .warnings
                            .iter()
                            .chain(&d)
                            .map(|x| x.to_string())
                            .collect::<Vec<_>>()
                            .join("\n")),
                    }
                })
                .and_then(|mut r| rebase_paths(&mut r, inputs, shown).map(|()| r));
            match rendered {
                Ok(r) => out.push(r),
                Err(message) => errors.push(StackError {
                    stack: s.name.clone(),
                    message,
                }),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }
}

/// The version to render for, as `generate-units` decides it: `--podman-version`, else the
/// installed podman's (it runs the containers, so its flags decide), else the quadlet binary's,
/// else the newest known; clamped to the supported range (the lab's Podman 4.3 with Quadlet 5.4 is
/// rendered for 4.4). The installed podman is asked through `engine`, the configured binary.
pub fn podman_version(
    flag: Option<&str>,
    engine: &dyn ContainerEngine,
) -> Result<PodmanVersion, String> {
    if let Some(f) = flag {
        let v: PodmanVersion = f
            .parse()
            .map_err(|_| format!("--podman-version {f}: expected X.Y"))?;
        if v < PodmanVersion::OLDEST || v > PodmanVersion::NEWEST {
            return Err(format!(
                "--podman-version {f}: supported are {}.{} to {}.{}",
                PodmanVersion::OLDEST.major,
                PodmanVersion::OLDEST.minor,
                PodmanVersion::NEWEST.major,
                PodmanVersion::NEWEST.minor
            ));
        }
        return Ok(v);
    }
    let detected = engine
        .version()
        .ok()
        .and_then(|v| v.parse().ok())
        .or_else(|| {
            let configured = std::env::var_os("RELEASE_TOOL_QUADLET").map(PathBuf::from);
            let quadlet = find_quadlet(configured.as_deref()).ok()?;
            let out = tool::run(
                Command::new(quadlet).arg("-version"),
                Duration::from_secs(20),
            )
            .ok()?;
            out.trim().rsplit(' ').next()?.parse().ok()
        });
    let v = detected.unwrap_or(PodmanVersion::NEWEST);
    if let Some(note) = clamp_note(v) {
        log::warn!("{note}");
    }
    Ok(v.clamp(PodmanVersion::OLDEST, PodmanVersion::NEWEST))
}

/// What to tell the user when the detected Podman is outside the supported range.
fn clamp_note(v: PodmanVersion) -> Option<String> {
    let (o, n) = (PodmanVersion::OLDEST, PodmanVersion::NEWEST);
    if v < o {
        Some(format!(
            "podman {}.{} is older than {}.{}, the oldest supported: rendering for {}.{}; \
             some units may use flags this podman lacks (pass --podman-version to choose)",
            v.major, v.minor, o.major, o.minor, o.major, o.minor
        ))
    } else if v > n {
        Some(format!(
            "podman {}.{} is newer than {}.{}, the newest known: rendering for {}.{}",
            v.major, v.minor, n.major, n.minor, n.major, n.minor
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_outside_the_range_are_named() {
        let v = |major, minor| PodmanVersion { major, minor };
        assert!(clamp_note(v(4, 3))
            .unwrap()
            .contains("podman 4.3 is older than 4.4"));
        assert!(clamp_note(v(6, 0)).unwrap().contains("rendering for 5.4"));
        assert_eq!(clamp_note(v(4, 9)), None);
    }
}
