//! The effects a deploy has, as small traits: the container engine, the service manager and the
//! clock. The transaction logic is written against these and unit-tested with recorded fakes
//! (`deploy::fake`); `podman.rs` and `systemd.rs` are the real edges. A failure is a
//! [`ToolError`]: what it means is decided in `tool.rs`, never by reading its message.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::tool::ToolError;

/// What `podman` does for a deploy.
pub trait ContainerEngine: Sync {
    /// The engine's version as it prints it (`podman --version`: `podman version 5.4.2` → `5.4.2`).
    fn version(&self) -> Result<String, ToolError>;
    /// Pulls `image`, giving up after `timeout`.
    fn pull(&self, image: &str, timeout: Duration) -> Result<(), ToolError>;
    /// The repository digest of a local image (`sha256:…`), or its image id when it has none.
    fn image_digest(&self, image: &str) -> Result<String, ToolError>;
    /// Creates (or replaces) a file-based secret.
    fn create_secret(&self, name: &str, file: &Path) -> Result<(), ToolError>;
    /// Runs the container's healthcheck once, giving up after `timeout`: Ok(true) when it passed.
    fn healthcheck(&self, container: &str, timeout: Duration) -> Result<bool, ToolError>;
    /// The container's state as `podman inspect` has it, None when there is no such container.
    fn inspect(&self, container: &str) -> Option<ContainerState>;
    /// Names of every container (running or not) carrying the label `key=value`.
    fn containers_with_label(&self, key: &str, value: &str) -> Result<Vec<String>, ToolError>;
    /// Stops (with the container's own stop signal and timeout) and removes a container; a
    /// container that does not exist is not an error.
    fn remove_container(&self, name: &str) -> Result<(), ToolError>;
    /// Removes a network; one that does not exist is not an error.
    fn remove_network(&self, name: &str) -> Result<(), ToolError>;
    /// Removes a secret; one that does not exist is not an error.
    fn remove_secret(&self, name: &str) -> Result<(), ToolError>;
    /// Removes a volume and its data; one that does not exist is not an error.
    fn remove_volume(&self, name: &str) -> Result<(), ToolError>;

    // The health gate's cleanup and `status` (issues 10 and 11).
    /// Every container of this user that a systemd unit runs (Podman labels those with
    /// `PODMAN_SYSTEMD_UNIT`), with its state.
    fn list_unit_containers(&self) -> Result<Vec<ListedContainer>, ToolError>;
}

/// One container of `podman ps -a`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListedContainer {
    pub name: String,
    /// Its `PODMAN_SYSTEMD_UNIT` label: the unit that started it.
    pub unit: String,
    /// `podman ps`'s status text (`Up 3 minutes (unhealthy)`, `Exited (137) …`).
    pub status: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerState {
    pub id: String,
    pub started_at: String,
    pub status: String,
    /// `healthy`, `unhealthy`, `starting`, or "" without a healthcheck.
    pub health: String,
    pub image_digest: String,
}

/// The state of one systemd unit (`systemctl show`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitState {
    pub load_state: String,
    pub active_state: String,
    pub sub_state: String,
    pub result: String,
    /// Changes on every start: how a deploy tells a unit was restarted by propagation.
    pub invocation_id: String,
    /// Automatic restarts (`Restart=`) systemd made: how a restart loop shows while the unit is
    /// never `failed`.
    pub n_restarts: u64,
}

impl UnitState {
    pub fn from_properties(props: &BTreeMap<String, String>) -> UnitState {
        let get = |k: &str| props.get(k).cloned().unwrap_or_default();
        UnitState {
            load_state: get("LoadState"),
            active_state: get("ActiveState"),
            sub_state: get("SubState"),
            result: get("Result"),
            invocation_id: get("InvocationID"),
            n_restarts: get("NRestarts").parse().unwrap_or(0),
        }
    }
}

/// What `systemctl --user` does for a deploy. `restart`, `start` and `stop` only queue the jobs
/// (`--no-block`, one job transaction: systemd runs independent ones in parallel): a unit's own
/// start or stop may take far longer than the deploy's timeout, so the deploy polls `show`
/// against its own deadline instead of waiting on the job.
pub trait ServiceManager: Sync {
    fn daemon_reload(&self) -> Result<(), ToolError>;
    fn restart(&self, units: &[String]) -> Result<(), ToolError>;
    fn start(&self, units: &[String]) -> Result<(), ToolError>;
    fn stop(&self, units: &[String]) -> Result<(), ToolError>;
    fn show(&self, unit: &str) -> Result<UnitState, ToolError>;
    /// Forgets the `failed` state of units (`systemctl reset-failed`).
    fn reset_failed(&self, units: &[String]) -> Result<(), ToolError>;
    /// `systemctl disable --now`: stops units and removes their install links.
    fn disable_now(&self, units: &[String]) -> Result<(), ToolError>;
}

/// Time, so waits and backoffs are instant in tests.
pub trait Clock: Sync {
    /// Time since an arbitrary fixed point (monotonic).
    fn elapsed(&self) -> Duration;
    fn sleep(&self, d: Duration);
    /// Seconds since the epoch (recorded in manifests).
    fn unix_now(&self) -> u64;
}

pub struct SystemClock {
    start: std::time::Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock {
            start: std::time::Instant::now(),
        }
    }
}

impl Clock for SystemClock {
    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d)
    }
    fn unix_now(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

/// Everything a transaction reaches outside the process.
pub struct Effects<'a> {
    pub podman: &'a dyn ContainerEngine,
    pub systemd: &'a dyn ServiceManager,
    pub clock: &'a dyn Clock,
    pub report: &'a dyn super::journal::Report,
}
