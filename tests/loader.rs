//! The loader's behaviour on whole stacks, and every failure mode with its message.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use release_tool::compose::{
    discover_stacks, load_stack, LoadError, LoadOptions, LoadedStack, StackRef,
};

fn stack(files: &[(&str, &str)]) -> (tempfile::TempDir, StackRef) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("services/app");
    for (name, text) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    let s = StackRef {
        name: "app".into(),
        dir,
    };
    (tmp, s)
}

fn opts(globals: &[(&str, &str)]) -> LoadOptions {
    LoadOptions {
        global_vars: globals
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<IndexMap<_, _>>(),
        home: Some(PathBuf::from("/home/u")),
        display_dir: None,
        strict: false,
    }
}

fn load(files: &[(&str, &str)]) -> (tempfile::TempDir, Result<LoadedStack, LoadError>) {
    let (tmp, s) = stack(files);
    let r = load_stack(&s, &opts(&[]));
    (tmp, r)
}

fn error_of(files: &[(&str, &str)]) -> String {
    let (_tmp, r) = load(files);
    r.expect_err("must fail").to_string()
}

#[test]
fn yaml_syntax_error_names_file_line_column() {
    // The unclosed `[` is pointed at where its `]` is missing: the end of line 3.
    let e = error_of(&[("compose.yaml", "services:\n  web:\n    image: [x\n")]);
    assert!(
        e.contains("compose.yaml:3:14: error: YAML syntax error") && e.contains("missing ']'"),
        "{e}"
    );
    let e = error_of(&[(
        "compose.yaml",
        "services:\n  web:\n    image: x\n   bad: y\n",
    )]);
    assert!(
        e.contains("compose.yaml:4:") && e.contains("YAML syntax error"),
        "{e}"
    );
}

#[test]
fn schema_error_names_the_field_path() {
    let e = error_of(&[(
        "compose.yaml",
        "services:\n  web:\n    image: x\n    ports:\n      - \"80:80\"\n      - {target: [1]}\n",
    )]);
    assert!(e.contains("compose.yaml:6:"), "{e}");
    assert!(
        e.contains("services.web.ports[1].target: must be an integer"),
        "{e}"
    );
    let e = error_of(&[(
        "compose.yaml",
        "services:\n  web:\n    image: x\n    privileged: maybe\n",
    )]);
    assert!(
        e.contains("compose.yaml:4:17: error: services.web.privileged: must be a boolean"),
        "{e}"
    );
    // A device request that is not a list is refused (as docker compose does), not dropped.
    let e = error_of(&[(
        "compose.yaml",
        "services:\n  web:\n    image: x\n    deploy:\n      resources:\n        reservations:\n          devices: gpu\n",
    )]);
    assert!(
        e.contains("compose.yaml:7:20: error: services.web.deploy.resources.reservations.devices: must be a list"),
        "{e}"
    );
}

#[test]
fn unknown_key_is_a_warning_naming_file_line_field() {
    let (_t, r) = load(&[(
        "compose.yaml",
        "x-top: 1\nservices:\n  web:\n    image: x\n    imagee: y\n    x-mine: 1\n",
    )]);
    let s = r.expect("loads");
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    let w = s.warnings[0].to_string();
    assert!(
        w.contains("compose.yaml:5:5: warning: services.web.imagee: unknown key 'imagee'"),
        "{w}"
    );
    assert!(s.project.extensions.contains_key("x-top"));
}

#[test]
fn missing_required_variable_names_variable_file_line_field() {
    let e = error_of(&[(
        "compose.yaml",
        "services:\n  web:\n    image: ${IMAGE:?set it in values.env}\n",
    )]);
    assert!(
        e.contains("compose.yaml:3:12: error: services.web.image: required variable IMAGE is missing a value: set it in values.env"),
        "{e}"
    );
}

#[test]
fn too_large_file_is_refused() {
    let big = format!(
        "services:\n  web:\n    image: x\n# {}\n",
        "a".repeat(5 * 1024 * 1024)
    );
    let e = error_of(&[("compose.yaml", &big)]);
    assert!(e.contains("file is too large"), "{e}");
}

#[test]
fn alias_bomb_is_refused() {
    let mut s = String::from("x-a0: &a0 [l, l, l, l, l, l, l, l, l, l]\n");
    for i in 1..9 {
        s.push_str(&format!(
            "x-a{i}: &a{i} [{}]\n",
            vec![format!("*a{}", i - 1); 10].join(", ")
        ));
    }
    s.push_str("services:\n  web:\n    image: x\n");
    let e = error_of(&[("compose.yaml", &s)]);
    assert!(e.contains("alias-expansion bomb"), "{e}");
}

#[test]
fn extends_cycle_is_refused() {
    let e = error_of(&[(
        "compose.yaml",
        "services:\n  a:\n    image: x\n    extends: b\n  b:\n    extends:\n      service: a\n",
    )]);
    assert!(e.contains("extends cycle: a -> b -> a"), "{e}");
}

#[test]
fn missing_env_file_is_an_error_unless_optional() {
    let e = error_of(&[(
        "compose.yaml",
        "services:\n  web:\n    image: x\n    env_file: missing.env\n",
    )]);
    assert!(
        e.contains("compose.yaml:4:15: error: services.web.env_file[0]: env file"),
        "{e}"
    );
    assert!(e.contains("missing.env not found"), "{e}");
    let (_t, r) = load(&[("compose.yaml", "services:\n  web:\n    image: x\n    env_file:\n      - path: missing.env\n        required: false\n")]);
    assert!(r.is_ok(), "{r:?}");
}

#[test]
fn invalid_stack_names_are_refused_naming_the_directory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for d in ["good", "Bad Name", "a@b"] {
        let p = tmp.path().join(d);
        std::fs::create_dir_all(&p).expect("mkdir");
        std::fs::write(p.join("compose.yaml"), "services:\n  s:\n    image: x\n").expect("write");
    }
    let e = discover_stacks(tmp.path())
        .expect_err("must fail")
        .to_string();
    assert!(e.contains("Bad Name") && e.contains("a@b"), "{e}");
    assert!(e.contains("invalid stack name"), "{e}");
    let r = load_stack(
        &StackRef {
            name: "..".into(),
            dir: tmp.path().join("good"),
        },
        &opts(&[]),
    );
    assert!(r
        .expect_err("must fail")
        .to_string()
        .contains("invalid stack name \"..\""));
}

#[test]
fn precedence_dotenv_over_globals_environment_over_env_file_over_globals() {
    let (_t, s) = stack(&[
        ("compose.yaml", "services:\n  web:\n    image: ${IMG}:${TAG}\n    env_file: e.env\n    environment:\n      A: from-environment\n"),
        (".env", "TAG=from-dotenv\n"),
        ("e.env", "A=from-env-file\nB=from-env-file\n"),
    ]);
    let l = load_stack(
        &s,
        &opts(&[
            ("IMG", "reg/img"),
            ("TAG", "global"),
            ("B", "global"),
            ("C", "global"),
        ]),
    )
    .expect("loads");
    let web = &l.project.services["web"];
    assert_eq!(web.image.as_deref(), Some("reg/img:from-dotenv"));
    assert_eq!(web.environment["A"].as_deref(), Some("from-environment"));
    assert_eq!(web.environment["B"].as_deref(), Some("from-env-file"));
    assert_eq!(web.environment["C"].as_deref(), Some("global"));
    assert!(
        l.inputs.iter().any(|p| p.ends_with("e.env"))
            && l.inputs.iter().any(|p| p.ends_with(".env"))
    );
}

#[test]
fn compose_file_profiles_and_project_name_from_dotenv() {
    let (_t, s) = stack(&[
        ("base.yaml", "name: fromfile\nservices:\n  web:\n    image: x\n    depends_on:\n      dbg: {condition: service_started, required: false}\n  dbg:\n    image: y\n    profiles: [debug]\n  extra:\n    image: z\n    profiles: [extra]\n"),
        ("more.yaml", "services:\n  web:\n    ports: ['80:80']\n"),
        (".env", "COMPOSE_FILE=base.yaml:more.yaml\nCOMPOSE_PROFILES=extra\nCOMPOSE_PROJECT_NAME=renamed\n"),
    ]);
    let l = load_stack(&s, &opts(&[])).expect("loads");
    assert_eq!(l.project.name, "renamed");
    assert_eq!(l.name, "app");
    let names: Vec<&String> = l.project.services.keys().collect();
    assert_eq!(names, ["web", "extra"]);
    assert!(l.project.services["web"].depends_on.is_empty());
    assert_eq!(l.project.services["web"].ports.len(), 1);
    assert_eq!(
        l.project.networks["default"].name.as_deref(),
        Some("renamed_default")
    );
}

#[test]
fn extends_from_another_file_rebases_paths_and_source_map_names_lines() {
    let (_t, s) = stack(&[
        ("compose.yaml", "services:\n  web:\n    extends:\n      file: common/base.yaml\n      service: base\n    environment:\n      B: '2'\n"),
        ("common/base.yaml", "services:\n  base:\n    image: x\n    volumes: ['./data:/data']\n    environment:\n      A: '1'\n"),
    ]);
    let l = load_stack(&s, &opts(&[])).expect("loads");
    let web = &l.project.services["web"];
    let src = web.volumes[0].source.clone().unwrap_or_default();
    assert!(src.ends_with("services/app/common/data"), "{src}");
    assert_eq!(web.environment.len(), 2);
    let span = l.sources.span("services.web.environment.B");
    assert_eq!((span.line, span.file.ends_with("compose.yaml")), (7, true));
    assert!(l.inputs.iter().any(|p| p.ends_with("common/base.yaml")));
}

#[test]
fn display_dir_and_home_replace_the_real_directories() {
    let (_t, s) = stack(&[(
        "compose.yaml",
        "services:\n  web:\n    image: x\n    volumes: ['./conf:/c', '~/x:/x']\n",
    )]);
    let mut o = opts(&[]);
    o.display_dir = Some(Path::new("/srv/current/app").to_path_buf());
    let l = load_stack(&s, &o).expect("loads");
    let v = &l.project.services["web"].volumes;
    assert_eq!(v[0].source.as_deref(), Some("/srv/current/app/conf"));
    assert_eq!(v[1].source.as_deref(), Some("/home/u/x"));
}

#[test]
fn config_command_fails_for_a_bad_stack_printing_nothing_and_prints_the_good_one_alone() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let svc = tmp.path().join("services");
    for (d, text) in [
        (
            "good",
            "services:\n  s:\n    image: x\n    command: echo $$HOME\n",
        ),
        ("bad", "services:\n  s:\n    image: ${NOPE:?needed}\n"),
    ] {
        std::fs::create_dir_all(svc.join(d)).expect("mkdir");
        std::fs::write(svc.join(d).join("compose.yaml"), text).expect("write");
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_release-tool"))
        .args(["config", "--services-dir"])
        .arg(&svc)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3));
    // Nothing on stdout: a script must not take a partial model for the whole.
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("required variable NOPE is missing a value: needed"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_release-tool"))
        .args(["config", "--stack", "good", "--services-dir"])
        .arg(&svc)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        v["services"]["s"]["command"],
        serde_json::json!(["echo", "$$HOME"])
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_release-tool"))
        .args([
            "config",
            "--stack",
            "good",
            "--format",
            "yaml",
            "--services-dir",
        ])
        .arg(&svc)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("name: good\n"));
}

#[test]
fn yaml_1_1_forms_and_single_ulimits_load_as_docker_compose_types_them() {
    let (_t, r) = load(&[(
        "compose.yaml",
        "services:\n  web:\n    image: x\n    privileged: yes\n    environment: {C: yes, D: 0400, F: 1.50}\n    secrets: [{source: s, mode: 0o440}]\n    ulimits: {nproc: 3, nofile: {soft: 1, hard: 2}}\nsecrets:\n  s: {file: ./s.txt}\n",
    ), ("s.txt", "x")]);
    let l = r.expect("loads");
    let web = &l.project.services["web"];
    assert_eq!(web.privileged, Some(true));
    let w: Vec<String> = l.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        w.iter().any(|w| w
            .contains("services.web.privileged: \"yes\" for boolean is not supported by YAML 1.2")),
        "{w:?}"
    );
    assert_eq!(web.environment["C"].as_deref(), Some("yes"));
    assert_eq!(web.environment["D"].as_deref(), Some("256"));
    assert_eq!(web.environment["F"].as_deref(), Some("1.5"));
    assert_eq!(web.secrets[0].mode, Some(288));
    assert_eq!(web.ulimits["nproc"].single, Some(3));
    assert_eq!(web.ulimits["nofile"].hard, Some(2));
}

/// A typo'd key (issue 8): its warning names the key it resembles and stays when the same
/// stack also fails because of it.
#[test]
fn a_mistyped_key_is_named_with_the_key_it_resembles_even_when_the_stack_fails() {
    let (_t, r) = load(&[("compose.yaml", "services:\n  web:\n    imagee: busybox\n")]);
    let e = r.expect_err("no image").to_string();
    assert!(
        e.contains("services.web.imagee") && e.contains("did you mean 'image'?"),
        "{e}"
    );
    assert!(e.contains("neither an image nor a build context"), "{e}");
    // Far from every known key: no guess.
    let (_t, r) = load(&[(
        "compose.yaml",
        "services:\n  web:\n    image: x\n    zzzzzz: 1\n",
    )]);
    let l = r.expect("loads");
    let w: Vec<String> = l.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        w.iter()
            .any(|w| w.contains("unknown key 'zzzzzz'") && !w.contains("did you mean")),
        "{w:?}"
    );
}

/// A flow collection left open (issue 8): the error points at the end of the line that opened
/// it and names the missing bracket, not the next key the parser tripped on.
#[test]
fn an_unclosed_bracket_is_reported_where_it_is_missing() {
    for (text, open, close) in [
        (
            "services:\n  x:\n    image: busybox\n    ports: [\"80:80\"\n    labels: {a: b}\n",
            '[',
            ']',
        ),
        (
            "services:\n  x:\n    image: busybox\n    labels: {a: b\n    ports: [\"80:80\"]\n",
            '{',
            '}',
        ),
    ] {
        let (_t, r) = load(&[("compose.yaml", text)]);
        let e = r.expect_err("bad yaml").to_string();
        assert!(e.contains("compose.yaml:4:"), "{e}");
        assert!(
            e.contains(&format!("'{open}' opened at 4:"))
                && e.contains(&format!("missing '{close}' at the end of line 4")),
            "{e}"
        );
    }
}

/// `COMPOSE_PROJECT_NAME` in interpolation when the name is given (`-p`) and when only an
/// included file uses it: the files are loaded again with it set (issue 9).
#[test]
fn the_project_name_reaches_interpolation_when_given_and_from_included_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("stack");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("compose.yaml"),
        "include: [inc.yaml]\nservices:\n  a:\n    image: \"x:${COMPOSE_PROJECT_NAME:-unset}\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("inc.yaml"),
        "services:\n  b:\n    image: \"y:${COMPOSE_PROJECT_NAME?}\"\n",
    )
    .unwrap();
    let load = |name: Option<&str>| {
        release_tool::compose::load_files(&dir, &["compose.yaml".into()], name, &Default::default())
            .unwrap()
    };
    let l = load(Some("given"));
    assert_eq!(l.project.services["a"].image.as_deref(), Some("x:given"));
    assert_eq!(l.project.services["b"].image.as_deref(), Some("y:given"));
    // Only the included file names it: still the project's name there.
    std::fs::write(dir.join("compose.yaml"), "include: [inc.yaml]\n").unwrap();
    let l = load(None);
    assert_eq!(l.project.services["b"].image.as_deref(), Some("y:stack"));
}

/// Each file is checked on its own before merging, as docker compose checks it: a bad value in
/// the base file is refused even when the override replaces it, naming the base file's line.
#[test]
fn each_file_is_checked_before_merging() {
    let e = error_of(&[
        (
            "compose.yaml",
            "services:\n  web:\n    image: x\n    user: 1000\n",
        ),
        (
            "compose.override.yaml",
            "services:\n  web:\n    user: \"1000\"\n",
        ),
    ]);
    assert!(
        e.contains(
            "/compose.yaml:4:11: error: services.web.user: must be a string, found an integer"
        ),
        "{e}"
    );
    // A cast compose makes while interpolating the base file.
    let e = error_of(&[
        (
            "compose.yaml",
            "services:\n  web:\n    image: x\n    tty: sometimes\n",
        ),
        (
            "compose.override.yaml",
            "services:\n  web:\n    tty: true\n",
        ),
    ]);
    assert!(
        e.contains("/compose.yaml:4:10: error: services.web.tty: must be a boolean"),
        "{e}"
    );
    // Removing the value with !reset comes after the base file was checked.
    let e = error_of(&[
        (
            "compose.yaml",
            "services:\n  web:\n    image: x\n    ports: 80\n",
        ),
        (
            "compose.override.yaml",
            "services:\n  web:\n    ports: !reset []\n",
        ),
    ]);
    assert!(e.contains("services.web.ports: must be a list"), "{e}");
    // The override's own errors name the override.
    let e = error_of(&[
        ("compose.yaml", "services:\n  web:\n    image: x\n"),
        (
            "compose.override.yaml",
            "services:\n  web:\n    environment: 5\n",
        ),
    ]);
    assert!(
        e.contains("/compose.override.yaml:3:18: error: services.web.environment: must be a mapping or a list, found an integer"),
        "{e}"
    );
}

/// An extended file counts through the services built on it: its bad value is an error only where
/// it ends up in an extending service (docker compose validates the merged service).
#[test]
fn an_extended_file_is_checked_through_the_services_built_on_it() {
    let base =
        "services:\n  app:\n    image: x\n    user: 33\n  unused:\n    image: y\n    user: 5\n";
    let (_t, r) = load(&[
        (
            "compose.yaml",
            "services:\n  web:\n    extends: {file: base.yaml, service: app}\n    user: \"33\"\n",
        ),
        ("base.yaml", base),
    ]);
    r.expect("the bad values are replaced or unused");
    let e = error_of(&[
        (
            "compose.yaml",
            "services:\n  web:\n    extends: {file: base.yaml, service: app}\n",
        ),
        ("base.yaml", base),
    ]);
    assert!(
        e.contains("/base.yaml:4:11: error: services.app.user: must be a string, found an integer"),
        "{e}"
    );
    // An included file is a project of its own: checked whole.
    let e = error_of(&[
        (
            "compose.yaml",
            "include: [inc.yaml]\nservices:\n  web:\n    image: x\n",
        ),
        ("inc.yaml", base),
    ]);
    assert!(
        e.contains("/inc.yaml:4:11: error: services.app.user"),
        "{e}"
    );
}

/// Shapes docker compose prints: `external`, `internal` and `attachable` only when true (Go's
/// `omitempty`); an absolute path (build context, secret file) as written, a relative one joined
/// and cleaned.
#[test]
fn printed_like_docker_compose_omitted_false_and_absolute_paths_as_written() {
    let (_t, s) = stack(&[
        (
            "compose.yaml",
            concat!(
                "services:\n  a:\n    image: x\n    networks: [n]\n    secrets: [s]\n",
                "    build: /abs//ctx/../c/\n  b:\n    build: ./x/../y/\n",
                "networks:\n  n: {external: false, internal: false, attachable: false, enable_ipv6: false}\n",
                "secrets:\n  s: {file: /etc//hostname}\n"
            ),
        ),
    ]);
    let (_, json) = release_tool::compose::load_stack_json(&s, &opts(&[])).expect("loads");
    let n = &json["networks"]["n"];
    for k in ["external", "internal", "attachable"] {
        assert!(n.get(k).is_none(), "{k}: {n}");
    }
    assert_eq!(n["enable_ipv6"], serde_json::json!(false));
    assert_eq!(json["services"]["a"]["build"]["context"], "/abs//ctx/../c/");
    assert_eq!(
        json["services"]["b"]["build"]["context"],
        s.dir.join("y").display().to_string()
    );
    assert_eq!(json["secrets"]["s"]["file"], "/etc//hostname");
}

/// An unknown option of a short volume is ignored, as docker compose ignores it, with a warning
/// naming file, line and field (a typo such as `:roz` would otherwise mount read-write silently).
#[test]
fn unknown_short_volume_option_is_a_warning() {
    let (_t, r) = load(&[(
        "compose.yaml",
        "services:\n  web:\n    image: x\n    volumes: [\"data:/d:roz\"]\nvolumes:\n  data: {}\n",
    )]);
    let s = r.expect("loads, as docker compose loads it");
    let w: Vec<String> = s.warnings.iter().map(ToString::to_string).collect();
    assert!(
        w.iter().any(|w| w.contains(
            "compose.yaml:4:15: warning: services.web.volumes[0]: unknown volume option 'roz'"
        )),
        "{w:?}"
    );
    let v = &s.project.services["web"].volumes[0];
    assert_eq!((v.target.as_str(), v.read_only), ("/d", None), "{v:?}");
}

/// `deploy:` and `develop:` written empty are accepted (the schema allows null) and print nothing,
/// as in docker compose.
#[test]
fn empty_deploy_and_develop_are_no_value() {
    let (_t, s) = stack(&[(
        "compose.yaml",
        "services:\n  web:\n    image: x\n    deploy:\n    develop:\n",
    )]);
    let (_, json) = release_tool::compose::load_stack_json(&s, &opts(&[])).expect("loads");
    let web = &json["services"]["web"];
    assert!(
        web.get("deploy").is_none() && web.get("develop").is_none(),
        "{web}"
    );
}
