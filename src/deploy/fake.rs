//! Recorded fakes of the effects, for unit tests of the transaction logic.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use super::effects::{Clock, ContainerEngine, ContainerState, ServiceManager, UnitState};

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
    fn pull(&self, image: &str, _timeout: Duration) -> Result<(), String> {
        self.pulls.lock().unwrap().push(image.into());
        let mut f = self.failing.lock().unwrap();
        match f.get_mut(image) {
            Some(n) if *n > 0 => {
                *n -= 1;
                Err(format!("pull {image}: connection refused"))
            }
            _ => Ok(()),
        }
    }
    fn image_digest(&self, image: &str) -> Result<String, String> {
        Ok(self
            .digests
            .lock()
            .unwrap()
            .get(image)
            .cloned()
            .unwrap_or_else(|| format!("sha256:{image}")))
    }
    fn create_secret(&self, name: &str, file: &Path) -> Result<(), String> {
        if self.failing_secrets.lock().unwrap().contains(name) {
            return Err(format!("secret {name}: no space left"));
        }
        self.secrets
            .lock()
            .unwrap()
            .push((name.into(), file.display().to_string()));
        Ok(())
    }
    fn healthcheck(&self, container: &str) -> Result<bool, String> {
        Ok(!self.unhealthy.lock().unwrap().contains(container))
    }
    fn inspect(&self, container: &str) -> Option<ContainerState> {
        Some(ContainerState {
            id: format!("id-{container}"),
            status: "running".into(),
            ..Default::default()
        })
    }
    fn containers_with_label(&self, key: &str, value: &str) -> Result<Vec<String>, String> {
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
    fn remove_container(&self, name: &str) -> Result<(), String> {
        self.removed
            .lock()
            .unwrap()
            .push(format!("container {name}"));
        Ok(())
    }
    fn remove_network(&self, name: &str) -> Result<(), String> {
        self.removed.lock().unwrap().push(format!("network {name}"));
        Ok(())
    }
    fn remove_secret(&self, name: &str) -> Result<(), String> {
        self.removed.lock().unwrap().push(format!("secret {name}"));
        Ok(())
    }
    fn remove_volume(&self, name: &str) -> Result<(), String> {
        self.removed.lock().unwrap().push(format!("volume {name}"));
        Ok(())
    }
}

#[derive(Default)]
pub struct FakeSystemd {
    /// Every call, as `verb unit unit…`.
    pub calls: Mutex<Vec<String>>,
    /// Units that fail to start.
    pub failing: Mutex<BTreeSet<String>>,
    /// Units that fail to start once, then start.
    pub failing_once: Mutex<BTreeSet<String>>,
    states: Mutex<BTreeMap<String, UnitState>>,
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
    fn started(&self, units: &[String]) -> Result<(), String> {
        let mut failing = self.failing.lock().unwrap().clone();
        let mut once = self.failing_once.lock().unwrap();
        failing.extend(units.iter().filter(|u| once.remove(*u)).cloned());
        let mut states = self.states.lock().unwrap();
        let mut err = None;
        for u in units {
            let mut c = self.counter.lock().unwrap();
            *c += 1;
            let ok = !failing.contains(u);
            states.insert(
                u.clone(),
                UnitState {
                    load_state: "loaded".into(),
                    active_state: if ok { "active" } else { "failed" }.into(),
                    sub_state: if ok { "running" } else { "failed" }.into(),
                    result: if ok { "success" } else { "exit-code" }.into(),
                    invocation_id: format!("inv{c}"),
                },
            );
            if !ok {
                err = Some(format!("Job for {u} failed"));
            }
        }
        err.map_or(Ok(()), Err)
    }
}

impl ServiceManager for FakeSystemd {
    fn daemon_reload(&self) -> Result<(), String> {
        self.record("daemon-reload", &[]);
        Ok(())
    }
    fn restart(&self, units: &[String]) -> Result<(), String> {
        self.record("restart", units);
        self.started(units)
    }
    fn start(&self, units: &[String]) -> Result<(), String> {
        self.record("start", units);
        self.started(units)
    }
    fn stop(&self, units: &[String]) -> Result<(), String> {
        self.record("stop", units);
        let mut states = self.states.lock().unwrap();
        for u in units {
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
    fn show(&self, unit: &str) -> Result<UnitState, String> {
        Ok(self
            .states
            .lock()
            .unwrap()
            .get(unit)
            .cloned()
            .unwrap_or_default())
    }
    fn reset_failed(&self, units: &[String]) -> Result<(), String> {
        self.record("reset-failed", units);
        Ok(())
    }
    fn disable_now(&self, units: &[String]) -> Result<(), String> {
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
