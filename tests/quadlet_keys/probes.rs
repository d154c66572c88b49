//! One probe per key the writer emits: how to put a value into that key of the model, and where
//! the real Quadlet's output shows it (an exec line's argv, or a systemd key's value). Shared by
//! tests/quadlet_keys.rs (hostile values through real quadlet) and tests/quadlet_keys_table.rs
//! (the probe list, the escaping table and the model agree).
#![allow(dead_code)]

use release_tool::quadlet::*;

/// The ordinary value a baseline unit carries where the hostile value will go.
pub const MARK: &str = "zmarkz";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Container,
    Volume,
    Network,
    Build,
    Image,
    Pod,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The argv (or value) equals the baseline's with [`MARK`] replaced by the value.
    Exact,
    /// As `Exact`, lowercased (Quadlet lowercases capabilities; podman ignores their case).
    Lower,
    /// As `Exact`, compared as the CSV record Quadlet re-encodes and podman decodes.
    Csv,
    /// Only these values are accepted, each with the argv words it must produce in a row;
    /// anything else must be refused naming the key.
    Fixed(&'static [(&'static str, &'static [&'static str])]),
}

pub struct Probe {
    pub section: &'static str,
    pub key: &'static str,
    pub kind: Kind,
    pub set: fn(&mut UnitFile, &str),
    /// `ExecStart`, `ExecStartPre`, `ExecStartPost`: compare that line's argv; `""`: compare the
    /// value of the generated service's own `key=` lines.
    pub line: &'static str,
    pub mode: Mode,
}

pub fn base(kind: Kind, name: &str) -> UnitFile {
    match kind {
        Kind::Container => UnitFile::new(
            format!("{name}.container"),
            Body::Container(Box::new(ContainerSection {
                image: "docker.io/library/busybox:latest".into(),
                ..Default::default()
            })),
        ),
        Kind::Volume => UnitFile::new(format!("{name}.volume"), Body::Volume(Default::default())),
        Kind::Network => {
            UnitFile::new(format!("{name}.network"), Body::Network(Default::default()))
        }
        Kind::Build => UnitFile::new(
            format!("{name}.build"),
            Body::Build(BuildSection {
                image_tag: vec!["localhost/probe:1".into()],
                set_working_directory: Some("/srv/ctx".into()),
                ..Default::default()
            }),
        ),
        Kind::Image => UnitFile::new(
            format!("{name}.image"),
            Body::Image(ImageSection {
                image: "docker.io/library/busybox:latest".into(),
            }),
        ),
        Kind::Pod => UnitFile::new(format!("{name}.pod"), Body::Pod(Default::default())),
    }
}

/// The service Quadlet generates for `base(kind, name)`.
pub fn service_name(kind: Kind, name: &str) -> String {
    match kind {
        Kind::Container => format!("{name}.service"),
        Kind::Volume => format!("{name}-volume.service"),
        Kind::Network => format!("{name}-network.service"),
        Kind::Build => format!("{name}-build.service"),
        Kind::Image => format!("{name}-image.service"),
        Kind::Pod => format!("{name}-pod.service"),
    }
}

pub fn c(u: &mut UnitFile) -> &mut ContainerSection {
    match &mut u.body {
        Body::Container(c) => c,
        _ => unreachable!(),
    }
}
pub fn vol(u: &mut UnitFile) -> &mut VolumeSection {
    match &mut u.body {
        Body::Volume(v) => v,
        _ => unreachable!(),
    }
}
pub fn net(u: &mut UnitFile) -> &mut NetworkSection {
    match &mut u.body {
        Body::Network(n) => n,
        _ => unreachable!(),
    }
}
pub fn build(u: &mut UnitFile) -> &mut BuildSection {
    match &mut u.body {
        Body::Build(b) => b,
        _ => unreachable!(),
    }
}
pub fn pod(u: &mut UnitFile) -> &mut PodSection {
    match &mut u.body {
        Body::Pod(p) => p,
        _ => unreachable!(),
    }
}

macro_rules! p {
    ($section:literal, $key:literal, $kind:ident, $line:literal, $mode:expr, |$u:ident, $v:ident| $set:expr) => {
        Probe {
            section: $section,
            key: $key,
            kind: Kind::$kind,
            set: |$u: &mut UnitFile, $v: &str| {
                $set;
            },
            line: $line,
            mode: $mode,
        }
    };
}

const ON: &[(&str, &[&str])] = &[("", &[])];

fn s(v: &str) -> String {
    v.to_string()
}
fn some(v: &str) -> Option<String> {
    Some(v.to_string())
}

/// Every key, with where its value goes.
#[rustfmt::skip]
pub fn probes() -> Vec<Probe> {
    use Mode::*;
    vec![
        // [Unit], [Service], [Install]: probed on a .volume (its service keeps our Type=).
        p!("Unit", "Description", Volume, "", Exact, |u, v| u.unit.description = some(v)),
        p!("Unit", "Requires", Volume, "", Exact, |u, v| u.unit.requires.push(format!("{v}.service"))),
        p!("Unit", "Wants", Volume, "", Exact, |u, v| u.unit.wants.push(format!("{v}.service"))),
        p!("Unit", "BindsTo", Volume, "", Exact, |u, v| u.unit.binds_to.push(format!("{v}.service"))),
        p!("Unit", "PartOf", Volume, "", Exact, |u, v| u.unit.part_of.push(format!("{v}.target"))),
        p!("Unit", "After", Volume, "", Exact, |u, v| u.unit.after.push(format!("{v}.service"))),
        p!("Unit", "StartLimitBurst", Volume, "", Fixed(&[("", &["7"])]), |u, _v| u.unit.start_limit_burst = Some(7)),
        p!("Service", "Type", Volume, "", Fixed(&[("oneshot", &["oneshot"]), ("exec", &["exec"])]), |u, v| u.service.service_type = some(v)),
        p!("Service", "RemainAfterExit", Volume, "", Fixed(&[("", &["no"])]), |u, _v| u.service.remain_after_exit = Some(false)),
        p!("Service", "Restart", Volume, "", Fixed(&[("on-failure", &["on-failure"]), ("no", &["no"])]), |u, v| u.service.restart = some(v)),
        p!("Service", "RestartSec", Volume, "", Fixed(&[("5", &["5"]), ("1min 30s", &["1min 30s"]), ("2.5s", &["2.5s"])]), |u, v| u.service.restart_sec = some(v)),
        p!("Service", "TimeoutStartSec", Volume, "", Fixed(&[("90", &["90"]), ("infinity", &["infinity"])]), |u, v| u.service.timeout_start_sec = some(v)),
        p!("Service", "TimeoutStopSec", Volume, "", Fixed(&[("40", &["40"]), ("1min 30s", &["1min 30s"])]), |u, v| u.service.timeout_stop_sec = some(v)),
        p!("Service", "SuccessExitStatus", Volume, "", Fixed(&[("137 143", &["137 143"]), ("0", &["0"])]), |u, v| u.service.success_exit_status = some(v)),
        p!("Service", "RestartForceExitStatus", Container, "", Fixed(&[("137 143 130", &["137 143 130"])]), |u, v| u.service.restart_force_exit_status = some(v)),
        p!("Service", "ExecStartPost", Volume, "ExecStartPost", Exact, |u, v| u.service.exec_start_post.push(vec![s("/bin/echo"), s(v)])),
        p!("Install", "WantedBy", Volume, "", Exact, |u, v| u.install.wanted_by.push(format!("{v}.target"))),
        // .container
        p!("Container", "Image", Container, "ExecStart", Exact, |u, v| c(u).image = s(v)),
        p!("Container", "ContainerName", Container, "ExecStart", Exact, |u, v| c(u).container_name = some(v)),
        p!("Container", "Pull", Container, "ExecStart", Exact, |u, v| c(u).pull = some(v)),
        p!("Container", "AutoUpdate", Container, "ExecStart", Exact, |u, v| c(u).auto_update = some(v)),
        p!("Container", "Entrypoint", Container, "ExecStart", Exact, |u, v| c(u).entrypoint = some(v)),
        p!("Container", "Exec", Container, "ExecStart", Exact, |u, v| c(u).exec = Some(vec![s("echo"), s(v), s("end")])),
        p!("Container", "Environment", Container, "ExecStart", Exact, |u, v| c(u).environment.push((s("E"), s(v)))),
        p!("Container", "EnvironmentFile", Container, "ExecStart", Exact, |u, v| c(u).environment_file.push(format!("/env/{v}"))),
        p!("Container", "Label", Container, "ExecStart", Exact, |u, v| c(u).label.push((s("l"), s(v)))),
        p!("Container", "Annotation", Container, "ExecStart", Exact, |u, v| c(u).annotation.push((s("a"), s(v)))),
        p!("Container", "PublishPort", Container, "ExecStart", Exact, |u, v| c(u).publish_port.push(s(v))),
        p!("Container", "ExposeHostPort", Container, "ExecStart", Fixed(&[("8080", &["--expose", "8080"]), ("9000-9010/udp", &["--expose", "9000-9010/udp"])]), |u, v| c(u).expose_host_port.push(s(v))),
        p!("Container", "Network", Container, "ExecStart", Exact, |u, v| c(u).network.push(s(v))),
        p!("Container", "NetworkAlias", Container, "ExecStart", Exact, |u, v| c(u).network_alias.push(s(v))),
        p!("Container", "IP", Container, "ExecStart", Exact, |u, v| c(u).ip = some(v)),
        p!("Container", "IP6", Container, "ExecStart", Exact, |u, v| c(u).ip6 = some(v)),
        p!("Container", "HostName", Container, "ExecStart", Exact, |u, v| c(u).host_name = some(v)),
        p!("Container", "DNS", Container, "ExecStart", Exact, |u, v| c(u).dns.push(s(v))),
        p!("Container", "DNSSearch", Container, "ExecStart", Exact, |u, v| c(u).dns_search.push(s(v))),
        p!("Container", "DNSOption", Container, "ExecStart", Exact, |u, v| c(u).dns_option.push(s(v))),
        p!("Container", "AddHost", Container, "ExecStart", Exact, |u, v| c(u).add_host.push(s(v))),
        p!("Container", "Volume", Container, "ExecStart", Exact, |u, v| c(u).volume.push(format!("/src/{v}:/dst"))),
        p!("Container", "Mount", Container, "ExecStart", Csv, |u, v| c(u).mount.push(format!("type=bind,source=/m/{v},destination=/d"))),
        p!("Container", "Tmpfs", Container, "ExecStart", Exact, |u, v| c(u).tmpfs.push(s(v))),
        p!("Container", "Secret", Container, "ExecStart", Exact, |u, v| c(u).secret.push(s(v))),
        p!("Container", "User", Container, "ExecStart", Exact, |u, v| c(u).user = some(v)),
        p!("Container", "Group", Container, "ExecStart", Exact, |u, v| { c(u).user = some("1000"); c(u).group = some(v) }),
        p!("Container", "GroupAdd", Container, "ExecStart", Exact, |u, v| c(u).group_add.push(s(v))),
        p!("Container", "WorkingDir", Container, "ExecStart", Exact, |u, v| c(u).working_dir = some(v)),
        p!("Container", "RunInit", Container, "ExecStart", Fixed(&[("", &["--init"])]), |u, _v| c(u).run_init = true),
        p!("Container", "ReadOnly", Container, "ExecStart", Fixed(&[("", &["--read-only"])]), |u, _v| c(u).read_only = true),
        p!("Container", "NoNewPrivileges", Container, "ExecStart", Fixed(&[("", &["--security-opt=no-new-privileges"])]), |u, _v| c(u).no_new_privileges = true),
        p!("Container", "SecurityLabelDisable", Container, "ExecStart", Fixed(&[("", &["--security-opt", "label=disable"])]), |u, _v| c(u).security_label_disable = true),
        p!("Container", "SecurityLabelType", Container, "ExecStart", Exact, |u, v| c(u).security_label_type = some(v)),
        p!("Container", "SecurityLabelLevel", Container, "ExecStart", Exact, |u, v| c(u).security_label_level = some(v)),
        p!("Container", "SecurityLabelFileType", Container, "ExecStart", Exact, |u, v| c(u).security_label_file_type = some(v)),
        p!("Container", "SecurityLabelNested", Container, "ExecStart", Fixed(&[("", &["--security-opt", "label=nested"])]), |u, _v| c(u).security_label_nested = true),
        p!("Container", "Mask", Container, "ExecStart", Exact, |u, v| c(u).mask = some(v)),
        p!("Container", "Unmask", Container, "ExecStart", Exact, |u, v| c(u).unmask = some(v)),
        p!("Container", "UserNS", Container, "ExecStart", Exact, |u, v| c(u).user_ns = some(v)),
        p!("Container", "SeccompProfile", Container, "ExecStart", Exact, |u, v| c(u).seccomp_profile = some(v)),
        p!("Container", "AddCapability", Container, "ExecStart", Lower, |u, v| c(u).add_capability.push(s(v))),
        p!("Container", "DropCapability", Container, "ExecStart", Lower, |u, v| c(u).drop_capability.push(s(v))),
        p!("Container", "AddDevice", Container, "ExecStart", Exact, |u, v| c(u).add_device.push(s(v))),
        p!("Container", "Sysctl", Container, "ExecStart", Exact, |u, v| c(u).sysctl.push((s("net.k"), s(v)))),
        p!("Container", "Ulimit", Container, "ExecStart", Exact, |u, v| c(u).ulimit.push(s(v))),
        p!("Container", "ShmSize", Container, "ExecStart", Exact, |u, v| c(u).shm_size = some(v)),
        p!("Container", "PidsLimit", Container, "ExecStart", Exact, |u, v| c(u).pids_limit = some(v)),
        p!("Container", "LogDriver", Container, "ExecStart", Exact, |u, v| c(u).log_driver = some(v)),
        p!("Container", "LogOpt", Container, "ExecStart", Exact, |u, v| c(u).log_opt.push(s(v))),
        p!("Container", "StopSignal", Container, "ExecStart", Exact, |u, v| c(u).stop_signal = some(v)),
        p!("Container", "StopTimeout", Container, "ExecStart", Fixed(&[("", &["--stop-timeout", "17"])]), |u, _v| c(u).stop_timeout = Some(17)),
        p!("Container", "HealthCmd", Container, "ExecStart", Exact, |u, v| c(u).health_cmd = some(v)),
        p!("Container", "HealthInterval", Container, "ExecStart", Exact, |u, v| c(u).health_interval = some(v)),
        p!("Container", "HealthTimeout", Container, "ExecStart", Exact, |u, v| c(u).health_timeout = some(v)),
        p!("Container", "HealthRetries", Container, "ExecStart", Fixed(&[("", &["--health-retries", "4"])]), |u, _v| c(u).health_retries = Some(4)),
        p!("Container", "HealthStartPeriod", Container, "ExecStart", Exact, |u, v| c(u).health_start_period = some(v)),
        p!("Container", "HealthStartupInterval", Container, "ExecStart", Exact, |u, v| c(u).health_startup_interval = some(v)),
        p!("Container", "Notify", Container, "ExecStart", Fixed(&[("healthy", &["--sdnotify=healthy"]), ("true", &["--sdnotify=container"])]), |u, v| c(u).notify = some(v)),
        p!("Container", "GlobalArgs", Container, "ExecStart", Exact, |u, v| c(u).global_args.push(s(v))),
        p!("Container", "PodmanArgs", Container, "ExecStart", Exact, |u, v| c(u).podman_args.push(s(v))),
        // .volume
        p!("Volume", "VolumeName", Volume, "ExecStart", Exact, |u, v| vol(u).volume_name = some(v)),
        p!("Volume", "Driver", Volume, "ExecStart", Exact, |u, v| vol(u).driver = some(v)),
        p!("Volume", "Device", Volume, "ExecStart", Exact, |u, v| vol(u).device = some(v)),
        // Quadlet takes Type= and Options= only with a Device=.
        p!("Volume", "Type", Volume, "ExecStart", Exact, |u, v| {
            vol(u).device = some("/dev/lab");
            vol(u).fs_type = some(v)
        }),
        p!("Volume", "Options", Volume, "ExecStart", Exact, |u, v| {
            vol(u).device = some("/dev/lab");
            vol(u).options = some(v)
        }),
        p!("Volume", "Label", Volume, "ExecStart", Exact, |u, v| vol(u).label.push((s("l"), s(v)))),
        p!("Volume", "PodmanArgs", Volume, "ExecStart", Exact, |u, v| vol(u).podman_args.push(s(v))),
        // .network
        p!("Network", "NetworkName", Network, "ExecStart", Exact, |u, v| net(u).network_name = some(v)),
        p!("Network", "Driver", Network, "ExecStart", Exact, |u, v| net(u).driver = some(v)),
        p!("Network", "Internal", Network, "ExecStart", Fixed(&[("", &["--internal"])]), |u, _v| net(u).internal = true),
        p!("Network", "IPv6", Network, "ExecStart", Fixed(&[("", &["--ipv6"])]), |u, _v| net(u).ipv6 = true),
        p!("Network", "Subnet", Network, "ExecStart", Exact, |u, v| net(u).subnet.push(s(v))),
        p!("Network", "Gateway", Network, "ExecStart", Exact, |u, v| { net(u).subnet.push(s("10.9.0.0/24")); net(u).gateway.push(s(v)) }),
        p!("Network", "IPRange", Network, "ExecStart", Exact, |u, v| { net(u).subnet.push(s("10.9.0.0/24")); net(u).ip_range.push(s(v)) }),
        p!("Network", "IPAMDriver", Network, "ExecStart", Exact, |u, v| net(u).ipam_driver = some(v)),
        p!("Network", "Options", Network, "ExecStart", Exact, |u, v| net(u).options.push((s("o"), s(v)))),
        p!("Network", "Label", Network, "ExecStart", Exact, |u, v| net(u).label.push((s("l"), s(v)))),
        p!("Network", "PodmanArgs", Network, "ExecStart", Exact, |u, v| net(u).podman_args.push(s(v))),
        // .build
        p!("Build", "ImageTag", Build, "ExecStart", Exact, |u, v| build(u).image_tag.push(s(v))),
        p!("Build", "SetWorkingDirectory", Build, "ExecStart", Exact, |u, v| build(u).set_working_directory = some(v)),
        p!("Build", "File", Build, "ExecStart", Exact, |u, v| build(u).file = some(v)),
        p!("Build", "Target", Build, "ExecStart", Exact, |u, v| build(u).target = some(v)),
        p!("Build", "Pull", Build, "ExecStart", Exact, |u, v| build(u).pull = some(v)),
        p!("Build", "Network", Build, "ExecStart", Exact, |u, v| build(u).network = some(v)),
        p!("Build", "Label", Build, "ExecStart", Exact, |u, v| build(u).label.push((s("l"), s(v)))),
        p!("Build", "PodmanArgs", Build, "ExecStart", Exact, |u, v| build(u).podman_args.push(s(v))),
        // .image
        p!("Image", "Image", Image, "ExecStart", Exact, |u, v| if let Body::Image(i) = &mut u.body { i.image = s(v) }),
        // .pod: its podman command is ExecStartPre= (`pod create`).
        p!("Pod", "PodName", Pod, "ExecStartPre", Exact, |u, v| pod(u).pod_name = some(v)),
        p!("Pod", "Network", Pod, "ExecStartPre", Exact, |u, v| pod(u).network.push(s(v))),
        p!("Pod", "PublishPort", Pod, "ExecStartPre", Exact, |u, v| pod(u).publish_port.push(s(v))),
    ]
}
