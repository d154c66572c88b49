//! Compose model → Quadlet units. Pure and deterministic: the same stack gives the same bytes.
//!
//! `render_stack` walks the normalized model once: top-level networks and volumes become
//! `.network`/`.volume` units, each service a `.container` (and a `.build`), the stack a `.target`.
//! Every Compose field lands in a Quadlet key, in `PodmanArgs=`, or in a warning naming the file,
//! line and field (see docs/compose-support.md). `--strict` makes those warnings errors.

mod container;
mod ctx;
mod lifecycle;
mod names;
mod network;
mod render;
mod resources;
mod storage;

use crate::compose::LoadedStack;
use crate::diag::Diagnostic;

pub use names::{duration_seconds, is_valid_name_part, qualify_image};

pub use crate::quadlet::versions::PodmanVersion;

#[derive(Debug, Clone)]
pub struct RenderOptions {
    pub podman_version: PodmanVersion,
    /// With `--strict`, every warning is an error.
    pub strict: bool,
}

/// One file to write: a Quadlet unit (`web-api.container`) or a plain systemd unit (`web.target`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedUnit {
    pub file_name: String,
    pub contents: String,
}

/// What a deploy must know about one container to pull, order, restart and health-check it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    /// The compose service name.
    pub service: String,
    /// The systemd service the Quadlet file becomes (`<stack>-<service>.service`).
    pub unit: String,
    /// The fully qualified image reference, when the container runs a pulled image.
    pub image: Option<String>,
    /// Units (in this stack) this one must start after.
    pub after: Vec<String>,
    /// Whether the deploy's health gate checks its healthcheck (`lifecycle::gates_on_health`).
    pub healthcheck: bool,
    /// Whether it runs to completion (a oneshot for `service_completed_successfully`).
    pub oneshot: bool,
}

/// A file-based secret that the deploy creates as a Podman secret before starting the units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSpec {
    /// The Podman secret name the units refer to.
    pub name: String,
    /// The file whose content becomes the secret.
    pub file: std::path::PathBuf,
}

/// All units of one stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedStack {
    pub stack: String,
    /// Sorted by file name.
    pub units: Vec<RenderedUnit>,
    pub containers: Vec<ContainerInfo>,
    pub secrets: Vec<SecretSpec>,
    pub warnings: Vec<Diagnostic>,
}

impl RenderedStack {
    /// The contents of the unit file named `file_name` (`web-api.container`), if rendered.
    pub fn unit(&self, file_name: &str) -> Option<&str> {
        self.units
            .iter()
            .find(|u| u.file_name == file_name)
            .map(|u| u.contents.as_str())
    }
}

/// Translates one loaded stack.
pub fn render_stack(
    stack: &LoadedStack,
    opts: &RenderOptions,
) -> Result<RenderedStack, Vec<Diagnostic>> {
    render::render_stack(stack, opts)
}

/// The names `render_stack` gives a stack that renders: what another stack's units could clash
/// with in one output directory or one Podman (see `generate-units`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackNames {
    /// Unit file names (`web-api.container`, `web.target`), sorted.
    pub unit_files: Vec<String>,
    /// Podman container names (`container_name:`, else `<project>-<service>-1`), sorted.
    pub containers: Vec<String>,
}

/// [`StackNames`] of a loaded stack without rendering it (a third of the cost of loading and
/// rendering it): for the stacks a command checks names against but does not write. For a stack
/// that renders, the same names as its rendered units; for one that does not, a guess.
pub fn stack_names(stack: &LoadedStack) -> StackNames {
    render::stack_names(stack)
}

/// The `NAME.target` that wants every stack's target (`--meta-target NAME`).
pub fn render_meta_target(name: &str, stacks: &[String]) -> RenderedUnit {
    render::meta_target(name, stacks)
}
