//! Proves the lab works the way the end-to-end tests use it: Quadlet files → `daemon-reload` → rootless
//! containers pulled from the lab registry, restarts, `.path` units, journald, and name resolution on a
//! user network. Every unit is named `smoke-<what>-<pid>` so runs never collide with other tests.
//! Without a lab: fails under `RELEASE_TOOL_REQUIRE_LAB=1`, else prints `skipped:`.

mod common;

use common::lab::{free_port, http_get, wait_for, Lab};
use std::path::PathBuf;
use std::time::Duration;

/// The container's health as podman reports it (`starting`, `healthy`, `unhealthy`; empty when
/// podman cannot tell).
fn health_status(lab: &Lab, name: &str) -> String {
    let out = lab.run(&[
        "podman",
        "inspect",
        "--format",
        "{{.State.Health.Status}}",
        name,
    ]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

const START_TIMEOUT: Duration = Duration::from_secs(90);

/// Unit files written for one test; stopped, removed and reloaded away when dropped, pass or fail.
struct Units<'a> {
    lab: &'a Lab,
    files: Vec<PathBuf>,
    units: Vec<String>,
    networks: Vec<String>,
}

impl<'a> Units<'a> {
    fn new(lab: &'a Lab) -> Self {
        Units {
            lab,
            files: Vec::new(),
            units: Vec::new(),
            networks: Vec::new(),
        }
    }

    fn add_file(&mut self, path: PathBuf, contents: &str) {
        self.lab.write_file(&path, contents);
        self.files.push(path);
    }

    fn daemon_reload(&self) {
        self.lab.systemctl_ok(&["daemon-reload"]);
    }

    fn start(&mut self, unit: &str) {
        self.units.push(unit.to_string());
        let out = self.lab.systemctl(&["start", unit]);
        if !out.status.success() {
            panic!(
                "systemctl --user start {unit} failed: {}\n--- status ---\n{}\n--- journal ---\n{}",
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(
                    &self
                        .lab
                        .systemctl(&["status", "--no-pager", "-l", unit])
                        .stdout
                ),
                self.lab.journal_of_user_unit(unit)
            );
        }
    }
}

impl Drop for Units<'_> {
    fn drop(&mut self) {
        for unit in self.units.iter().rev() {
            let _ = self.lab.systemctl(&["stop", unit]);
        }
        for f in &self.files {
            let _ = std::fs::remove_file(f);
        }
        let _ = self.lab.systemctl(&["daemon-reload"]);
        for unit in &self.units {
            let _ = self.lab.systemctl(&["reset-failed", unit]);
        }
        for n in &self.networks {
            let _ = self.lab.run(&["podman", "network", "rm", "-f", n]);
        }
    }
}

fn text_of(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn container_id(lab: &Lab, name: &str) -> Option<String> {
    let out = lab.run(&["podman", "inspect", "--format", "{{.Id}}", name]);
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !id.is_empty()).then_some(id)
}

#[test]
fn quadlet_container_serves_http_and_restart_replaces_it() {
    let Some(lab) = Lab::require("quadlet_container_serves_http_and_restart_replaces_it") else {
        return;
    };
    let name = format!("smoke-http-{}", std::process::id());
    let port = free_port();
    let mut units = Units::new(&lab);
    units.add_file(
        lab.quadlet_dir().join(format!("{name}.container")),
        &format!(
            "[Unit]\nDescription=lab smoke: http from the lab registry\n\n\
             [Container]\nImage={image}\nContainerName={name}\n\
             Exec=httpd -f -p 8080 -h /www\nPublishPort=127.0.0.1:{port}:8080\n\
             RunInit=true\n\n[Service]\nTimeoutStopSec=5\n",
            image = lab.image_2,
        ),
    );
    units.daemon_reload();
    // the generator (Quadlet) made a service from the .container file
    let show = lab.systemctl_ok(&["show", "-p", "LoadState", &format!("{name}.service")]);
    assert_eq!(
        show.trim(),
        "LoadState=loaded",
        "Quadlet did not generate {name}.service"
    );

    units.start(&format!("{name}.service"));
    let body = wait_for(START_TIMEOUT, || http_get(port, "/"))
        .unwrap_or_else(|| panic!("nothing served on 127.0.0.1:{port}"));
    assert!(
        body.contains("lab lab/busybox:2"),
        "unexpected body: {body}"
    );
    let first = container_id(&lab, &name).expect("container id after start");

    lab.systemctl_ok(&["restart", &format!("{name}.service")]);
    let second = wait_for(START_TIMEOUT, || {
        container_id(&lab, &name).filter(|id| *id != first)
    })
    .expect("restart did not give a new container");
    assert_ne!(first, second);
    assert!(
        wait_for(START_TIMEOUT, || http_get(port, "/")).is_some(),
        "nothing served after restart"
    );
    assert_eq!(
        lab.systemctl_ok(&["is-active", &format!("{name}.service")])
            .trim(),
        "active"
    );
}

#[test]
fn path_unit_fires_on_a_file_change_and_logs_to_journald() {
    let Some(lab) = Lab::require("path_unit_fires_on_a_file_change_and_logs_to_journald") else {
        return;
    };
    let name = format!("smoke-path-{}", std::process::id());
    let dir = lab.tempdir("smoke-path-");
    let trigger = dir.path().join("trigger");
    let marker = dir.path().join("fired");
    let message = format!("{name} fired");
    let mut units = Units::new(&lab);
    units.add_file(
        lab.user_unit_dir().join(format!("{name}.service")),
        &format!(
            "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo \"{message}\"; date >>{marker}'\n",
            marker = marker.display(),
        ),
    );
    units.add_file(
        lab.user_unit_dir().join(format!("{name}.path")),
        &format!("[Path]\nPathChanged={}\n", trigger.display()),
    );
    units.daemon_reload();
    units.start(&format!("{name}.path"));
    assert!(!marker.exists(), "the service ran before the trigger");

    lab.write_file(&trigger, "changed\n");
    wait_for(Duration::from_secs(20), || marker.exists().then_some(()))
        .expect("the .path unit did not fire on the file change");

    // the service's stdout is in journald, attributed to the user unit
    let service = format!("{name}.service");
    let logged = wait_for(Duration::from_secs(10), || {
        lab.journal_of_user_unit(&service)
            .contains(&message)
            .then_some(())
    });
    assert!(
        logged.is_some(),
        "journal of {service}: {:?}",
        lab.journal_of_user_unit(&service)
    );
    // and the user reads it from its side too
    let own = lab.run_ok(&[
        "journalctl",
        "--no-pager",
        "-o",
        "cat",
        "--user-unit",
        &service,
    ]);
    assert!(
        own.contains(&message),
        "journalctl --user-unit as {}: {own:?}",
        lab.user
    );
}

#[test]
fn containers_on_a_user_network_resolve_each_other_by_name() {
    let Some(lab) = Lab::require("containers_on_a_user_network_resolve_each_other_by_name") else {
        return;
    };
    let pid = std::process::id();
    let net = format!("smoke-net-{pid}");
    let server = format!("smoke-srv-{pid}");
    let alias = format!("smoke-alias-{pid}");
    let mut units = Units::new(&lab);
    units.networks.push(net.clone());
    units.add_file(
        lab.quadlet_dir().join(format!("{net}.network")),
        &format!("[Network]\nNetworkName={net}\n"),
    );
    units.add_file(
        lab.quadlet_dir().join(format!("{server}.container")),
        &format!(
            "[Container]\nImage={image}\nContainerName={server}\nNetwork={net}.network\n\
             PodmanArgs=--network-alias={alias}\nExec=httpd -f -p 8080 -h /www\nRunInit=true\n\n\
             [Service]\nTimeoutStopSec=5\n",
            image = lab.image,
        ),
    );
    units.daemon_reload();
    units.start(&format!("{server}.service"));

    // a second container on the same network reaches the first by container name and by alias
    for host in [&server, &alias] {
        let url = format!("http://{host}:8080/");
        let fetched = wait_for(START_TIMEOUT, || {
            let out = lab.run(&[
                "podman",
                "run",
                "--rm",
                "--network",
                &net,
                &lab.image,
                "wget",
                "-q",
                "-O",
                "-",
                &url,
            ]);
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
        });
        let body =
            fetched.unwrap_or_else(|| panic!("{url} not reachable from a container on {net}"));
        assert!(body.contains("lab"), "unexpected body from {url}: {body}");
    }
}

#[test]
fn registry_holds_the_test_images_with_distinct_digests() {
    let Some(lab) = Lab::require("registry_holds_the_test_images_with_distinct_digests") else {
        return;
    };
    let digest = |image: &str| {
        let out = lab.run_ok(&[
            "sh",
            "-c",
            &format!(
                "podman pull -q {image} && podman image inspect --format '{{{{.Digest}}}}' {image}"
            ),
        ]);
        out.lines().last().unwrap_or_default().to_string()
    };
    let one = digest(&lab.image);
    let two = digest(&lab.image_2);
    let unhealthy = digest(&lab.unhealthy_image);
    assert!(one.starts_with("sha256:"), "{one}");
    assert_ne!(one, two, "busybox:1 and :2 must differ");
    assert_ne!(two, unhealthy);
}

#[test]
fn unhealthy_image_runs_but_fails_its_health_check() {
    let Some(lab) = Lab::require("unhealthy_image_runs_but_fails_its_health_check") else {
        return;
    };
    let name = format!("smoke-unhealthy-{}", std::process::id());
    lab.podman_ok(&["run", "-d", "--name", &name, &lab.unhealthy_image]);
    let health = wait_for(Duration::from_secs(30), || {
        let s = health_status(&lab, &name);
        (s == "unhealthy").then_some(s)
    });
    let running = lab.run_ok(&["podman", "inspect", "--format", "{{.State.Running}}", &name]);
    let _ = lab.run(&["podman", "rm", "-f", "-t", "0", &name]);
    assert_eq!(
        health.as_deref(),
        Some("unhealthy"),
        "the health check never failed"
    );
    assert_eq!(running.trim(), "true", "the container should keep running");
}

#[test]
fn quadlet_volume_secret_and_health_check_work_on_this_podman() {
    let Some(lab) = Lab::require("quadlet_volume_secret_and_health_check_work_on_this_podman")
    else {
        return;
    };
    let pid = std::process::id();
    let name = format!("smoke-vsh-{pid}");
    let volume = format!("smoke-vol-{pid}");
    let secret = format!("smoke-secret-{pid}");
    let dir = lab.tempdir("smoke-secret-");
    let secret_file = dir.path().join("token");
    lab.write_file(&secret_file, format!("token-{pid}"));
    lab.podman_ok(&["secret", "create", &secret, &secret_file.to_string_lossy()]);

    let mut units = Units::new(&lab);
    units.add_file(
        lab.quadlet_dir().join(format!("{volume}.volume")),
        &format!("[Volume]\nVolumeName={volume}\n"),
    );
    units.add_file(
        lab.quadlet_dir().join(format!("{name}.container")),
        &format!(
            "[Container]\nImage={image}\nContainerName={name}\nVolume={volume}.volume:/data\n\
             Secret={secret}\nExec=sh -c 'echo {name} started; cat /run/secrets/{secret} >/data/copied && exec httpd -f -p 8080 -h /www'\n\
             HealthCmd=wget -q -O /dev/null http://127.0.0.1:8080/\nHealthInterval=1s\nRunInit=true\n\n\
             [Service]\nTimeoutStopSec=5\n",
            image = lab.image,
        ),
    );
    units.daemon_reload();
    units.start(&format!("{name}.service"));
    // the volume unit again, now that the volume exists (Quadlet 5's `volume create --ignore`)
    lab.systemctl_ok(&["restart", &format!("{volume}-volume.service")]);

    let health = wait_for(START_TIMEOUT, || {
        let s = health_status(&lab, &name);
        (s == "healthy").then_some(s)
    });
    let copied = lab.run(&[
        "podman",
        "run",
        "--rm",
        "-v",
        &format!("{volume}:/data"),
        &lab.image,
        "cat",
        "/data/copied",
    ]);
    // the container's output is in journald (log driver), for root and through `podman logs`
    let marker = format!("{name} started");
    let in_journal = wait_for(Duration::from_secs(10), || {
        let out = std::process::Command::new("journalctl")
            .args(["--no-pager", "-o", "cat", &format!("CONTAINER_NAME={name}")])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .contains(&marker)
            .then_some(())
    });
    let logs = lab.run(&["podman", "logs", &name]);
    let _ = lab.systemctl(&["stop", &format!("{name}.service")]);
    let _ = lab.run(&["podman", "secret", "rm", &secret]);
    let _ = lab.run(&["podman", "volume", "rm", "-f", &volume]);
    assert_eq!(
        health.as_deref(),
        Some("healthy"),
        "the health check never passed"
    );
    assert!(in_journal.is_some(), "container output not in journald");
    assert!(
        String::from_utf8_lossy(&logs.stdout).contains(&marker),
        "podman logs: {}",
        text_of(&logs)
    );
    assert_eq!(
        String::from_utf8_lossy(&copied.stdout),
        format!("token-{pid}"),
        "the secret did not reach the volume: {}",
        String::from_utf8_lossy(&copied.stderr)
    );
}
