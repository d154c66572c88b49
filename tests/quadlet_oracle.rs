//! The real oracle: units generated from `examples/`, the golden fixtures and every compose file
//! of the shared corpus are accepted by the real quadlet (`-dryrun -user` exits 0 and says
//! nothing about our files), and for a sample the `podman run` command line is asserted
//! argument by argument.

#[path = "golden/support.rs"]
mod support;

use std::path::{Path, PathBuf};

use release_tool::translate::PodmanVersion;
use support::V5_4;

const V4_4: PodmanVersion = PodmanVersion { major: 4, minor: 4 };

fn stacks_of(services: &Path) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(services)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

/// Renders one loaded stack at `version` into a fresh dir and runs quadlet over it.
fn check(
    quadlet: &Path,
    stack: &release_tool::compose::LoadedStack,
    version: PodmanVersion,
) -> Result<support::DryRun, String> {
    let r = support::render(stack, version)?;
    let dir = tempfile::tempdir().unwrap();
    support::write_units(dir.path(), &r);
    let d = support::quadlet_dryrun(quadlet, dir.path());
    let complaints = support::quadlet_complaints(&d);
    if !d.ok || !complaints.is_empty() {
        return Err(format!(
            "quadlet rejected the units (ok={}):\n{}",
            d.ok,
            complaints.join("\n")
        ));
    }
    // A flag given an empty value (`--platform=`) means an empty Compose field leaked through.
    for (name, unit) in support::services(&d.stdout) {
        if let Some(line) = support::key_value(&unit, "ExecStart") {
            let argv = support::systemd_exec_argv(&line);
            if let Some(a) = argv.iter().find(|a| {
                a.starts_with("--") && a.ends_with('=') && !a[2..a.len() - 1].contains('=')
            }) {
                return Err(format!("{name}: empty flag {a} in {argv:?}"));
            }
        }
    }
    Ok(d)
}

#[test]
fn examples_and_fixtures_pass_real_quadlet() {
    let Some(q) = support::quadlet("examples_and_fixtures_pass_real_quadlet") else {
        return;
    };
    let root = support::manifest_dir();
    let mut sets = vec![(
        root.join("examples/services"),
        root.join("examples/values.env"),
    )];
    for case in ["mapping", "hostile"] {
        let c = root.join("tests/golden").join(case);
        if c.exists() {
            sets.push((c.join("input"), c.join("values.env")));
        }
    }
    let mut checked = 0;
    for (services, values) in sets {
        let vars = support::global_vars(&values);
        for dir in stacks_of(&services) {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            let stack = support::load(&name, &dir, &[], &vars).unwrap();
            for v in [V5_4, V4_4] {
                match support::render(&stack, v) {
                    Ok(_) => {
                        check(&q, &stack, v).unwrap_or_else(|e| panic!("{name} at {v:?}: {e}"));
                        checked += 1;
                    }
                    // Refusals are pinned by the golden `.errors` files; an old target may refuse
                    // a unit kind it lacks (.build needs 5.0).
                    Err(e) => assert!(
                        name == "refused" || (v == V4_4 && e.contains("needs Podman")),
                        "{name} at {v:?}: {e}"
                    ),
                }
            }
        }
    }
    assert!(checked >= 7, "only {checked} stacks checked");
}

#[test]
fn examples_podman_run_argv() {
    let Some(q) = support::quadlet("examples_podman_run_argv") else {
        return;
    };
    let root = support::manifest_dir();
    let vars = support::global_vars(&root.join("examples/values.env"));
    let dir = root.join("examples/services/web");
    let stack = support::load("web", &dir, &[], &vars).unwrap();
    let d = check(&q, &stack, V5_4).unwrap();
    let argv = support::run_argv(&d.stdout, "web-frontend.service");
    let index = format!("{}/conf/index.html:/www/index.html:ro", dir.display());
    let expected: Vec<&str> = vec![
        "/usr/bin/podman",
        "run",
        "--name",
        "web-frontend-1",
        "--cidfile=<%t>/<%N>.cid",
        "--replace",
        "--rm",
        "--cgroups=split",
        "--stop-timeout",
        "2",
        "--network",
        "web_default:alias=frontend",
        "--sdnotify=conmon",
        "-d",
        "-v",
        &index,
        "--publish",
        "127.0.0.1:18080:8080",
        "--env",
        "FRONTEND_BANNER=${not interpolated}",
        "--env",
        "GREETING=hello from release-tool",
        "--env",
        "REGISTRY=127.0.0.1:5000",
        "--env",
        "TZ=UTC",
        "--label",
        "org.example.role=frontend",
        "--label",
        "org.example.tier=edge",
        "127.0.0.1:5000/lab/busybox:1",
        "httpd",
        "-f",
        "-p",
        "8080",
        "-h",
        "/www",
    ];
    assert_eq!(argv, expected);

    let api = support::run_argv(&d.stdout, "web-api.service");
    let pos = |a: &str| {
        api.iter()
            .position(|x| x == a)
            .unwrap_or_else(|| panic!("{a} not in {api:?}"))
    };
    assert_eq!(
        api[pos("--health-cmd") + 1],
        r#"["wget","-q","-O","/dev/null","http://127.0.0.1:8080/"]"#
    );
    assert_eq!(api[pos("--sdnotify=healthy")], "--sdnotify=healthy");
    assert_eq!(api[pos("--health-retries") + 1], "5");

    // Podman 4.4 target: no Notify=healthy, the start waits through ExecStartPost= instead.
    let d = check(&q, &stack, V4_4).unwrap();
    let units = support::services(&d.stdout);
    let api_unit = &units["web-api.service"];
    let post = support::key_value(api_unit, "ExecStartPost").expect("ExecStartPost=");
    let post = support::systemd_exec_argv(&post);
    assert_eq!(post[..2], ["/bin/sh", "-c"]);
    assert!(
        post[2].starts_with("end=$(( $(date +%s) + ")
            && post[2].contains("/usr/bin/podman healthcheck run web-api-1 "),
        "{}",
        post[2]
    );
    // What systemd hands to the shell parses as a script.
    let syntax = std::process::Command::new("/bin/sh")
        .args(["-n", "-c", &post[2]])
        .status()
        .unwrap();
    assert!(syntax.success(), "{}", post[2]);
    assert!(!api_unit.contains("sdnotify=healthy"));
}

struct CorpusOutcome {
    path: String,
    result: Result<usize, String>,
}

/// Compose files of the corpus that do not translate, with the exact reason. Anything else must
/// load, translate and pass quadlet.
/// All but five fail in docker compose's own loader (the reference): missing variables or env
/// files the upstream repo expects the user to create, and fragments meant to be combined with
/// another file through several `-f`. The five (loki's and dependency-track's replicas,
/// hoppscotch's profiles-only services) load in docker compose and are refused in translation,
/// naming the field. None fails in quadlet.
const CORPUS_EXPECTED_FAILURES: &[(&str, &str)] = &[
    (
        "paperless-ngx/paperless-ngx/docker/compose/docker-compose.portainer.yml",
        "stack.env not found",
    ),
    (
        "deviantony/docker-elk/extensions/fleet/agent-apmserver-compose.yml",
        "depends on undefined service \"fleet-server\"",
    ),
    (
        "penpot/penpot/docker/devenv/docker-compose.main.yml",
        "empty section between colons",
    ),
    (
        "frappe/frappe_docker/overrides/compose.mariadb-secrets.yaml",
        "required variable DB_PASSWORD_SECRETS_FILE is missing a value",
    ),
    (
        "frappe/frappe_docker/overrides/compose.traefik-ssl.yaml",
        "has neither an image nor a build context specified",
    ),
    (
        "frappe/frappe_docker/overrides/compose.multi-bench.yaml",
        "has neither an image nor a build context specified",
    ),
    (
        "immich-app/immich/docker/docker-compose.yml",
        "empty section between colons",
    ),
    (
        "immich-app/immich/docker/hwaccel.ml.yml",
        "has neither an image nor a build context specified",
    ),
    (
        "immich-app/immich/docker/hwaccel.transcoding.yml",
        "has neither an image nor a build context specified",
    ),
    (
        "mastodon/mastodon/docker-compose.yml",
        ".env.production not found",
    ),
    (
        "goauthentik/authentik/docker-compose.yml",
        "authentik/.env not found",
    ),
    // tests/conformance/corpus: the same kinds (docker compose refuses them too), and three that
    // load but do not translate, each refused naming the field.
    (
        "zulip/docker-zulip/compose.yaml",
        "refers to undefined secret zulip__email_password",
    ),
    (
        "zulip/docker-zulip/ci/basic/compose.yaml",
        "refers to undefined secret zulip__email_password",
    ),
    (
        "zulip/docker-zulip/ci/certbot/compose.yaml",
        "refers to undefined secret zulip__email_password",
    ),
    (
        "zulip/docker-zulip/ci/settings/compose.yaml",
        "refers to undefined secret zulip__email_password",
    ),
    (
        "healthchecks/healthchecks/docker/docker-compose.yml",
        "healthchecks__healthchecks/docker/.env not found",
    ),
    (
        "getredash/redash/compose.yaml",
        "getredash__redash/.env not found",
    ),
    (
        "sissbruecker/linkding/docker-compose.yml",
        "sissbruecker__linkding/.env not found",
    ),
    (
        "NginxProxyManager/nginx-proxy-manager/docker/docker-compose.ci.postgres.yml",
        "refers to undefined network fulltest",
    ),
    (
        "open-telemetry/opentelemetry-demo/compose.extras.yaml",
        "empty compose file",
    ),
    (
        "grafana/loki/production/docker/docker-compose.yaml",
        "services.loki-monolithic.deploy.replicas: 3 replicas: one unit runs one container",
    ),
    (
        "hoppscotch/hoppscotch/docker-compose.yml",
        "services: the stack defines no service",
    ),
    (
        "hoppscotch/hoppscotch/docker-compose.deploy.yml",
        "services: the stack defines no service",
    ),
    // The second round (SOURCES.md, from LemmyNet/lemmy on): docker compose refuses these too
    // (a service both defined and included, coolify's templates leave their named volumes to
    // coolify, an `environment:` with only a comment under it), and one refused in translation.
    (
        "wger-project/docker/docker-compose.yml",
        "services.db: conflicts with the services of the same name included",
    ),
    (
        "wger-project/docker/dev/docker-compose.yml",
        "services.db: conflicts with the services of the same name included",
    ),
    (
        "wger-project/docker/dev-postgres/docker-compose.yml",
        "services.db: conflicts with the services of the same name included",
    ),
    (
        "DependencyTrack/dependency-track/dev/compose.yaml",
        "services.apiserver.deploy.replicas: 3 replicas: one unit runs one container",
    ),
    (
        "DependencyTrack/dependency-track/dev/monitoring/compose.yaml",
        "services.apiserver.deploy.replicas: 3 replicas: one unit runs one container",
    ),
    (
        "coollabsio/coolify/templates/compose/palworld.yaml",
        "required variable",
    ),
    (
        "coollabsio/coolify/templates/compose/kuzzle.yaml",
        "refers to undefined volume elastic-redis-data",
    ),
    (
        "coollabsio/coolify/templates/compose/convex.yaml",
        "refers to undefined volume data",
    ),
    (
        "coollabsio/coolify/templates/compose/tailscale-client.yaml",
        "refers to undefined volume tailscale-client",
    ),
    (
        "coollabsio/coolify/templates/compose/ente-photos.yaml",
        "refers to undefined volume postgres-data",
    ),
    (
        "nginx-proxy/nginx-proxy/docker-compose-separate-containers.yml",
        "services.dockergen.environment: must be a mapping or a list, found null",
    ),
];

/// Project directory, `-f` files, variables.
type Attempt = (PathBuf, Vec<PathBuf>, Vec<(String, String)>);

/// Example variable files upstream repos ship for the user to copy.
const EXAMPLE_ENV: &[&str] = &[
    "env.example",
    ".env.example",
    "example.env",
    "defaults.env",
    ".env.sample",
];
const BASE_FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

/// Loads one corpus file as a user would: alone; else with the repo's example variables; else
/// as an override of the base compose file it extends (a fragment such as an `extensions/` or
/// `overrides/` file); in each case giving placeholder values to variables docker compose says
/// are required. Returns docker compose's last error when none works.
fn load_corpus_file(
    name: &str,
    repo: &Path,
    file: &Path,
) -> Result<release_tool::compose::LoadedStack, String> {
    let mut example_vars = Vec::new();
    let mut bases = Vec::new();
    let mut d = file.parent();
    while let Some(dir) = d {
        for e in EXAMPLE_ENV {
            example_vars.extend(support::read_vars(&dir.join(e)));
        }
        for b in BASE_FILES {
            let p = dir.join(b);
            if p.is_file() && p != file && bases.is_empty() {
                bases.push(p);
            }
        }
        if dir == repo {
            break;
        }
        d = dir.parent();
    }
    let dir = file.parent().unwrap().to_path_buf();
    let mut attempts: Vec<Attempt> = vec![
        (dir.clone(), vec![file.to_path_buf()], vec![]),
        (dir.clone(), vec![file.to_path_buf()], example_vars.clone()),
    ];
    for b in &bases {
        attempts.push((
            b.parent().unwrap().to_path_buf(),
            vec![b.clone(), file.to_path_buf()],
            example_vars.clone(),
        ));
    }
    let mut last = String::new();
    for (dir, files, mut vars) in attempts {
        for _ in 0..12 {
            match support::load(name, &dir, &files, &vars) {
                Ok(s) => return Ok(s),
                Err(e) => {
                    let missing = e
                        .split("required variable ")
                        .nth(1)
                        .and_then(|r| r.split_whitespace().next())
                        .map(str::to_string);
                    last = e;
                    match missing {
                        Some(v) if !vars.iter().any(|(k, _)| *k == v) => {
                            vars.push((v, "placeholder".into()))
                        }
                        _ => break,
                    }
                }
            }
        }
    }
    Err(last)
}

fn corpus_root() -> Option<PathBuf> {
    let a = PathBuf::from("/work/shared/corpus/real");
    let b = support::manifest_dir().join("../shared/corpus/real");
    [a, b].into_iter().find(|p| p.join("SOURCES.tsv").is_file())
}

/// Our own corpus (tests/conformance/corpus/SOURCES.md), in the same layout.
fn own_corpus_root() -> PathBuf {
    support::manifest_dir().join("tests/conformance/corpus")
}

#[test]
fn corpus_passes_real_quadlet() {
    let Some(q) = support::quadlet("corpus_passes_real_quadlet") else {
        return;
    };
    let Some(root) = corpus_root() else {
        if support::lab_required() {
            panic!("corpus not found");
        }
        eprintln!("skipped: corpus_passes_real_quadlet: corpus not found");
        return;
    };
    let mut lines = Vec::new();
    for root in [root, own_corpus_root()] {
        let tsv = std::fs::read_to_string(root.join("SOURCES.tsv")).unwrap();
        lines.extend(tsv.lines().skip(1).map(|l| (root.clone(), l.to_string())));
    }
    let mut outcomes = Vec::new();
    let mut warnings = std::collections::BTreeMap::new();
    for (i, (root, line)) in lines.iter().enumerate() {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 4 || !cols[3].starts_with("compose") {
            continue;
        }
        let repo_dir = root.join(cols[0].replace('/', "__"));
        let file = repo_dir.join(cols[2]);
        let rel = format!("{}/{}", cols[0], cols[2]);
        let name = format!("c{i:03}");
        let result = load_corpus_file(&name, &repo_dir, &file)
            .map_err(|e| format!("load: {}", e.lines().last().unwrap_or("")))
            .and_then(|stack| {
                if let Ok(r) = support::render(&stack, V5_4) {
                    for w in &r.warnings {
                        // `services.<name>.rest` → `rest`, so the summary groups by field.
                        let parts: Vec<&str> = w.field.split('.').collect();
                        let field = match parts.first() {
                            Some(&"services") => {
                                parts.iter().skip(2).copied().collect::<Vec<_>>().join(".")
                            }
                            _ => w.field.clone(),
                        };
                        let field = match field.split_once('.') {
                            Some((head @ ("environment" | "depends_on" | "networks"), _)) => {
                                format!("{head}.*")
                            }
                            _ => field,
                        };
                        *warnings
                            .entry(format!("{field}: {}", w.message))
                            .or_insert(0usize) += 1;
                    }
                }
                check(&q, &stack, V5_4)
                    .map(|_| stack.project.services.len())
                    .map_err(|e| format!("translate: {e}"))
            });
        outcomes.push(CorpusOutcome { path: rel, result });
    }
    let mut unexpected = Vec::new();
    let (mut ok, mut services) = (0, 0);
    for o in &outcomes {
        let expected = CORPUS_EXPECTED_FAILURES.iter().find(|(p, _)| *p == o.path);
        match (&o.result, expected) {
            (Ok(n), None) => {
                ok += 1;
                services += n;
            }
            (Ok(_), Some(_)) => unexpected.push(format!(
                "{}: now passes; remove it from CORPUS_EXPECTED_FAILURES",
                o.path
            )),
            (Err(e), Some((_, why))) if e.contains(why) => {}
            (Err(e), _) => unexpected.push(format!(
                "(\"{}\", \"{}\"),",
                o.path,
                e.replace('\n', " | ").replace('"', "\\\"")
            )),
        }
    }
    eprintln!("corpus: {} compose files, {ok} translate and pass quadlet ({services} services), {} expected failures", outcomes.len(), outcomes.len() - ok);
    // What the corpus loses, grouped by field and reason: reviewed, not asserted.
    for (w, n) in &warnings {
        eprintln!("  {n:4} x {w}");
    }
    assert!(
        outcomes.len() >= 100,
        "only {} compose files found",
        outcomes.len()
    );
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
}

/// A tool, not a check: `RT_RENDER_SERVICES=dir RT_RENDER_OUT=dir RT_RENDER_VERSION=4.4 cargo
/// test --test quadlet_oracle render_to_dir -- --ignored` renders every stack of a services dir
/// (loaded by docker compose) for manual runs on the lab.
#[test]
#[ignore]
fn render_to_dir() {
    let (Ok(services), Ok(out)) = (
        std::env::var("RT_RENDER_SERVICES"),
        std::env::var("RT_RENDER_OUT"),
    ) else {
        return;
    };
    let v = std::env::var("RT_RENDER_VERSION").unwrap_or_else(|_| "5.4".into());
    let (a, b) = v.split_once('.').unwrap();
    let v = PodmanVersion {
        major: a.parse().unwrap(),
        minor: b.parse().unwrap(),
    };
    let services = PathBuf::from(services);
    let vars = support::global_vars(&services.join("../values.env"));
    std::fs::create_dir_all(&out).unwrap();
    for dir in stacks_of(&services) {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let stack = support::load(&name, &dir, &[], &vars).unwrap();
        let r = support::render(&stack, v).unwrap();
        support::write_units(Path::new(&out), &r);
        for s in &r.secrets {
            println!("secret {} {}", s.name, s.file.display());
        }
    }
}

/// Volume `driver_opts` (issue 9's PodmanArgs= audit): `device`, `type` and `o` go through
/// Quadlet's own `Device=`, `Type=`, `Options=`, so they work when rendering for Podman 4.4
/// (where `PodmanArgs=` in a `.volume` does not exist); Quadlet takes `Type=`/`Options=` only with
/// a device, so without one they and any other option stay `--opt` (4.6+).
#[test]
fn volume_driver_opts_use_quadlets_own_keys() {
    let Some(q) = support::quadlet("volume_driver_opts_use_quadlets_own_keys") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("compose.yaml"),
        "services:\n  app:\n    image: busybox\n    volumes: [nfs:/a, ram:/b]\n\
         volumes:\n  nfs:\n    driver_opts:\n      type: nfs\n      o: \"addr=10.0.0.1,nfsvers=4,rw\"\n      device: \":/export/data\"\n\
         \x20 ram:\n    driver_opts:\n      type: tmpfs\n      device: tmpfs\n      o: \"size=100m,uid=1000\"\n",
    )
    .unwrap();
    let stack = release_tool::compose::load_files(
        &dir,
        &["compose.yaml".into()],
        Some("v"),
        &Default::default(),
    )
    .unwrap();
    let r = support::render(&stack, V4_4).unwrap();
    let nfs = r
        .units
        .iter()
        .find(|u| u.file_name.ends_with("-nfs.volume"))
        .unwrap();
    assert!(
        nfs.contents.contains("Device=:/export/data\n")
            && nfs.contents.contains("Type=nfs\n")
            && nfs
                .contents
                .contains("Options=addr=10.0.0.1,nfsvers=4,rw\n")
            && !nfs.contents.contains("PodmanArgs="),
        "{}",
        nfs.contents
    );
    let d = check(&q, &stack, V4_4).unwrap();
    let services = support::services(&d.stdout);
    let argv = |unit: &str| {
        let (_, text) = services
            .iter()
            .find(|(n, _)| n.ends_with(unit))
            .unwrap_or_else(|| panic!("no {unit} in {:?}", services.keys()));
        support::systemd_exec_argv(&support::key_value(text, "ExecStart").unwrap())
    };
    let nfs = argv("-nfs-volume.service");
    for want in [
        "device=:/export/data",
        "type=nfs",
        "o=addr=10.0.0.1,nfsvers=4,rw",
    ] {
        assert!(
            nfs.windows(2).any(|w| w[0] == "--opt" && w[1] == want),
            "--opt {want} in {nfs:?}"
        );
    }
    let ram = argv("-ram-volume.service");
    assert!(
        ram.windows(2)
            .any(|w| w[0] == "--opt" && w[1] == "o=size=100m,uid=1000"),
        "{ram:?}"
    );
}

/// `links: [db:database]` (docker-mailserver's fetchmail demo links `dms-remote:remote.test`):
/// docker resolves the alias to the linked service; Podman has no per-container alias, so the
/// alias becomes one of the linked service's network aliases on the networks both are on, and
/// the link is reported as such (a link to the service's own name adds nothing).
#[test]
fn link_aliases_become_network_aliases() {
    let Some(q) = support::quadlet("link_aliases_become_network_aliases") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("l");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("compose.yaml"),
        "services:\n  app:\n    image: busybox\n    links: [\"db:database\", cache]\n    networks: [front, back]\n\
         \x20 db:\n    image: busybox\n    networks: [back]\n\
         \x20 cache:\n    image: busybox\n    networks: [back]\n\
         \x20 other:\n    image: busybox\n    links: [\"db:elsewhere\"]\n    networks: [front]\n\
         \x20 odd:\n    image: busybox\n    links: [\"db:x,ip=10.0.0.9\"]\n    networks: [back]\n\
         networks:\n  front: {}\n  back: {}\n",
    )
    .unwrap();
    let stack = release_tool::compose::load_files(
        &dir,
        &["compose.yaml".into()],
        Some("l"),
        &Default::default(),
    )
    .unwrap();
    let r = support::render(&stack, V5_4).unwrap();
    let unit = |n: &str| {
        r.units
            .iter()
            .find(|u| u.file_name == format!("l-{n}.container"))
            .unwrap_or_else(|| panic!("no l-{n}.container"))
            .contents
            .clone()
    };
    // Only on `back`, the network app and db share: `other` (on `front` only) gives no alias.
    assert!(
        unit("db").contains("Network=l-back.network:alias=db,alias=database\n"),
        "{}",
        unit("db")
    );
    assert!(unit("cache").contains("Network=l-back.network:alias=cache\n"));
    let links: Vec<&String> = r
        .warnings
        .iter()
        .filter(|w| w.field.contains(".links["))
        .map(|w| &w.message)
        .collect();
    assert!(
        links
            .iter()
            .any(|m| m.contains("database is made a network alias of db")),
        "{links:?}"
    );
    assert!(
        links
            .iter()
            .any(|m| m.contains("\"db:elsewhere\": db shares no network")),
        "{links:?}"
    );
    // An alias that is not a host name is not made one: it cannot add options to db's
    // `--network`, nor make db's translation fail for another service's link.
    assert!(
        links.iter().any(|m| m.contains("is not a host name")),
        "{links:?}"
    );
    assert!(!unit("db").contains("ip=10.0.0.9"), "{}", unit("db"));
    let d = check(&q, &stack, V5_4).unwrap();
    let services = support::services(&d.stdout);
    let (_, db) = services
        .iter()
        .find(|(n, _)| n.as_str() == "l-db.service")
        .unwrap();
    let argv = support::systemd_exec_argv(&support::key_value(db, "ExecStart").unwrap());
    assert!(
        argv.iter().any(|a| a == "l_back:alias=db,alias=database"),
        "{argv:?}"
    );
}
