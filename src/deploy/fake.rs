//! Recorded fakes of the effects, for unit tests of the transaction logic.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use super::effects::{
    Clock, ContainerEngine, ContainerState, ListedContainer, ServiceManager, UnitState,
};
use super::tool::ToolError;

#[derive(Default)]
pub struct FakePodman {
    /// image → number of pulls still to fail.
    failing: Mutex<BTreeMap<String, u32>>,
    pulls: Mutex<Vec<String>>,
    pub digests: Mutex<BTreeMap<String, String>>,
    pub secrets: Mutex<Vec<(String, String)>>,
    /// Secrets whose creation fails.
    pub failing_secrets: Mutex<BTreeSet<String>>,
    /// Containers whose healthcheck never passes.
    pub unhealthy: Mutex<BTreeSet<String>>,
    /// Every removal, as `kind name` (`container web-api`, `network systemd-web-default`, …).
    pub removed: Mutex<Vec<String>>,
    /// label value of `PODMAN_SYSTEMD_UNIT` → containers carrying it.
    pub labelled: Mutex<BTreeMap<String, Vec<String>>>,
    /// Containers with a healthcheck the manifest does not know of (the image's `HEALTHCHECK`).
    pub image_healthcheck: Mutex<BTreeSet<String>>,
    /// Containers `podman ps` lists, and those removed: `removed`.
    pub listed: Mutex<Vec<ListedContainer>>,
    /// Every healthcheck run, with the time bound it was given.
    pub healthchecks: Mutex<Vec<(String, Duration)>>,
}

impl FakePodman {
    pub fn fail_pulls(&self, image: &str, times: u32) {
        self.failing.lock().unwrap().insert(image.into(), times);
    }
    pub fn pull_count(&self, image: &str) -> usize {
        self.pulls
            .lock()
            .unwrap()
            .iter()
            .filter(|i| *i == image)
            .count()
    }
    pub fn total_pulls(&self) -> usize {
        self.pulls.lock().unwrap().len()
    }
}

impl ContainerEngine for FakePodman {
    fn version(&self) -> Result<String, ToolError> {
        Ok("5.4.2".into())
    }

    fn pull(&self, image: &str, _timeout: Duration) -> Result<(), ToolError> {
        self.pulls.lock().unwrap().push(image.into());
        let mut f = self.failing.lock().unwrap();
        match f.get_mut(image) {
            Some(n) if *n > 0 => {
                *n -= 1;
                Err(ToolError::failed(
                    "podman",
                    &["pull", "--quiet", image],
                    Some(125),
                    "Error: initializing source: connection refused",
                ))
            }
            _ => Ok(()),
        }
    }
    fn image_digest(&self, image: &str) -> Result<String, ToolError> {
        Ok(self
            .digests
            .lock()
            .unwrap()
            .get(image)
            .cloned()
            .unwrap_or_else(|| format!("sha256:{image}")))
    }
    fn create_secret(&self, name: &str, file: &Path) -> Result<(), ToolError> {
        if self.failing_secrets.lock().unwrap().contains(name) {
            return Err(ToolError::failed(
                "podman",
                &["secret", "create", name],
                Some(125),
                "Error: no space left on device",
            ));
        }
        self.secrets
            .lock()
            .unwrap()
            .push((name.into(), file.display().to_string()));
        Ok(())
    }
    fn healthcheck(&self, container: &str, timeout: Duration) -> Result<bool, ToolError> {
        self.healthchecks
            .lock()
            .unwrap()
            .push((container.into(), timeout));
        Ok(!self.unhealthy.lock().unwrap().contains(container))
    }
    fn inspect(&self, container: &str) -> Option<ContainerState> {
        let health = if self.image_healthcheck.lock().unwrap().contains(container) {
            if self.unhealthy.lock().unwrap().contains(container) {
                "unhealthy"
            } else {
                "healthy"
            }
        } else {
            ""
        };
        Some(ContainerState {
            id: format!("id-{container}"),
            status: "running".into(),
            health: health.into(),
            ..Default::default()
        })
    }
    fn containers_with_label(&self, key: &str, value: &str) -> Result<Vec<String>, ToolError> {
        if key != "PODMAN_SYSTEMD_UNIT" {
            return Ok(Vec::new());
        }
        Ok(self
            .labelled
            .lock()
            .unwrap()
            .get(value)
            .cloned()
            .unwrap_or_default())
    }
    fn remove_container(&self, name: &str) -> Result<(), ToolError> {
        self.removed
            .lock()
            .unwrap()
            .push(format!("container {name}"));
        self.listed.lock().unwrap().retain(|c| c.name != name);
        Ok(())
    }
    fn remove_network(&self, name: &str) -> Result<(), ToolError> {
        self.removed.lock().unwrap().push(format!("network {name}"));
        Ok(())
    }
    fn remove_secret(&self, name: &str) -> Result<(), ToolError> {
        self.removed.lock().unwrap().push(format!("secret {name}"));
        Ok(())
    }
    fn remove_volume(&self, name: &str) -> Result<(), ToolError> {
        self.removed.lock().unwrap().push(format!("volume {name}"));
        Ok(())
    }
    fn list_unit_containers(&self) -> Result<Vec<ListedContainer>, ToolError> {
        Ok(self.listed.lock().unwrap().clone())
    }
}

/// How a scripted unit behaves once (re)started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Stays `activating/start-post` (a start that waits on a health check that never passes).
    Hangs,
    /// `Restart=` loops: every look shows it crashed and was restarted once more, sometimes
    /// `activating/auto-restart`, sometimes `active/running`, never `failed`.
    Loops,
    /// Stays `activating/start-post` for this many looks, then is active.
    SlowStart(u32),
}

#[derive(Default)]
pub struct FakeSystemd {
    /// Every call, as `verb unit unit…`.
    pub calls: Mutex<Vec<String>>,
    /// Units that fail to start.
    pub failing: Mutex<BTreeSet<String>>,
    /// Units that fail to start once, then start.
    pub failing_once: Mutex<BTreeSet<String>>,
    /// Units that behave as scripted after their next (re)start (once: the start after that is
    /// a plain one again).
    pub script: Mutex<BTreeMap<String, Behaviour>>,
    /// Units that, once seen up, are restarted by "systemd" on the next look (a crash).
    pub crash_after_up: Mutex<BTreeSet<String>>,
    /// The scripts of the units' current invocations.
    running: Mutex<BTreeMap<String, Behaviour>>,
    states: Mutex<BTreeMap<String, UnitState>>,
    /// Per scripted unit: how often it was looked at since its start.
    looks: Mutex<BTreeMap<String, u32>>,
    counter: Mutex<u64>,
}

impl FakeSystemd {
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
    pub fn clear(&self) {
        self.calls.lock().unwrap().clear();
    }
    fn record(&self, verb: &str, units: &[String]) {
        let mut s = verb.to_string();
        for u in units {
            s.push(' ');
            s.push_str(u);
        }
        self.calls.lock().unwrap().push(s);
    }
    /// The jobs are only queued (as `--no-block`): their outcome shows in `show`, never here.
    fn started(&self, units: &[String]) -> Result<(), ToolError> {
        let mut failing = self.failing.lock().unwrap().clone();
        let mut once = self.failing_once.lock().unwrap();
        failing.extend(units.iter().filter(|u| once.remove(*u)).cloned());
        let mut states = self.states.lock().unwrap();
        let mut script = self.script.lock().unwrap();
        let mut running = self.running.lock().unwrap();
        for u in units {
            let mut c = self.counter.lock().unwrap();
            *c += 1;
            let ok = !failing.contains(u);
            let n_restarts = states.get(u).map_or(0, |s| s.n_restarts);
            running.remove(u);
            if let Some(b) = script.remove(u) {
                running.insert(u.clone(), b);
            }
            let (active, sub) = match running.get(u) {
                Some(_) => ("activating", "start-post"),
                None if ok => ("active", "running"),
                None => ("failed", "failed"),
            };
            self.looks.lock().unwrap().remove(u);
            states.insert(
                u.clone(),
                UnitState {
                    load_state: "loaded".into(),
                    active_state: active.into(),
                    sub_state: sub.into(),
                    result: if ok { "success" } else { "exit-code" }.into(),
                    invocation_id: format!("inv{c}"),
                    n_restarts,
                },
            );
        }
        Ok(())
    }

    /// Moves a scripted unit on by one look.
    fn step(&self, unit: &str, st: &mut UnitState) {
        let Some(b) = self.running.lock().unwrap().get(unit).copied() else {
            return;
        };
        if st.active_state == "inactive" || st.active_state == "failed" {
            return;
        }
        let mut looks = self.looks.lock().unwrap();
        let n = looks.entry(unit.to_string()).or_default();
        *n += 1;
        match b {
            Behaviour::Hangs => {}
            Behaviour::SlowStart(k) if *n > k => {
                if st.active_state == "active" && self.crash_after_up.lock().unwrap().remove(unit) {
                    st.n_restarts += 1;
                }
                st.active_state = "active".into();
                st.sub_state = "running".into();
            }
            Behaviour::SlowStart(_) => {}
            Behaviour::Loops => {
                st.n_restarts += 1;
                st.result = "exit-code".into();
                let mut c = self.counter.lock().unwrap();
                *c += 1;
                st.invocation_id = format!("inv{c}");
                let (a, s) = if *n % 2 == 0 {
                    ("active", "running")
                } else {
                    ("activating", "auto-restart")
                };
                st.active_state = a.into();
                st.sub_state = s.into();
            }
        }
    }
}

impl ServiceManager for FakeSystemd {
    fn daemon_reload(&self) -> Result<(), ToolError> {
        self.record("daemon-reload", &[]);
        Ok(())
    }
    fn restart(&self, units: &[String]) -> Result<(), ToolError> {
        self.record("restart", units);
        self.started(units)
    }
    fn start(&self, units: &[String]) -> Result<(), ToolError> {
        self.record("start", units);
        self.started(units)
    }
    fn stop(&self, units: &[String]) -> Result<(), ToolError> {
        self.record("stop", units);
        let mut states = self.states.lock().unwrap();
        for u in units {
            self.running.lock().unwrap().remove(u);
            // A failed unit stays failed until it starts again or is reset.
            if states.get(u).is_some_and(|s| s.active_state == "failed") {
                continue;
            }
            states.insert(
                u.clone(),
                UnitState {
                    active_state: "inactive".into(),
                    sub_state: "dead".into(),
                    ..Default::default()
                },
            );
        }
        Ok(())
    }
    fn show(&self, unit: &str) -> Result<UnitState, ToolError> {
        let mut states = self.states.lock().unwrap();
        let Some(st) = states.get_mut(unit) else {
            return Ok(UnitState::default());
        };
        self.step(unit, st);
        Ok(st.clone())
    }
    fn reset_failed(&self, units: &[String]) -> Result<(), ToolError> {
        self.record("reset-failed", units);
        let mut states = self.states.lock().unwrap();
        for u in units {
            if let Some(st) = states.get_mut(u) {
                if st.active_state == "failed" {
                    st.active_state = "inactive".into();
                    st.sub_state = "dead".into();
                }
            }
        }
        Ok(())
    }
    fn disable_now(&self, units: &[String]) -> Result<(), ToolError> {
        self.record("disable --now", units);
        Ok(())
    }
}

#[derive(Default)]
pub struct FakeClock {
    now: Mutex<Duration>,
}

impl FakeClock {
    pub fn slept(&self) -> Duration {
        *self.now.lock().unwrap()
    }
}

impl Clock for FakeClock {
    fn elapsed(&self) -> Duration {
        *self.now.lock().unwrap()
    }
    fn sleep(&self, d: Duration) {
        *self.now.lock().unwrap() += d;
    }
    fn unix_now(&self) -> u64 {
        1_700_000_000
    }
}

/// One recorded entry: its level, fields (context first, then its own), message.
pub type Entry = (log::Level, Vec<(String, String)>, String);

/// A report that records everything in memory: entries with their fields, statuses, timeout
/// extensions.
#[derive(Default)]
pub struct Recorder {
    /// Every entry, in order.
    pub entries: Mutex<Vec<Entry>>,
    /// Every `STATUS=` sent, in order.
    pub statuses: Mutex<Vec<String>>,
    /// Every `EXTEND_TIMEOUT_USEC=` sent, in order.
    pub extensions: Mutex<Vec<Duration>>,
    context: Mutex<Vec<(String, String)>>,
}

impl Recorder {
    /// Messages recorded so far.
    pub fn messages(&self) -> Vec<String> {
        self.entries
            .lock()
            .unwrap()
            .iter()
            .map(|(_, _, m)| m.clone())
            .collect()
    }

    /// The value of `field` in the first entry whose message contains `text`.
    pub fn field_of(&self, text: &str, field: &str) -> Option<String> {
        let entries = self.entries.lock().unwrap();
        let (_, fields, _) = entries.iter().find(|(_, _, m)| m.contains(text))?;
        fields
            .iter()
            .rev()
            .find(|(k, _)| k == field)
            .map(|(_, v)| v.clone())
    }
}

impl super::journal::Report for Recorder {
    fn log(&self, level: log::Level, fields: &[(&str, &str)], message: &str) {
        // As `Journal`: an empty field is not sent, so it replaces no context field.
        let own = fields
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let all = crate::logging::merge_fields(self.context.lock().unwrap().clone(), own);
        self.entries
            .lock()
            .unwrap()
            .push((level, all, message.to_string()));
    }

    fn notify_status(&self, text: &str) {
        self.statuses.lock().unwrap().push(text.to_string());
    }

    fn extend_timeout(&self, by: Duration) {
        self.extensions.lock().unwrap().push(by);
    }

    fn set_context(&self, key: &str, value: &str) {
        crate::logging::set_field(&mut self.context.lock().unwrap(), key, value);
    }
}
