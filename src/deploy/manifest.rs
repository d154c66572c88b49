//! `manifest.json`: what one generation holds, enough for the generator, `status`, `history`,
//! `manage-services restart` and a rollback to work without rendering anything again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::translate::{ContainerInfo, RenderedStack};

/// What became of a generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Written; the deploy that made it has not finished.
    Pending,
    /// Switched to, restarted and healthy.
    Deployed,
    /// Switched to, failed, and the host went back to the previous generation.
    RolledBack,
    /// Made current again by `rollback`.
    Restored,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pending => "pending",
            Outcome::Deployed => "deployed",
            Outcome::RolledBack => "rolled-back",
            Outcome::Restored => "restored",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerManifest {
    pub service: String,
    /// `<stack>-<service>.service`.
    pub unit: String,
    /// The Podman container name (Quadlet's `ContainerName=`, default `systemd-<unit name>`).
    pub container_name: String,
    pub image: Option<String>,
    pub after: Vec<String>,
    pub healthcheck: bool,
    pub oneshot: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretManifest {
    pub name: String,
    /// The secret's file, relative to the generation directory.
    pub file: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackManifest {
    /// Decides whether the stack changed: units, input files and image digests together.
    pub hash: String,
    /// sha256 of every input file of the stack (its snapshot directory).
    pub inputs_hash: String,
    /// Unit file name → sha256 of its bytes.
    pub units: BTreeMap<String, String>,
    pub containers: Vec<ContainerManifest>,
    pub secrets: Vec<SecretManifest>,
    /// Image reference → digest resolved when the generation was made ("" when unknown).
    pub images: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub id: u64,
    /// The checkout's commit, when it is a git checkout.
    pub git_rev: Option<String>,
    /// Seconds since the epoch.
    pub created: u64,
    pub outcome: Outcome,
    /// The generation that was current when this one was made.
    pub parent: Option<u64>,
    /// Why the outcome is what it is (the failure, for a rollback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub stacks: BTreeMap<String, StackManifest>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The container name Quadlet gives a `.container` unit: its `ContainerName=`, else
/// `systemd-<basename>`.
pub fn container_name(unit_file: &str, contents: &str) -> String {
    let mut in_container = false;
    let mut name = None;
    for line in contents.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_container = line == "[Container]";
        } else if in_container {
            if let Some(v) = line.strip_prefix("ContainerName=") {
                // `%%` is the unit-file escape of `%`.
                name = Some(v.trim().trim_matches('"').replace("%%", "%"));
            }
        }
    }
    let base = unit_file.strip_suffix(".container").unwrap_or(unit_file);
    name.unwrap_or_else(|| format!("systemd-{base}"))
}

fn container_manifest(stack: &RenderedStack, c: &ContainerInfo) -> ContainerManifest {
    let base = c.unit.strip_suffix(".service").unwrap_or(&c.unit);
    let file = format!("{base}.container");
    let contents = stack.unit(&file).unwrap_or("");
    ContainerManifest {
        service: c.service.clone(),
        unit: c.unit.clone(),
        container_name: container_name(&file, contents),
        image: c.image.clone(),
        after: c
            .after
            .iter()
            .map(|a| {
                // Units, as the translator documents; a bare service name is read as one too.
                if a.contains('.') {
                    a.clone()
                } else {
                    format!("{}-{a}.service", stack.stack)
                }
            })
            .collect(),
        healthcheck: c.healthcheck,
        oneshot: c.oneshot,
    }
}

/// Builds a stack's manifest entry. `inputs_hash` covers its input files; `digests` maps its images
/// to the digests resolved by the pulls; `secret_files` are relative to the generation directory.
pub fn stack_manifest(
    stack: &RenderedStack,
    inputs_hash: &str,
    digests: &BTreeMap<String, String>,
    secret_files: Vec<SecretManifest>,
) -> StackManifest {
    let units: BTreeMap<String, String> = stack
        .units
        .iter()
        .map(|u| (u.file_name.clone(), sha256_hex(u.contents.as_bytes())))
        .collect();
    let images: BTreeMap<String, String> = stack
        .containers
        .iter()
        .filter_map(|c| c.image.clone())
        .map(|i| {
            let d = digests.get(&i).cloned().unwrap_or_default();
            (i, d)
        })
        .collect();
    let mut h = Sha256::new();
    for (name, sum) in &units {
        h.update(format!("unit {name} {sum}\n"));
    }
    h.update(format!("inputs {inputs_hash}\n"));
    for (image, digest) in &images {
        h.update(format!("image {image} {digest}\n"));
    }
    StackManifest {
        hash: hex::encode(h.finalize()),
        inputs_hash: inputs_hash.to_string(),
        units,
        containers: stack
            .containers
            .iter()
            .map(|c| container_manifest(stack, c))
            .collect(),
        secrets: secret_files,
        images,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::RenderedUnit;

    pub(crate) fn stack(name: &str, body: &str) -> RenderedStack {
        RenderedStack {
            stack: name.into(),
            units: vec![RenderedUnit {
                file_name: format!("{name}-app.container"),
                contents: format!("[Container]\nImage=img\n{body}\n"),
            }],
            containers: vec![ContainerInfo {
                service: "app".into(),
                unit: format!("{name}-app.service"),
                image: Some("img".into()),
                after: vec![],
                healthcheck: false,
                oneshot: false,
            }],
            secrets: vec![],
            warnings: vec![],
        }
    }

    #[test]
    fn hash_follows_units_inputs_and_digests() {
        let none = BTreeMap::new();
        let a = stack_manifest(&stack("s", "A=1"), "in", &none, vec![]);
        assert_eq!(a, stack_manifest(&stack("s", "A=1"), "in", &none, vec![]));
        assert_ne!(
            a.hash,
            stack_manifest(&stack("s", "A=2"), "in", &none, vec![]).hash
        );
        assert_ne!(
            a.hash,
            stack_manifest(&stack("s", "A=1"), "in2", &none, vec![]).hash
        );
        let d: BTreeMap<_, _> = [("img".to_string(), "sha256:1".to_string())].into();
        let b = stack_manifest(&stack("s", "A=1"), "in", &d, vec![]);
        assert_ne!(a.hash, b.hash);
        assert_eq!(b.images["img"], "sha256:1");
        assert_eq!(b.containers[0].container_name, "systemd-s-app");
    }

    #[test]
    fn bare_service_names_in_after_become_units() {
        let mut s = stack("w", "");
        s.containers[0].after = vec!["db".into(), "w-cache.service".into()];
        let m = stack_manifest(&s, "", &BTreeMap::new(), vec![]);
        assert_eq!(
            m.containers[0].after,
            vec!["w-db.service", "w-cache.service"]
        );
    }

    #[test]
    fn container_name_from_unit() {
        assert_eq!(
            container_name(
                "w-a.container",
                "[Unit]\nContainerName=x\n[Container]\nContainerName=web%%1\n"
            ),
            "web%1"
        );
        assert_eq!(
            container_name("w-a.container", "[Container]\n"),
            "systemd-w-a"
        );
    }

    #[test]
    fn manifest_round_trips() {
        let m = Manifest {
            id: 3,
            git_rev: Some("abc".into()),
            created: 1,
            outcome: Outcome::RolledBack,
            parent: Some(2),
            message: None,
            stacks: [(
                "s".to_string(),
                stack_manifest(&stack("s", ""), "i", &BTreeMap::new(), vec![]),
            )]
            .into(),
        };
        let text = serde_json::to_string_pretty(&m).unwrap();
        assert!(text.contains("\"rolled-back\""));
        assert_eq!(serde_json::from_str::<Manifest>(&text).unwrap(), m);
    }
}
