//! Which Podman release first understood each Quadlet key we emit, and how a unit is rewritten
//! for an older target: a key the target lacks becomes the equivalent `PodmanArgs=` flag, or the
//! unit is refused with the key and the version it needs.
//!
//! Sources: podman-systemd.unit(5) of each release and the Podman release notes (4.4 introduced
//! Quadlet).

use super::model::{Body, ContainerSection, UnitFile};

/// A Podman version `major.minor`, which decides which Quadlet keys may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PodmanVersion {
    pub major: u32,
    pub minor: u32,
}

impl PodmanVersion {
    /// The newest version this translator knows.
    pub const NEWEST: PodmanVersion = PodmanVersion { major: 5, minor: 4 };
    /// The oldest version it supports.
    pub const OLDEST: PodmanVersion = PodmanVersion { major: 4, minor: 4 };
}

impl std::fmt::Display for PodmanVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// `X.Y`, `X.Y.Z` (the patch level is ignored) or `X` (minor 0).
impl std::str::FromStr for PodmanVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<PodmanVersion, String> {
        let bad = || format!("{s:?} is not a Podman version (expected X.Y)");
        let mut it = s.trim().split('.');
        let major = it.next().and_then(|m| m.parse().ok()).ok_or_else(bad)?;
        let minor = it.next().unwrap_or("0").parse().map_err(|_| bad())?;
        Ok(PodmanVersion { major, minor })
    }
}

const fn v(major: u32, minor: u32) -> PodmanVersion {
    PodmanVersion { major, minor }
}

/// `(section, key, first Podman version that has it)`. Keys not listed are in 4.4.
pub const KEY_VERSIONS: &[(&str, &str, PodmanVersion)] = &[
    // Not checked against older Quadlets: set to the oldest version whose manual we hold
    // (podman-systemd.unit(5) of 5.x), so older targets get the `--security-opt`/`--userns`
    // argument instead (always valid); see docs/compose-support.md, "PodmanArgs= audit".
    ("Container", "SecurityLabelType", v(5, 0)),
    ("Container", "SecurityLabelLevel", v(5, 0)),
    ("Container", "SecurityLabelFileType", v(5, 0)),
    ("Container", "SecurityLabelNested", v(5, 0)),
    ("Container", "Mask", v(5, 0)),
    ("Container", "Unmask", v(5, 0)),
    ("Container", "UserNS", v(5, 0)),
    ("Container", "Tmpfs", v(4, 5)),
    ("Container", "Secret", v(4, 5)),
    ("Container", "LogDriver", v(4, 5)),
    ("Container", "Mount", v(4, 5)),
    ("Container", "IP", v(4, 5)),
    ("Container", "IP6", v(4, 5)),
    ("Container", "HealthInterval", v(4, 5)),
    ("Container", "HealthTimeout", v(4, 5)),
    ("Container", "HealthRetries", v(4, 5)),
    ("Container", "HealthStartPeriod", v(4, 5)),
    ("Container", "HealthStartupInterval", v(4, 5)),
    ("Container", "Sysctl", v(4, 6)),
    ("Container", "HostName", v(4, 6)),
    ("Container", "Pull", v(4, 6)),
    ("Container", "WorkingDir", v(4, 6)),
    ("Container", "AutoUpdate", v(4, 6)),
    ("Container", "DNS", v(4, 7)),
    ("Container", "DNSOption", v(4, 7)),
    ("Container", "DNSSearch", v(4, 7)),
    ("Container", "PidsLimit", v(4, 7)),
    ("Container", "ShmSize", v(4, 7)),
    ("Container", "Ulimit", v(4, 7)),
    ("Container", "GlobalArgs", v(4, 8)),
    ("Container", "Entrypoint", v(5, 0)),
    ("Container", "StopTimeout", v(5, 0)),
    ("Container", "Notify=healthy", v(5, 0)),
    ("Container", "GroupAdd", v(5, 1)),
    ("Container", "LogOpt", v(5, 2)),
    ("Container", "StopSignal", v(5, 2)),
    ("Container", "NetworkAlias", v(5, 2)),
    ("Container", "AddHost", v(5, 3)),
    // podman#23814 (Aug 2024): Network= may name another .container.
    ("Container", "Network=*.container", v(5, 3)),
    ("Volume", "VolumeName", v(4, 6)),
    ("Volume", "PodmanArgs", v(4, 6)),
    ("Volume", "Driver", v(4, 8)),
    ("Network", "NetworkName", v(4, 6)),
    ("Image", "(unit kind)", v(4, 8)),
    ("Build", "(unit kind)", v(5, 0)),
    ("Pod", "(unit kind)", v(5, 0)),
];

/// The first version that has `section`/`key` (4.4 for a key not in the table).
pub fn first_version(section: &str, key: &str) -> PodmanVersion {
    KEY_VERSIONS
        .iter()
        .find(|(s, k, _)| *s == section && *k == key)
        .map(|(_, _, ver)| *ver)
        .unwrap_or(PodmanVersion::OLDEST)
}

/// A key that the target version lacks and that has no other spelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    pub key: String,
    pub needs: PodmanVersion,
}

fn has(target: PodmanVersion, key: &str) -> bool {
    target >= first_version("Container", key)
}

fn flag_opt(args: &mut Vec<String>, flag: &str, v: Option<String>) {
    if let Some(v) = v {
        args.push(format!("--{flag}={v}"));
    }
}

fn flag_all(args: &mut Vec<String>, flag: &str, vs: Vec<String>) {
    for v in vs {
        args.push(format!("--{flag}={v}"));
    }
}

/// Rewrites `unit` for `target`. Returns the keys moved to `PodmanArgs=` or dropped
/// (`VolumeName`, `NetworkName`: the object is then named `systemd-<unit>`), or the first key
/// that cannot be expressed at all.
pub fn downgrade(unit: &mut UnitFile, target: PodmanVersion) -> Result<Vec<String>, Unsupported> {
    let kind = match &unit.body {
        Body::Image(_) => Some("Image"),
        Body::Build(_) => Some("Build"),
        Body::Pod(_) => Some("Pod"),
        _ => None,
    };
    if let Some(kind) = kind {
        let needs = first_version(kind, "(unit kind)");
        if target < needs {
            return Err(Unsupported {
                key: format!(".{} units", kind.to_lowercase()),
                needs,
            });
        }
    }
    let mut moved = Vec::new();
    match &mut unit.body {
        Body::Container(c) => downgrade_container(c, target, &mut moved)?,
        Body::Volume(vol) => {
            if !has_in(target, "Volume", "Driver") {
                if let Some(d) = vol.driver.take() {
                    moved.push("Driver".into());
                    vol.podman_args.push(format!("--driver={d}"));
                }
            }
            if !has_in(target, "Volume", "PodmanArgs") && !vol.podman_args.is_empty() {
                return Err(Unsupported {
                    key: "PodmanArgs (volume driver and options)".into(),
                    needs: first_version("Volume", "PodmanArgs"),
                });
            }
            // Without the key Quadlet names the object `systemd-<unit>`; the caller warns.
            if !has_in(target, "Volume", "VolumeName") && vol.volume_name.take().is_some() {
                moved.push("VolumeName".into());
            }
        }
        Body::Network(n)
            if !has_in(target, "Network", "NetworkName") && n.network_name.is_some() =>
        {
            n.network_name = None;
            moved.push("NetworkName".into());
        }
        _ => {}
    }
    Ok(moved)
}

fn has_in(target: PodmanVersion, section: &str, key: &str) -> bool {
    target >= first_version(section, key)
}

fn downgrade_container(
    c: &mut ContainerSection,
    t: PodmanVersion,
    moved: &mut Vec<String>,
) -> Result<(), Unsupported> {
    let mut args = Vec::new();
    macro_rules! opt {
        ($key:literal, $field:ident, $flag:literal) => {
            if !has(t, $key) && c.$field.is_some() {
                moved.push($key.to_string());
                flag_opt(&mut args, $flag, c.$field.take().map(|v| v.to_string()));
            }
        };
    }
    macro_rules! all {
        ($key:literal, $field:ident, $flag:literal) => {
            if !has(t, $key) && !c.$field.is_empty() {
                moved.push($key.to_string());
                flag_all(&mut args, $flag, std::mem::take(&mut c.$field));
            }
        };
    }
    opt!("LogDriver", log_driver, "log-driver");
    opt!("IP", ip, "ip");
    opt!("IP6", ip6, "ip6");
    opt!("HealthInterval", health_interval, "health-interval");
    opt!("HealthTimeout", health_timeout, "health-timeout");
    opt!("HealthRetries", health_retries, "health-retries");
    opt!(
        "HealthStartPeriod",
        health_start_period,
        "health-start-period"
    );
    opt!(
        "HealthStartupInterval",
        health_startup_interval,
        "health-startup-interval"
    );
    opt!("HostName", host_name, "hostname");
    opt!("Pull", pull, "pull");
    opt!("WorkingDir", working_dir, "workdir");
    opt!("PidsLimit", pids_limit, "pids-limit");
    opt!("ShmSize", shm_size, "shm-size");
    opt!("Entrypoint", entrypoint, "entrypoint");
    opt!("StopTimeout", stop_timeout, "stop-timeout");
    opt!("StopSignal", stop_signal, "stop-signal");
    opt!("UserNS", user_ns, "userns");
    for (key, value, form) in [
        (
            "SecurityLabelType",
            &mut c.security_label_type,
            "label=type:",
        ),
        (
            "SecurityLabelLevel",
            &mut c.security_label_level,
            "label=level:",
        ),
        (
            "SecurityLabelFileType",
            &mut c.security_label_file_type,
            "label=filetype:",
        ),
        ("Mask", &mut c.mask, "mask="),
        ("Unmask", &mut c.unmask, "unmask="),
    ] {
        if !has(t, key) {
            if let Some(v) = value.take() {
                moved.push(key.to_string());
                args.push(format!("--security-opt={form}{v}"));
            }
        }
    }
    if !has(t, "SecurityLabelNested") && c.security_label_nested {
        c.security_label_nested = false;
        moved.push("SecurityLabelNested".into());
        args.push("--security-opt=label=nested".into());
    }
    all!("Tmpfs", tmpfs, "tmpfs");
    all!("Secret", secret, "secret");
    all!("Mount", mount, "mount");
    all!("DNS", dns, "dns");
    all!("DNSOption", dns_option, "dns-option");
    all!("DNSSearch", dns_search, "dns-search");
    all!("Ulimit", ulimit, "ulimit");
    all!("GroupAdd", group_add, "group-add");
    all!("LogOpt", log_opt, "log-opt");
    all!("NetworkAlias", network_alias, "network-alias");
    all!("AddHost", add_host, "add-host");
    if !has(t, "Sysctl") && !c.sysctl.is_empty() {
        moved.push("Sysctl".into());
        for (k, v) in std::mem::take(&mut c.sysctl) {
            args.push(format!("--sysctl={k}={v}"));
        }
    }
    if !has(t, "AutoUpdate") {
        if let Some(a) = c.auto_update.take() {
            moved.push("AutoUpdate".into());
            c.label.push(("io.containers.autoupdate".into(), a));
        }
    }
    if !has(t, "GlobalArgs") && !c.global_args.is_empty() {
        return Err(Unsupported {
            key: "GlobalArgs".into(),
            needs: first_version("Container", "GlobalArgs"),
        });
    }
    if c.notify.as_deref() == Some("healthy") && !has(t, "Notify=healthy") {
        return Err(Unsupported {
            key: "Notify=healthy".into(),
            needs: first_version("Container", "Notify=healthy"),
        });
    }
    c.podman_args.extend(args);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podman_versions_parse_and_print() {
        let p = |s: &str| s.parse::<PodmanVersion>();
        assert_eq!(p("4.9.3"), Ok(v(4, 9)));
        assert_eq!(p("5"), Ok(v(5, 0)));
        assert!(p("x")
            .unwrap_err()
            .contains("\"x\" is not a Podman version"));
        assert!(p("5.x").is_err());
        assert_eq!(v(5, 4).to_string(), "5.4");
    }
}
