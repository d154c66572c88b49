//! The unit kinds we emit, one field per key. `writer` turns them into text; nothing else does.
//!
//! Key/value pairs (`Environment=`, `Label=`, ...) are kept as pairs so the writer quotes them as
//! one word. Argument lists (`Exec=`, `PodmanArgs=`) are kept as argument vectors.

/// `[Unit]`: systemd's dependency and description keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitSection {
    pub description: Option<String>,
    pub requires: Vec<String>,
    pub wants: Vec<String>,
    pub binds_to: Vec<String>,
    pub part_of: Vec<String>,
    pub after: Vec<String>,
    pub start_limit_burst: Option<u32>,
}

/// `[Service]`: how systemd runs the generated service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceSection {
    /// `Type=`; only `oneshot` is ever set (Quadlet chooses `notify` otherwise).
    pub service_type: Option<String>,
    pub remain_after_exit: Option<bool>,
    pub restart: Option<String>,
    pub restart_sec: Option<String>,
    pub timeout_start_sec: Option<String>,
    pub timeout_stop_sec: Option<String>,
    /// `SuccessExitStatus=`: space-separated exit codes (numbers only).
    pub success_exit_status: Option<String>,
    /// `RestartForceExitStatus=`: space-separated exit codes (numbers only).
    pub restart_force_exit_status: Option<String>,
    /// Each entry is one `ExecStartPost=` command line (an argument vector).
    pub exec_start_post: Vec<Vec<String>>,
}

/// `[Install]`: what Quadlet enables the service into.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstallSection {
    pub wanted_by: Vec<String>,
}

/// The `[Container]` section of a `.container` file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerSection {
    pub image: String,
    pub container_name: Option<String>,
    pub pull: Option<String>,
    pub auto_update: Option<String>,
    /// `Entrypoint=`: a JSON array, as Podman's `--entrypoint` takes a multi-word entrypoint.
    pub entrypoint: Option<String>,
    /// `Exec=`: the arguments after the image.
    pub exec: Option<Vec<String>>,
    pub environment: Vec<(String, String)>,
    pub environment_file: Vec<String>,
    pub label: Vec<(String, String)>,
    pub annotation: Vec<(String, String)>,
    pub publish_port: Vec<String>,
    pub expose_host_port: Vec<String>,
    pub network: Vec<String>,
    pub network_alias: Vec<String>,
    pub ip: Option<String>,
    pub ip6: Option<String>,
    pub host_name: Option<String>,
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    pub dns_option: Vec<String>,
    pub add_host: Vec<String>,
    pub volume: Vec<String>,
    pub mount: Vec<String>,
    pub tmpfs: Vec<String>,
    pub secret: Vec<String>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub group_add: Vec<String>,
    pub working_dir: Option<String>,
    pub run_init: bool,
    pub read_only: bool,
    pub no_new_privileges: bool,
    pub security_label_disable: bool,
    /// `SecurityLabelType=`, `…Level=`, `…FileType=`, `…Nested=`: `--security-opt label=…`.
    pub security_label_type: Option<String>,
    pub security_label_level: Option<String>,
    pub security_label_file_type: Option<String>,
    pub security_label_nested: bool,
    /// `Mask=`/`Unmask=`: `--security-opt mask=…`/`unmask=…` (colon-separated paths, `ALL`).
    pub mask: Option<String>,
    pub unmask: Option<String>,
    /// `UserNS=`: `--userns`.
    pub user_ns: Option<String>,
    pub seccomp_profile: Option<String>,
    pub add_capability: Vec<String>,
    pub drop_capability: Vec<String>,
    pub add_device: Vec<String>,
    pub sysctl: Vec<(String, String)>,
    pub ulimit: Vec<String>,
    pub shm_size: Option<String>,
    pub pids_limit: Option<String>,
    pub log_driver: Option<String>,
    pub log_opt: Vec<String>,
    pub stop_signal: Option<String>,
    pub stop_timeout: Option<u64>,
    pub health_cmd: Option<String>,
    pub health_interval: Option<String>,
    pub health_timeout: Option<String>,
    pub health_retries: Option<u64>,
    pub health_start_period: Option<String>,
    pub health_startup_interval: Option<String>,
    pub notify: Option<String>,
    /// `PodmanArgs=`: extra `podman run` arguments, one argument per entry.
    pub podman_args: Vec<String>,
    /// `GlobalArgs=`: arguments between `podman` and `run`.
    pub global_args: Vec<String>,
}

/// The `[Volume]` section of a `.volume` file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumeSection {
    pub volume_name: Option<String>,
    pub driver: Option<String>,
    /// `Device=`, `Type=`, `Options=`: the `device`, `type` and `o` options (Quadlet takes the
    /// last two only with a device).
    pub device: Option<String>,
    pub fs_type: Option<String>,
    pub options: Option<String>,
    pub label: Vec<(String, String)>,
    /// `--opt` pairs that have no key of their own.
    pub podman_args: Vec<String>,
}

/// The `[Network]` section of a `.network` file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkSection {
    pub network_name: Option<String>,
    pub driver: Option<String>,
    pub internal: bool,
    pub ipv6: bool,
    pub subnet: Vec<String>,
    pub gateway: Vec<String>,
    pub ip_range: Vec<String>,
    pub ipam_driver: Option<String>,
    pub options: Vec<(String, String)>,
    pub label: Vec<(String, String)>,
    pub podman_args: Vec<String>,
}

/// The `[Build]` section of a `.build` file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildSection {
    pub image_tag: Vec<String>,
    pub set_working_directory: Option<String>,
    pub file: Option<String>,
    pub target: Option<String>,
    pub pull: Option<String>,
    pub network: Option<String>,
    pub label: Vec<(String, String)>,
    pub podman_args: Vec<String>,
}

/// The `[Image]` section of a `.image` file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageSection {
    pub image: String,
}

/// The `[Pod]` section of a `.pod` file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodSection {
    pub pod_name: Option<String>,
    pub network: Vec<String>,
    pub publish_port: Vec<String>,
}

/// The kind-specific section of a Quadlet file, or none for a plain systemd unit (`.target`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Container(Box<ContainerSection>),
    Volume(VolumeSection),
    Network(NetworkSection),
    Build(BuildSection),
    Image(ImageSection),
    Pod(PodSection),
    Target,
}

/// One unit file: its name (`web-api.container`) and sections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitFile {
    pub file_name: String,
    pub unit: UnitSection,
    pub body: Body,
    pub service: ServiceSection,
    pub install: InstallSection,
}

impl UnitFile {
    pub fn new(file_name: impl Into<String>, body: Body) -> UnitFile {
        UnitFile {
            file_name: file_name.into(),
            unit: UnitSection::default(),
            body,
            service: ServiceSection::default(),
            install: InstallSection::default(),
        }
    }
}
