//! `docs/compose-support.md` has a row for every field of the typed model
//! (`src/compose/model.rs`) and of the Compose specification's service, network, volume, secret
//! and config definitions (`compose-spec.json`). A field without a documented outcome fails here.

#[path = "golden/support.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};

const OUTCOMES: &[&str] = &["key", "args", "warning", "error", "loader", "none"];

/// `field` → outcome, from the doc's tables.
fn documented() -> BTreeMap<String, String> {
    let text =
        std::fs::read_to_string(support::manifest_dir().join("docs/compose-support.md")).unwrap();
    let mut rows = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 {
            continue;
        }
        let (Some(field), outcome) = (
            cells[1].strip_prefix('`').and_then(|c| c.strip_suffix('`')),
            cells[2],
        ) else {
            continue;
        };
        if !OUTCOMES.contains(&outcome) {
            continue;
        }
        assert!(
            rows.insert(field.to_string(), outcome.to_string())
                .is_none(),
            "{field} documented twice"
        );
    }
    rows
}

/// Struct name → documented prefixes of its fields.
fn prefixes(name: &str) -> &'static [&'static str] {
    match name {
        "Project" => &[""],
        "Service" => &["services."],
        "Build" => &["services.build."],
        "EnvFile" => &["services.env_file."],
        "Port" => &["services.ports."],
        "ServiceVolume" => &["services.volumes."],
        "BindOptions" => &["services.volumes.bind."],
        "VolumeOptions" => &["services.volumes.volume."],
        "TmpfsOptions" => &["services.volumes.tmpfs."],
        "ServiceNetwork" => &["services.networks."],
        "DependsOn" => &["services.depends_on."],
        "Healthcheck" => &["services.healthcheck."],
        "FileReference" => &["services.secrets.", "services.configs."],
        "Deploy" => &["services.deploy."],
        "Resources" => &["services.deploy.resources."],
        "Resource" => &[
            "services.deploy.resources.limits.",
            "services.deploy.resources.reservations.",
        ],
        "DeviceRequest" => &["services.deploy.resources.reservations.devices."],
        "RestartPolicy" => &["services.deploy.restart_policy."],
        "Device" => &["services.devices."],
        "Ulimit" => &["services.ulimits."],
        "Logging" => &["services.logging."],
        "Network" => &["networks."],
        "Ipam" => &["networks.ipam."],
        "IpamPool" => &["networks.ipam.config."],
        "Volume" => &["volumes."],
        "FileObject" => &["secrets.", "configs."],
        other => {
            panic!("model struct {other} has no place in the support table: add it to prefixes()")
        }
    }
}

/// Every `pub field` of every struct in model.rs, with serde renames applied.
fn model_fields() -> Vec<(String, String)> {
    let text =
        std::fs::read_to_string(support::manifest_dir().join("src/compose/model.rs")).unwrap();
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    let mut rename: Option<String> = None;
    let mut flatten = false;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("pub struct ") {
            current = rest.split_whitespace().next().map(str::to_string);
            continue;
        }
        if line == "}" {
            current = None;
        }
        if let Some(r) = line
            .strip_prefix("#[serde(rename = \"")
            .and_then(|r| r.split('"').next())
        {
            rename = Some(r.to_string());
        }
        if line.contains("flatten") {
            flatten = true;
        }
        if let (Some(s), Some(rest)) = (&current, line.strip_prefix("pub ")) {
            let field = rest.split(':').next().unwrap().trim().to_string();
            if !flatten {
                out.push((s.clone(), rename.take().unwrap_or(field)));
            }
            rename = None;
            flatten = false;
        }
    }
    out
}

#[test]
fn every_model_field_has_a_row() {
    let doc = documented();
    let mut missing = Vec::new();
    let fields = model_fields();
    assert!(
        fields.len() > 150,
        "model parse found only {} fields",
        fields.len()
    );
    for (s, f) in fields {
        for p in prefixes(&s) {
            let key = format!("{p}{f}");
            if !doc.contains_key(&key) {
                missing.push(key);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs/compose-support.md lacks rows for:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_spec_field_has_a_row() {
    let candidates = [
        std::path::PathBuf::from("/work/shared/corpus/compose-go/schema/compose-spec.json"),
        support::manifest_dir().join("../shared/corpus/compose-go/schema/compose-spec.json"),
    ];
    let Some(path) = candidates.iter().find(|p| p.is_file()) else {
        if support::lab_required() {
            panic!("compose-spec.json not found");
        }
        eprintln!("skipped: every_spec_field_has_a_row: compose-spec.json not found");
        return;
    };
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let defs = schema
        .get("definitions")
        .or_else(|| schema.get("$defs"))
        .unwrap();
    let doc = documented();
    let mut missing = BTreeSet::new();
    let mut check = |prefix: &str, props: &serde_json::Value| {
        for k in props.as_object().unwrap().keys() {
            let key = format!("{prefix}{k}");
            if !doc.contains_key(&key) {
                missing.insert(key);
            }
        }
    };
    check("", &schema["properties"]);
    for (def, prefix) in [
        ("service", "services."),
        ("network", "networks."),
        ("volume", "volumes."),
        ("secret", "secrets."),
        ("config", "configs."),
        ("deployment", "services.deploy."),
        ("healthcheck", "services.healthcheck."),
    ] {
        check(prefix, &defs[def]["properties"]);
    }
    for variant in defs["service"]["properties"]["build"]["oneOf"]
        .as_array()
        .unwrap()
    {
        if let Some(p) = variant.get("properties") {
            check("services.build.", p);
        }
    }
    assert!(
        missing.is_empty(),
        "docs/compose-support.md lacks rows for:\n{}",
        missing.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn every_row_names_a_known_outcome() {
    let doc = documented();
    assert!(doc.len() > 200, "only {} rows parsed", doc.len());
    for (f, o) in &doc {
        assert!(OUTCOMES.contains(&o.as_str()), "{f}: {o}");
    }
}
