//! The normalized Compose model: the shape `docker compose config --format json` prints.
//!
//! The loader's last phase (`normalize`) produces a JSON tree in exactly this shape (short syntax
//! expanded, paths absolute, defaults filled, resource names resolved); this module gives it types.
//! The translator reads only these types. Field names follow the Compose specification; anything
//! the typed fields do not name stays in `extensions` (the `x-` keys) so nothing is lost.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One stack: one Compose project after loading, interpolation, merging and normalization.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Project {
    /// Project name (`<project>_<key>` resource names derive from it).
    pub name: String,
    pub services: IndexMap<String, Service>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub networks: IndexMap<String, Network>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub volumes: IndexMap<String, Volume>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub secrets: IndexMap<String, FileObject>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub configs: IndexMap<String, FileObject>,
    #[serde(flatten)]
    pub extensions: IndexMap<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Service {
    pub image: Option<String>,
    pub build: Option<Build>,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    /// Values are `None` when the variable is declared without a value (`- FOO`).
    pub environment: IndexMap<String, Option<String>>,
    pub env_file: Vec<EnvFile>,
    pub ports: Vec<Port>,
    pub expose: Vec<String>,
    pub volumes: Vec<ServiceVolume>,
    /// Service-level network attachments; `None` value means attached with no options.
    pub networks: IndexMap<String, Option<ServiceNetwork>>,
    pub network_mode: Option<String>,
    pub depends_on: IndexMap<String, DependsOn>,
    pub healthcheck: Option<Healthcheck>,
    pub restart: Option<String>,
    pub labels: IndexMap<String, String>,
    pub annotations: IndexMap<String, String>,
    pub secrets: Vec<FileReference>,
    pub configs: Vec<FileReference>,
    pub deploy: Option<Deploy>,
    pub profiles: Vec<String>,
    pub container_name: Option<String>,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub user: Option<String>,
    pub group_add: Vec<String>,
    pub working_dir: Option<String>,
    pub init: Option<bool>,
    pub privileged: Option<bool>,
    pub read_only: Option<bool>,
    pub tty: Option<bool>,
    pub stdin_open: Option<bool>,
    pub stop_signal: Option<String>,
    pub stop_grace_period: Option<String>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub security_opt: Vec<String>,
    pub devices: Vec<Device>,
    pub device_cgroup_rules: Vec<String>,
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    pub dns_opt: Vec<String>,
    /// `host=ip` entries, as docker compose prints them.
    pub extra_hosts: Vec<String>,
    pub tmpfs: Vec<String>,
    pub shm_size: Option<Value>,
    pub sysctls: IndexMap<String, Value>,
    pub ulimits: IndexMap<String, Ulimit>,
    pub logging: Option<Logging>,
    pub pull_policy: Option<String>,
    pub platform: Option<String>,
    pub pid: Option<String>,
    pub ipc: Option<String>,
    pub userns_mode: Option<String>,
    pub cgroup: Option<String>,
    pub cgroup_parent: Option<String>,
    pub mac_address: Option<String>,
    pub links: Vec<String>,
    pub external_links: Vec<String>,
    pub volumes_from: Vec<String>,
    pub mem_limit: Option<Value>,
    pub mem_reservation: Option<Value>,
    pub memswap_limit: Option<Value>,
    pub cpus: Option<Value>,
    pub cpu_shares: Option<Value>,
    pub cpuset: Option<String>,
    pub pids_limit: Option<Value>,
    pub oom_score_adj: Option<i64>,
    pub scale: Option<u32>,
    pub runtime: Option<String>,
    pub storage_opt: IndexMap<String, String>,
    pub develop: Option<Value>,
    pub post_start: Vec<Value>,
    pub pre_stop: Vec<Value>,
    /// Everything else the service holds (`x-` keys and fields with no typed home yet).
    #[serde(flatten)]
    pub extensions: IndexMap<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Build {
    pub context: Option<String>,
    pub dockerfile: Option<String>,
    pub dockerfile_inline: Option<String>,
    pub args: IndexMap<String, Option<String>>,
    pub target: Option<String>,
    pub labels: IndexMap<String, String>,
    pub network: Option<String>,
    pub pull: Option<bool>,
    pub secrets: Vec<FileReference>,
    pub tags: Vec<String>,
    pub platforms: Vec<String>,
    pub extra_hosts: Vec<String>,
    pub ssh: Vec<String>,
    pub cache_from: Vec<String>,
    pub cache_to: Vec<String>,
    pub no_cache: Option<bool>,
    pub additional_contexts: IndexMap<String, String>,
    pub shm_size: Option<Value>,
    pub ulimits: IndexMap<String, Ulimit>,
    #[serde(flatten)]
    pub extensions: IndexMap<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EnvFile {
    pub path: String,
    pub required: bool,
    pub format: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Port {
    pub name: Option<String>,
    pub mode: Option<String>,
    pub host_ip: Option<String>,
    pub target: u32,
    /// A port or a range (`"8080"`, `"9000-9001"`); absent when the host port is random.
    pub published: Option<String>,
    pub protocol: Option<String>,
    pub app_protocol: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceVolume {
    /// `volume`, `bind`, `tmpfs`, `npipe`, `cluster` or `image`.
    #[serde(rename = "type")]
    pub kind: String,
    pub source: Option<String>,
    pub target: String,
    pub read_only: Option<bool>,
    pub consistency: Option<String>,
    pub bind: Option<BindOptions>,
    pub volume: Option<VolumeOptions>,
    pub tmpfs: Option<TmpfsOptions>,
    pub image: Option<Value>,
    #[serde(flatten)]
    pub extensions: IndexMap<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BindOptions {
    pub propagation: Option<String>,
    pub create_host_path: Option<bool>,
    pub selinux: Option<String>,
    pub recursive: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeOptions {
    pub nocopy: Option<bool>,
    pub subpath: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TmpfsOptions {
    pub size: Option<Value>,
    pub mode: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceNetwork {
    pub aliases: Vec<String>,
    pub ipv4_address: Option<String>,
    pub ipv6_address: Option<String>,
    pub link_local_ips: Vec<String>,
    pub mac_address: Option<String>,
    pub driver_opts: IndexMap<String, Value>,
    pub priority: Option<i64>,
    pub interface_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DependsOn {
    /// `service_started`, `service_healthy` or `service_completed_successfully`.
    pub condition: String,
    pub required: bool,
    pub restart: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Healthcheck {
    /// `["NONE"]`, `["CMD", args...]` or `["CMD-SHELL", "command"]`.
    pub test: Option<Vec<String>>,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub retries: Option<u64>,
    pub start_period: Option<String>,
    pub start_interval: Option<String>,
    pub disable: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FileReference {
    pub source: String,
    pub target: Option<String>,
    pub uid: Option<String>,
    pub gid: Option<String>,
    pub mode: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Deploy {
    pub mode: Option<String>,
    pub replicas: Option<u32>,
    pub labels: IndexMap<String, String>,
    pub resources: Option<Resources>,
    pub restart_policy: Option<RestartPolicy>,
    pub placement: Option<Value>,
    pub endpoint_mode: Option<String>,
    pub update_config: Option<Value>,
    pub rollback_config: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resources {
    pub limits: Option<Resource>,
    pub reservations: Option<Resource>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resource {
    /// docker compose prints cpus as a number.
    pub cpus: Option<f64>,
    /// Bytes, as a decimal string (docker compose prints `"52428800"`).
    pub memory: Option<String>,
    pub pids: Option<i64>,
    pub devices: Vec<DeviceRequest>,
    pub generic_resources: Vec<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeviceRequest {
    pub capabilities: Vec<String>,
    pub driver: Option<String>,
    pub count: Option<Value>,
    pub device_ids: Vec<String>,
    pub options: IndexMap<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RestartPolicy {
    pub condition: Option<String>,
    pub delay: Option<String>,
    pub max_attempts: Option<u64>,
    pub window: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Device {
    pub source: String,
    pub target: Option<String>,
    pub permissions: Option<String>,
}

/// docker compose prints `nproc: 65535` (a single value) or `nofile: {soft, hard}`; both load here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, from = "UlimitForm")]
pub struct Ulimit {
    pub single: Option<i64>,
    pub soft: Option<i64>,
    pub hard: Option<i64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum UlimitForm {
    Single(i64),
    Pair {
        #[serde(default)]
        single: Option<i64>,
        #[serde(default)]
        soft: Option<i64>,
        #[serde(default)]
        hard: Option<i64>,
    },
}

impl From<UlimitForm> for Ulimit {
    fn from(f: UlimitForm) -> Ulimit {
        match f {
            UlimitForm::Single(n) => Ulimit {
                single: Some(n),
                soft: None,
                hard: None,
            },
            UlimitForm::Pair { single, soft, hard } => Ulimit { single, soft, hard },
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Logging {
    pub driver: Option<String>,
    pub options: IndexMap<String, Option<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Network {
    /// The Podman/Docker object name (`<project>_<key>` unless `name:` or external).
    pub name: Option<String>,
    pub driver: Option<String>,
    pub driver_opts: IndexMap<String, String>,
    pub ipam: Option<Ipam>,
    pub external: Option<bool>,
    pub internal: Option<bool>,
    pub enable_ipv6: Option<bool>,
    pub attachable: Option<bool>,
    pub labels: IndexMap<String, String>,
    #[serde(flatten)]
    pub extensions: IndexMap<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Ipam {
    pub driver: Option<String>,
    pub config: Vec<IpamPool>,
    pub options: IndexMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IpamPool {
    pub subnet: Option<String>,
    pub ip_range: Option<String>,
    pub gateway: Option<String>,
    pub aux_addresses: IndexMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Volume {
    pub name: Option<String>,
    pub driver: Option<String>,
    pub driver_opts: IndexMap<String, String>,
    pub external: Option<bool>,
    pub labels: IndexMap<String, String>,
    #[serde(flatten)]
    pub extensions: IndexMap<String, Value>,
}

/// A top-level secret or config.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FileObject {
    pub name: Option<String>,
    pub file: Option<String>,
    pub environment: Option<String>,
    pub content: Option<String>,
    pub external: Option<bool>,
    pub labels: IndexMap<String, String>,
    pub driver: Option<String>,
    pub driver_opts: IndexMap<String, String>,
    pub template_driver: Option<String>,
    #[serde(flatten)]
    pub extensions: IndexMap<String, Value>,
}
