//! The escaping table (src/quadlet/keys.rs), the model, the probe list of tests/quadlet_keys.rs
//! and docs/escaping.md agree: a key the model can carry but the table does not list, a key
//! without a probe, or a stale doc fails here.
//!
//! The full units below are struct literals without `..Default::default()` and the body match
//! has no wildcard: a new field or unit kind in the model does not compile until it is added
//! here, and then fails until the table and the probe list have it.

#[path = "quadlet_keys/probes.rs"]
mod probes;

use std::collections::BTreeSet;

use release_tool::quadlet::keys::{markdown_table, KEYS};
use release_tool::quadlet::*;

fn s(v: &str) -> String {
    v.to_string()
}

fn sections() -> (UnitSection, ServiceSection, InstallSection) {
    (
        UnitSection {
            description: Some(s("d")),
            requires: vec![s("a.service")],
            wants: vec![s("a.service")],
            binds_to: vec![s("a.service")],
            part_of: vec![s("a.target")],
            after: vec![s("a.service")],
            start_limit_burst: Some(3),
        },
        ServiceSection {
            service_type: Some(s("oneshot")),
            remain_after_exit: Some(true),
            restart: Some(s("no")),
            restart_sec: Some(s("5")),
            timeout_start_sec: Some(s("90")),
            timeout_stop_sec: Some(s("40")),
            success_exit_status: Some(s("137 143")),
            restart_force_exit_status: Some(s("137 143")),
            exec_start_post: vec![vec![s("/bin/true")]],
        },
        InstallSection {
            wanted_by: vec![s("default.target")],
        },
    )
}

fn full_bodies() -> Vec<Body> {
    let container = ContainerSection {
        image: s("busybox"),
        container_name: Some(s("n")),
        pull: Some(s("never")),
        auto_update: Some(s("registry")),
        entrypoint: Some(s("[\"sh\"]")),
        exec: Some(vec![s("true")]),
        environment: vec![(s("A"), s("1"))],
        environment_file: vec![s("/e.env")],
        label: vec![(s("l"), s("1"))],
        annotation: vec![(s("a"), s("1"))],
        publish_port: vec![s("8080:80")],
        expose_host_port: vec![s("80")],
        network: vec![s("n.network")],
        network_alias: vec![s("x")],
        ip: Some(s("10.0.0.2")),
        ip6: Some(s("fd00::2")),
        host_name: Some(s("h")),
        dns: vec![s("1.1.1.1")],
        dns_search: vec![s("example.com")],
        dns_option: vec![s("ndots:1")],
        add_host: vec![s("h:10.0.0.1")],
        volume: vec![s("/a:/b")],
        mount: vec![s("type=tmpfs,destination=/t")],
        tmpfs: vec![s("/tmp")],
        secret: vec![s("s")],
        user: Some(s("1000")),
        group: Some(s("1000")),
        group_add: vec![s("wheel")],
        working_dir: Some(s("/w")),
        run_init: true,
        read_only: true,
        no_new_privileges: true,
        security_label_disable: true,
        security_label_type: Some(s("spc_t")),
        security_label_level: Some(s("s0:c1,c2")),
        security_label_file_type: Some(s("usr_t")),
        security_label_nested: true,
        mask: Some(s("/proc/x")),
        unmask: Some(s("ALL")),
        user_ns: Some(s("keep-id")),
        seccomp_profile: Some(s("/s.json")),
        add_capability: vec![s("NET_ADMIN")],
        drop_capability: vec![s("ALL")],
        add_device: vec![s("/dev/fuse")],
        sysctl: vec![(s("net.core.somaxconn"), s("1024"))],
        ulimit: vec![s("nofile=1024:2048")],
        shm_size: Some(s("64m")),
        pids_limit: Some(s("100")),
        log_driver: Some(s("journald")),
        log_opt: vec![s("tag=x")],
        stop_signal: Some(s("SIGTERM")),
        stop_timeout: Some(10),
        health_cmd: Some(s("true")),
        health_interval: Some(s("5s")),
        health_timeout: Some(s("5s")),
        health_retries: Some(3),
        health_start_period: Some(s("5s")),
        health_startup_interval: Some(s("5s")),
        notify: Some(s("healthy")),
        podman_args: vec![s("--tty")],
        global_args: vec![s("--log-level=info")],
    };
    let volume = VolumeSection {
        volume_name: Some(s("v")),
        driver: Some(s("local")),
        device: Some(s("/dev/x")),
        fs_type: Some(s("ext4")),
        options: Some(s("rw")),
        label: vec![(s("l"), s("1"))],
        podman_args: vec![s("--opt=o=1")],
    };
    let network = NetworkSection {
        network_name: Some(s("n")),
        driver: Some(s("bridge")),
        internal: true,
        ipv6: true,
        subnet: vec![s("10.1.0.0/24")],
        gateway: vec![s("10.1.0.1")],
        ip_range: vec![s("10.1.0.0/25")],
        ipam_driver: Some(s("host-local")),
        options: vec![(s("mtu"), s("1400"))],
        label: vec![(s("l"), s("1"))],
        podman_args: vec![s("--dns=1.1.1.1")],
    };
    let build = BuildSection {
        image_tag: vec![s("localhost/x:1")],
        set_working_directory: Some(s("/ctx")),
        file: Some(s("/ctx/Containerfile")),
        target: Some(s("t")),
        pull: Some(s("never")),
        network: Some(s("host")),
        label: vec![(s("l"), s("1"))],
        podman_args: vec![s("--no-cache")],
    };
    let image = ImageSection {
        image: s("busybox"),
    };
    let pod = PodSection {
        pod_name: Some(s("p")),
        network: vec![s("n.network")],
        publish_port: vec![s("8080:80")],
    };
    let bodies = vec![
        Body::Container(Box::new(container)),
        Body::Volume(volume),
        Body::Network(network),
        Body::Build(build),
        Body::Image(image),
        Body::Pod(pod),
        Body::Target,
    ];
    // No wildcard: a new unit kind must be added above.
    for b in &bodies {
        match b {
            Body::Container(_)
            | Body::Volume(_)
            | Body::Network(_)
            | Body::Build(_)
            | Body::Image(_)
            | Body::Pod(_)
            | Body::Target => {}
        }
    }
    bodies
}

/// `(section, key)` of every line the writer emits for a fully populated model.
fn emitted() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (i, body) in full_bodies().into_iter().enumerate() {
        let (unit, service, install) = sections();
        let u = UnitFile {
            file_name: format!("u{i}.x"),
            unit,
            body,
            service,
            install,
        };
        let text = write_unit(&u).unwrap_or_else(|e| panic!("{e}"));
        let mut section = String::new();
        for line in text.lines() {
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = name.to_string();
            } else if let Some((k, _)) = line.split_once('=') {
                if !line.starts_with('#') {
                    out.insert((section.clone(), k.to_string()));
                }
            }
        }
    }
    out
}

#[test]
fn the_table_lists_every_key_the_model_can_emit_and_nothing_else() {
    let table: BTreeSet<(String, String)> = KEYS
        .iter()
        .map(|k| (k.section.to_string(), k.key.to_string()))
        .collect();
    assert_eq!(table.len(), KEYS.len(), "a key is listed twice");
    let emitted = emitted();
    let unlisted: Vec<_> = emitted.difference(&table).collect();
    let stale: Vec<_> = table.difference(&emitted).collect();
    assert!(
        unlisted.is_empty(),
        "emitted but not in the table: {unlisted:?}"
    );
    assert!(
        stale.is_empty(),
        "in the table but never emitted: {stale:?}"
    );
}

#[test]
fn every_key_has_exactly_one_probe() {
    let probes: Vec<(String, String)> = probes::probes()
        .iter()
        .map(|p| (p.section.to_string(), p.key.to_string()))
        .collect();
    let set: BTreeSet<_> = probes.iter().cloned().collect();
    assert_eq!(set.len(), probes.len(), "a key is probed twice");
    for k in KEYS {
        assert!(
            set.contains(&(k.section.to_string(), k.key.to_string())),
            "{}/{} has no probe in tests/quadlet_keys/probes.rs",
            k.section,
            k.key
        );
    }
    assert_eq!(set.len(), KEYS.len(), "a probe for a key not in the table");
}

#[test]
fn docs_carry_the_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/escaping.md");
    let doc = std::fs::read_to_string(path).expect("docs/escaping.md");
    let table = markdown_table();
    assert!(
        doc.contains(&table),
        "docs/escaping.md does not carry the current table; replace it with:\n{table}"
    );
}
