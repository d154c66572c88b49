//! Translator behaviour that needs no external binary: what a deploy is told (containers,
//! secrets), targets, version rewriting, strict mode, refusals.

#[path = "golden/support.rs"]
mod support;

use release_tool::compose::{LoadedStack, Project, SourceMap};
use release_tool::diag::Span;
use release_tool::translate::{render_meta_target, render_stack, PodmanVersion, RenderOptions};

fn stack(name: &str, project: serde_json::Value) -> LoadedStack {
    let project: Project = serde_json::from_value(project).unwrap();
    LoadedStack {
        name: name.into(),
        dir: "/srv/services/worker".into(),
        project,
        sources: SourceMap::default(),
        warnings: vec![],
        inputs: vec![],
    }
}

fn worker() -> LoadedStack {
    stack(
        "worker",
        serde_json::json!({
            "name": "worker",
            "services": {
                "migrate": {"image": "127.0.0.1:5000/lab/busybox:1", "command": ["sh", "-c", "true"], "restart": "always", "networks": {"default": null}},
                "worker": {
                    "image": "busybox",
                    "stop_signal": "SIGKILL",
                    "depends_on": {"migrate": {"condition": "service_completed_successfully", "required": true}, "db": {"condition": "service_healthy", "required": true}},
                    "secrets": [{"source": "token"}],
                    "networks": {"default": null}
                },
                "db": {"image": "postgres:16", "healthcheck": {"test": ["CMD", "pg_isready"], "interval": "2s", "retries": 3}, "networks": {"default": null}}
            },
            "networks": {"default": {"name": "worker_default"}},
            "secrets": {"token": {"name": "worker_token", "file": "/srv/services/worker/token.txt"}}
        }),
    )
}

#[test]
fn deploy_facts_are_filled() {
    let r = support::render(&worker(), support::V5_4).unwrap();
    let by = |s: &str| r.containers.iter().find(|c| c.service == s).unwrap();
    assert_eq!(by("migrate").unit, "worker-migrate.service");
    assert_eq!(
        by("migrate").image.as_deref(),
        Some("127.0.0.1:5000/lab/busybox:1")
    );
    assert!(by("migrate").oneshot && !by("migrate").healthcheck);
    assert!(by("db").healthcheck && !by("db").oneshot);
    assert_eq!(
        by("worker").image.as_deref(),
        Some("docker.io/library/busybox:latest")
    );
    assert_eq!(
        by("worker").after,
        vec![
            "worker-migrate.service".to_string(),
            "worker-db.service".to_string()
        ]
    );
    assert_eq!(r.secrets.len(), 1);
    assert_eq!(r.secrets[0].name, "worker-token");
    assert_eq!(
        r.secrets[0].file,
        std::path::PathBuf::from("/srv/services/worker/token.txt")
    );
    let migrate = r.unit("worker-migrate.container").unwrap();
    assert!(
        migrate.contains("Type=oneshot\nRemainAfterExit=yes\n") && !migrate.contains("Restart="),
        "{migrate}"
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.field == "services.migrate.restart"),
        "{:?}",
        r.warnings
    );
    let target = r.unit("worker.target").unwrap();
    assert!(
        target.contains(
            "Wants=worker-db.service\nWants=worker-migrate.service\nWants=worker-worker.service\n"
        ),
        "{target}"
    );
    assert!(target.contains("[Install]\nWantedBy=default.target\n"));
    let names: Vec<_> = r.units.iter().map(|u| u.file_name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "units are sorted by file name");
}

#[test]
fn same_input_same_bytes() {
    let a = support::render(&worker(), support::V5_4).unwrap();
    let b = support::render(&worker(), support::V5_4).unwrap();
    assert_eq!(a, b);
}

#[test]
fn older_podman_gets_podman_args_and_the_health_wait_fallback() {
    let r = support::render(&worker(), PodmanVersion { major: 4, minor: 4 }).unwrap();
    let w = r.unit("worker-worker.container").unwrap();
    assert!(
        !w.contains("StopSignal=") && w.contains("PodmanArgs=--stop-signal=SIGKILL"),
        "{w}"
    );
    let db = r.unit("worker-db.container").unwrap();
    assert!(
        !db.contains("Notify=healthy") && db.contains("ExecStartPost=/bin/sh -c "),
        "{db}"
    );
    assert!(db.contains("TimeoutStartSec="), "{db}");
    let r = support::render(&worker(), PodmanVersion { major: 5, minor: 2 }).unwrap();
    let w = r.unit("worker-worker.container").unwrap();
    assert!(
        w.contains("StopSignal=SIGKILL") && !w.contains("PodmanArgs"),
        "{w}"
    );
}

#[test]
fn strict_turns_warnings_into_errors_with_file_and_line() {
    let mut s = worker();
    s.sources.spans.insert(
        "services.migrate.restart".into(),
        Span {
            file: "/srv/services/worker/compose.yaml".into(),
            line: 7,
            column: 5,
        },
    );
    let opts = RenderOptions {
        podman_version: support::V5_4,
        strict: true,
    };
    let e = render_stack(&s, &opts).unwrap_err();
    let text: Vec<String> = e.iter().map(|d| d.to_string()).collect();
    assert!(
        text.iter().any(|t| t.starts_with(
            "/srv/services/worker/compose.yaml:7:5: error: services.migrate.restart: "
        )),
        "{text:?}"
    );
}

#[test]
fn refusals_name_the_field() {
    let s = stack(
        "s",
        serde_json::json!({"name": "s", "services": {"web": {"image": "nginx", "deploy": {"replicas": 3}}}}),
    );
    let e = render_stack(&s, &support::opts(support::V5_4)).unwrap_err();
    assert!(
        e.iter()
            .any(|d| d.field == "services.web.deploy.replicas" && d.message.contains("3 replicas")),
        "{e:?}"
    );
    let s = stack(
        "s",
        serde_json::json!({"name": "s", "services": {"web": {"build": {"context": "."}}}}),
    );
    let e = render_stack(&s, &support::opts(PodmanVersion { major: 4, minor: 8 })).unwrap_err();
    assert!(
        e.iter()
            .any(|d| d.message.contains(".build units needs Podman 5.0")),
        "{e:?}"
    );
    let s = stack(
        "s",
        serde_json::json!({"name": "s", "services": {"web": {"image": "nginx", "depends_on": {"nope": {"condition": "service_started", "required": true}}}}}),
    );
    let e = render_stack(&s, &support::opts(support::V5_4)).unwrap_err();
    assert!(
        e.iter().any(|d| d.field == "services.web.depends_on.nope"),
        "{e:?}"
    );
}

#[test]
fn one_container_name_for_two_services_is_refused() {
    let s = stack(
        "s",
        serde_json::json!({"name": "s", "services": {"a": {"image": "nginx", "container_name": "x"}, "b": {"image": "nginx", "container_name": "x"}}}),
    );
    let e = render_stack(&s, &support::opts(support::V5_4)).unwrap_err();
    assert!(
        e.iter()
            .any(|d| d.field == "services.b.container_name" && d.message.contains("service a")),
        "{e:?}"
    );
}

#[test]
fn meta_target_wants_every_stack() {
    let t = render_meta_target("all-stacks", &["worker".into(), "web".into()]);
    assert_eq!(t.file_name, "all-stacks.target");
    assert!(
        t.contents
            .contains("Wants=web.target\nWants=worker.target\n"),
        "{}",
        t.contents
    );
    assert!(t.contents.contains("[Install]\nWantedBy=default.target\n"));
}

/// Empty values docker compose accepts (issue 9): kept in meaning where Podman has one, dropped
/// with a warning naming the field where they mean nothing, refused only where the meaning cannot
/// be kept.
#[test]
fn empty_values_docker_compose_accepts_are_carried_dropped_or_refused_by_meaning() {
    let s = stack(
        "e",
        serde_json::json!({
            "name": "e",
            "services": {
                "a": {
                    "image": "busybox",
                    "dns_search": [""],
                    "dns": ["", "1.1.1.1"],
                    "dns_opt": [""],
                    "cap_add": ["", "NET_ADMIN"],
                    "cap_drop": [""],
                    "group_add": [""],
                    "command": ["app", "--flag", "", ""],
                    "networks": {"default": null}
                },
                "b": {"image": "busybox", "dns_search": ["", "example.com"], "networks": {"default": null}}
            },
            "networks": {"default": {"name": "e_default"}}
        }),
    );
    let r = support::render(&s, support::V5_4).unwrap();
    let a = r.unit("e-a.container").unwrap();
    // `dns_search: ""` clears the search domains: Podman's `.`.
    assert!(a.contains("DNSSearch=.\n"), "{a}");
    assert!(a.contains("DNS=1.1.1.1\n") && !a.contains("DNS=\n"), "{a}");
    assert!(
        !a.contains("DNSOption=") && !a.contains("DropCapability=") && !a.contains("GroupAdd="),
        "{a}"
    );
    assert!(
        a.contains("AddCapability=NET_ADMIN\n") && !a.contains("AddCapability=\n"),
        "{a}"
    );
    // Trailing empty arguments (a variable that expanded to nothing) are dropped.
    assert!(a.contains("Exec=app --flag\n"), "{a}");
    let b = r.unit("e-b.container").unwrap();
    assert!(
        b.contains("DNSSearch=example.com\n") && !b.contains("DNSSearch=.\n"),
        "{b}"
    );
    let warned: Vec<&str> = r.warnings.iter().map(|w| w.field.as_str()).collect();
    for f in [
        "services.a.dns[0]",
        "services.a.dns_opt[0]",
        "services.a.cap_add[0]",
        "services.a.cap_drop[0]",
        "services.a.group_add[0]",
        "services.a.command",
        "services.b.dns_search[0]",
    ] {
        assert!(warned.contains(&f), "no warning for {f}: {warned:?}");
    }

    // An empty argument before others cannot be kept: refused, naming the field.
    let s = stack(
        "e",
        serde_json::json!({
            "name": "e",
            "services": {"a": {"image": "busybox", "command": ["sh", "", "x"], "networks": {"default": null}}},
            "networks": {"default": {"name": "e_default"}}
        }),
    );
    let e = support::render(&s, support::V5_4).unwrap_err();
    assert!(
        e.contains("services.a.command") && e.contains("empty argument"),
        "{e}"
    );
}

/// A log driver Podman does not have (issue 9) is a warning naming the field, with its options
/// (here a multi-line one, as loki's pipeline stages are) dropped, not an error about them.
#[test]
fn a_log_driver_podman_lacks_is_a_warning_and_its_options_are_dropped() {
    let s = stack(
        "l",
        serde_json::json!({
            "name": "l",
            "services": {
                "a": {"image": "busybox", "networks": {"default": null}, "logging": {
                    "driver": "loki",
                    "options": {"loki-url": "http://loki:3100/loki/api/v1/push",
                                "loki-pipeline-stages": "- regex:\n    expression: '(level|lvl)=(?P<level>\\\\w+)'\n- labels:\n    level:\n"}
                }},
                "b": {"image": "busybox", "networks": {"default": null}, "logging": {
                    "driver": "journald", "options": {"tag": "b-app"}
                }}
            },
            "networks": {"default": {"name": "l_default"}}
        }),
    );
    let r = support::render(&s, support::V5_4).unwrap();
    let a = r.unit("l-a.container").unwrap();
    assert!(!a.contains("LogDriver=") && !a.contains("LogOpt="), "{a}");
    assert!(
        r.warnings
            .iter()
            .any(|w| w.field == "services.a.logging.driver" && w.message.contains("loki")),
        "{:?}",
        r.warnings
    );
    let b = r.unit("l-b.container").unwrap();
    assert!(
        b.contains("LogDriver=journald\n") && b.contains("LogOpt=tag=b-app\n"),
        "{b}"
    );
}

/// The PodmanArgs= audit (issue 9): `security_opt` labels, mask/unmask and `userns_mode` use
/// Quadlet's own keys where the target has them, and the same `podman` argument otherwise.
#[test]
fn security_options_and_userns_use_native_keys_where_the_target_has_them() {
    let s = stack(
        "k",
        serde_json::json!({
            "name": "k",
            "services": {"a": {
                "image": "busybox",
                "networks": {"default": null},
                "userns_mode": "keep-id",
                "security_opt": ["label:type:spc_t", "label=level:s0:c1,c2", "label:filetype:usr_t",
                                 "label=nested", "systempaths=unconfined", "mask=/proc/acpi",
                                 "apparmor=unconfined", "label:type:other_t"]
            }},
            "networks": {"default": {"name": "k_default"}}
        }),
    );
    let r = support::render(&s, support::V5_4).unwrap();
    let a = r.unit("k-a.container").unwrap();
    for line in [
        "UserNS=keep-id\n",
        "SecurityLabelType=spc_t\n",
        "SecurityLabelLevel=s0:c1,c2\n",
        "SecurityLabelFileType=usr_t\n",
        "SecurityLabelNested=true\n",
        "Unmask=ALL\n",
        "Mask=/proc/acpi\n",
        // no key of its own; a second type cannot be a second key
        "PodmanArgs=--security-opt=apparmor=unconfined --security-opt=label=type:other_t\n",
    ] {
        assert!(a.contains(line), "{line:?} in\n{a}");
    }
    let r = support::render(
        &s,
        release_tool::translate::PodmanVersion { major: 4, minor: 4 },
    )
    .unwrap();
    let a = r.unit("k-a.container").unwrap();
    assert!(
        !a.contains("UserNS=") && !a.contains("SecurityLabelType="),
        "{a}"
    );
    for arg in [
        "--userns=keep-id",
        "--security-opt=label=type:spc_t",
        "--security-opt=label=nested",
        "--security-opt=unmask=ALL",
    ] {
        assert!(a.contains(arg), "{arg} in\n{a}");
    }
}

/// `type`/`o` without a `device`: Quadlet refuses `Type=`/`Options=` without `Device=`, so they
/// stay `--opt` arguments, as does an option of the driver's own.
#[test]
fn volume_options_without_a_device_stay_arguments() {
    let s = stack(
        "v",
        serde_json::json!({
            "name": "v",
            "services": {"a": {"image": "busybox", "networks": {"default": null}}},
            "networks": {"default": {"name": "v_default"}},
            "volumes": {"data": {"name": "v_data", "driver_opts": {"type": "tmpfs", "o": "size=1m", "size": "2G"}}}
        }),
    );
    let r = support::render(&s, support::V5_4).unwrap();
    let v = r.unit("v-data.volume").unwrap();
    assert!(
        !v.contains("Type=") && !v.contains("Options=") && !v.contains("Device="),
        "{v}"
    );
    for opt in ["--opt=o=size=1m", "--opt=size=2G", "--opt=type=tmpfs"] {
        assert!(v.contains(opt), "{opt} in\n{v}");
    }
}
