//! Pulling images: a bounded number in parallel, each retried with exponential backoff and bounded
//! by a timeout; then each image's digest, which feeds change detection.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use super::effects::Effects;

#[derive(Debug, Clone)]
pub struct PullOptions {
    pub jobs: usize,
    pub retries: u32,
    pub timeout: Duration,
    /// The first backoff; doubled after each failed attempt.
    pub backoff: Duration,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            jobs: 4,
            retries: 2,
            timeout: Duration::from_secs(300),
            backoff: Duration::from_secs(1),
        }
    }
}

fn pull_one(fx: &Effects, image: &str, o: &PullOptions) -> Result<String, String> {
    let mut delay = o.backoff;
    let mut attempt = 0;
    loop {
        match fx.podman.pull(image, o.timeout) {
            Ok(()) => {
                let digest = fx.podman.image_digest(image).map_err(String::from);
                if let Ok(d) = &digest {
                    fx.report
                        .info(&[("IMAGE", image)], &format!("pulled {image} ({d})"));
                }
                return digest;
            }
            Err(e) if attempt >= o.retries => {
                return Err(format!("{e} (after {} attempts)", attempt + 1))
            }
            Err(e) => {
                fx.report.warn(
                    &[("IMAGE", image)],
                    &format!(
                        "pull of {image} failed, retrying in {}s: {e}",
                        delay.as_secs()
                    ),
                );
                fx.clock.sleep(delay);
                delay *= 2;
                attempt += 1;
            }
        }
    }
}

/// The longest `n` pulls may take with `o`: each worker's share of the images, each with every
/// attempt at the timeout and the backoffs between them, plus a margin for the podman calls
/// around them. The deploy tells the service manager (`EXTEND_TIMEOUT_USEC=`) before pulling.
pub fn bound(n: usize, o: &PullOptions) -> Duration {
    let per_worker = n.div_ceil(o.jobs.max(1)) as u32;
    let attempts = o.retries.saturating_add(1);
    let backoffs: Duration = (0..o.retries)
        .map(|i| o.backoff * 2u32.saturating_pow(i))
        .sum();
    (o.timeout * attempts + backoffs) * per_worker + super::restart::STEP_MARGIN
}

/// Pulls every image; returns image → digest, or every failure (image, error).
pub fn pull_all(
    fx: &Effects,
    images: &[String],
    o: &PullOptions,
) -> Result<BTreeMap<String, String>, Vec<(String, String)>> {
    let (ok, failed) = pull_each(fx, images, o);
    if failed.is_empty() {
        Ok(ok)
    } else {
        Err(failed)
    }
}

/// Pulls every image; returns the digests of those pulled and the failures (image, error), sorted.
pub fn pull_each(
    fx: &Effects,
    images: &[String],
    o: &PullOptions,
) -> (BTreeMap<String, String>, Vec<(String, String)>) {
    let queue = Mutex::new(images.to_vec());
    let results = Mutex::new(Vec::new());
    let workers = o.jobs.clamp(1, images.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let next = queue.lock().ok().and_then(|mut q| q.pop());
                let Some(image) = next else { break };
                let r = pull_one(fx, &image, o);
                super::faultpoint::hit("pulling");
                if let Ok(mut res) = results.lock() {
                    res.push((image, r));
                    let failed = res.iter().filter(|(_, r)| r.is_err()).count();
                    fx.report.notify_status(&format!(
                        "pulling {} images: {} done{}",
                        images.len(),
                        res.len(),
                        match failed {
                            0 => String::new(),
                            n => format!(", {n} failed"),
                        }
                    ));
                }
            });
        }
    });
    let mut ok = BTreeMap::new();
    let mut failed = Vec::new();
    for (image, r) in results.into_inner().unwrap_or_default() {
        match r {
            Ok(d) => {
                ok.insert(image, d);
            }
            Err(e) => failed.push((image, e)),
        }
    }
    failed.sort();
    (ok, failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::fake::Recorder;
    use crate::deploy::fake::{FakeClock, FakePodman, FakeSystemd};

    #[test]
    fn the_pull_bound_covers_every_attempt_of_each_workers_share() {
        let o = PullOptions {
            jobs: 4,
            retries: 2,
            timeout: Duration::from_secs(300),
            backoff: Duration::from_secs(1),
        };
        // 9 images on 4 workers: 3 each at most; 3 attempts of 300 s and backoffs of 1 + 2 s.
        let want = Duration::from_secs(3 * (900 + 3)) + crate::deploy::restart::STEP_MARGIN;
        assert_eq!(bound(9, &o), want);
        assert_eq!(bound(0, &o), crate::deploy::restart::STEP_MARGIN);
        assert!(
            bound(9, &PullOptions { jobs: 0, ..o }) > want,
            "0 jobs counts as 1"
        );
    }

    #[test]
    fn retries_with_backoff_then_reports_every_failure() {
        let podman = FakePodman::default();
        podman.fail_pulls("bad", 100);
        podman.fail_pulls("flaky", 1);
        let (systemd, clock, report) = (
            FakeSystemd::default(),
            FakeClock::default(),
            Recorder::default(),
        );
        let fx = Effects {
            podman: &podman,
            systemd: &systemd,
            clock: &clock,
            report: &report,
        };
        let o = PullOptions {
            jobs: 2,
            retries: 2,
            ..Default::default()
        };
        let r = pull_all(&fx, &["good".into(), "flaky".into()], &o).unwrap();
        assert_eq!(r["flaky"], "sha256:flaky");
        let e = pull_all(&fx, &["good".into(), "bad".into()], &o).unwrap_err();
        assert_eq!(e.len(), 1);
        assert!(e[0].1.contains("after 3 attempts"), "{e:?}");
        // 1 s for flaky, then 1 s + 2 s for bad.
        assert_eq!(clock.slept(), Duration::from_secs(4));
        assert_eq!(podman.pull_count("bad"), 3);
    }
}
