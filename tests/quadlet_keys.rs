//! The escaping proof for every key the writer emits (DESIGN invariant 7).
//!
//! For each key of the probe table (tests/quadlet_keys/probes.rs, checked complete against the
//! escaping table by tests/quadlet_keys_table.rs), a baseline unit carries an ordinary value and
//! then each hostile value in its place. Each unit goes through the writer and the real
//! `quadlet -dryrun`; the generated exec line is split the way systemd splits it
//! (tests/quadlet_keys/systemd.rs) and compared argument by argument with the baseline's, the
//! ordinary value replaced by the hostile one. A value the writer refuses must be refused naming
//! the key, and a value the key's class can carry must not be refused. Every generated service
//! must also keep the baseline's sections and keys: nothing injected.

#[path = "quadlet_keys/probes.rs"]
mod probes;
#[path = "golden/support.rs"]
mod support;
#[path = "quadlet_keys/systemd.rs"]
mod systemd;

use std::collections::BTreeMap;
use std::path::Path;

use probes::{base, probes, service_name, Mode, Probe, MARK};
use release_tool::quadlet::keys::{self, Check, Class};
use release_tool::quadlet::{write_unit, UnitFile};

/// Which classes must accept a value.
#[derive(Clone, Copy, PartialEq)]
enum Must {
    /// Every class but unit names (no blank or quote at an edge, no line break, no trailing `\`).
    Inner,
    /// The quoting classes (`Args`, `KeyVal`, `Strv`, exec lines).
    Quoted,
    /// The exec-style classes (`Args`, `KeyVal`, exec lines): C escapes carry line breaks.
    Escaped,
    /// None: refused at least somewhere (compared where accepted).
    Nothing,
}
use Must::*;

const HOSTILE: &[(&str, Must)] = &[
    ("a b", Inner),
    ("x other", Inner),
    ("x --privileged", Inner),
    ("--privileged", Inner),
    ("-x", Inner),
    ("say \"hi\" now", Inner),
    ("it's 'single'", Inner),
    ("back\\slash \\n \\x41 \\t \\\\ \\\" mid", Inner),
    ("%h %n %% % %%%", Inner),
    ("%", Inner),
    ("%%", Inner),
    ("$HOME ${X} $$ $ $1", Inner),
    ("${X}", Inner),
    ("$", Inner),
    ("tab\tin", Inner),
    ("[Service]", Inner),
    ("=", Inner),
    ("a=b=c", Inner),
    ("k,v,w", Inner),
    ("; rm -rf ~", Inner),
    ("#hash", Inner),
    ("'", Inner),
    ("日本語 ✓ ünïcödé", Inner),
    ("a\u{2028}b", Inner),
    ("unit", Inner),
    ("trailing\\", Quoted),
    ("\\", Quoted),
    ("  padded  ", Quoted),
    ("\"", Quoted),
    ("\"edge\"", Quoted),
    ("\u{a0}nbsp\u{a0}", Quoted),
    ("line\nbreak", Escaped),
    ("cr\rx", Escaped),
    ("x\n[Service]\nExecStartPre=/bin/touch /tmp/pwned", Escaped),
    ("\u{85}nel", Escaped),
    ("\u{1}ctrl\u{7f}", Escaped),
    (";", Nothing),
    ("", Nothing),
    ("a\0b", Nothing),
    ("\u{80}", Nothing),
];

/// Whether the writer must accept `h` for a key of `class` with `check` (the probes put `h` where
/// the check's own rule does not apply: `/env/{h}`, `/src/{h}:/dst`).
fn must_accept(class: Class, check: Check, must: Must, h: &str) -> bool {
    let by_check = match check {
        Check::None | Check::Absolute | Check::NoLeadingColon => true,
        Check::Positional | Check::NoLeadingDash => !h.starts_with('-'),
        Check::NotKeyword => !h.starts_with('-') && h != "unit",
        Check::Csv => !h.contains(['"', '\n', '\r']),
        Check::PortRange | Check::Timespan | Check::ExitCodes | Check::OneOf(_) => false,
    };
    by_check
        && match class {
            Class::Args | Class::KeyVal | Class::SystemdExec => must != Nothing,
            Class::Strv => matches!(must, Inner | Quoted),
            Class::Single | Class::Raw | Class::SystemdValue => must == Inner,
            Class::UnitNames | Class::Flag | Class::Number => false,
        }
}

/// A written batch of probe units and what quadlet made of them.
struct Batch {
    services: BTreeMap<String, String>,
    stderr: String,
    /// What `systemd-analyze verify` says about each generated service, with the line it names
    /// (none when it has no complaint, or when systemd-analyze is not installed).
    systemd: BTreeMap<String, Vec<(usize, String)>>,
}

fn run(q: &Path, analyze: Option<&Path>, units: &[(String, String)]) -> Batch {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in units {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let d = support::quadlet_dryrun(q, dir.path());
    let services = support::services(&d.stdout);
    let systemd = analyze
        .map(|a| systemd::verify(a, &services))
        .unwrap_or_default();
    Batch {
        services,
        stderr: d.stderr,
        systemd,
    }
}

/// Sections and keys of a generated service, in order.
fn shape(svc: &str) -> Vec<String> {
    svc.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once('=') {
            Some((k, _)) if !l.starts_with('[') => k.to_string(),
            _ => l.to_string(),
        })
        .collect()
}

fn values(svc: &str, key: &str) -> Vec<String> {
    let prefix = format!("{key}=");
    svc.lines()
        .filter_map(|l| l.strip_prefix(&prefix).map(str::to_string))
        .collect()
}

/// What the probe's line holds: the argv of its exec line (which must be one command), or the
/// systemd values of its key.
fn observed(p: &Probe, svc: &str) -> Result<Vec<String>, String> {
    if p.line.is_empty() {
        return Ok(values(svc, p.key)
            .iter()
            .map(|v| systemd::specifiers(v))
            .collect());
    }
    let line = support::key_value(svc, p.line).ok_or(format!("no {}= line", p.line))?;
    let cmds = systemd::exec_commands(&line);
    if cmds.len() != 1 {
        return Err(format!(
            "systemd reads {} commands in {}={line}",
            cmds.len(),
            p.line
        ));
    }
    Ok(cmds.into_iter().next().unwrap())
}

fn expected(p: &Probe, baseline: &[String], h: &str) -> Vec<String> {
    let h = match p.mode {
        Mode::Lower => h.to_lowercase(),
        _ => h.to_string(),
    };
    baseline.iter().map(|a| a.replace(MARK, &h)).collect()
}

fn same(p: &Probe, want: &[String], got: &[String]) -> bool {
    match p.mode {
        Mode::Csv => {
            want.len() == got.len()
                && want
                    .iter()
                    .zip(got)
                    .all(|(w, g)| w == g || systemd::csv_tokens(w) == systemd::csv_tokens(g))
        }
        _ => want == got,
    }
}

/// systemd's complaints about the lines of a probe's service, but those about the `RequiresMountsFor=` line
/// Quadlet adds for a bind source (systemd splits that list on blanks; documented in
/// docs/escaping.md: only the mount dependency is weaker, the `-v`/`--mount` argument is exact).
fn complaints(p: &Probe, b: &Batch, name: &str, svc: &str) -> Vec<String> {
    let lines: Vec<&str> = svc.lines().collect();
    let key_at = |n: usize| {
        n.checked_sub(1)
            .and_then(|i| lines.get(i))
            .and_then(|l| l.split_once('='))
            .map_or("", |(k, _)| k)
    };
    b.systemd
        .get(name)
        .into_iter()
        .flatten()
        // Loading the units a probe depends on (`Requires=zmarkz.service`) is not our concern.
        .filter(|(_, m)| !(m.contains("Failed to create") && m.ends_with("not found.")))
        .filter(|(n, _)| {
            !(matches!(p.key, "Volume" | "Mount") && key_at(*n) == "RequiresMountsFor")
        })
        .map(|(_, m)| m.clone())
        .collect()
}

fn unit_for(p: &Probe, i: usize, v: &str) -> UnitFile {
    let mut u = base(p.kind, &format!("p{i}"));
    (p.set)(&mut u, v);
    u
}

#[test]
fn every_key_carries_hostile_values_through_real_quadlet() {
    let Some(q) = support::quadlet("every_key_carries_hostile_values_through_real_quadlet") else {
        return;
    };
    // Without systemd-analyze the systemd model alone judges (a lab run requires it).
    let analyze = support::find_binary(
        "every_key_carries_hostile_values_through_real_quadlet (systemd-analyze)",
        "SYSTEMD_ANALYZE",
        &["/usr/bin/systemd-analyze", "/bin/systemd-analyze"],
    );
    let probes = probes();
    let mut failures = Vec::new();

    // Baselines: the ordinary value, and each fixed value, must pass.
    let mut units = Vec::new();
    for (i, p) in probes.iter().enumerate() {
        let v = match p.mode {
            Mode::Fixed(ok) => ok[0].0,
            _ => MARK,
        };
        let u = unit_for(p, i, v);
        let text = write_unit(&u).unwrap_or_else(|e| panic!("{}: baseline refused: {e}", p.key));
        units.push((u.file_name.clone(), text));
    }
    let baseline = run(&q, analyze.as_deref(), &units);
    let mut base_obs = Vec::new();
    for (i, p) in probes.iter().enumerate() {
        let name = service_name(p.kind, &format!("p{i}"));
        let svc = baseline
            .services
            .get(&name)
            .unwrap_or_else(|| panic!("{}: no baseline {name}:\n{}", p.key, baseline.stderr));
        let obs = observed(p, svc).unwrap_or_else(|e| panic!("{}: {e}", p.key));
        let c = complaints(p, &baseline, &name, svc);
        assert!(
            c.is_empty(),
            "{}/{}: systemd complains about the baseline: {c:?}",
            p.section,
            p.key
        );
        assert!(
            matches!(p.mode, Mode::Fixed(_)) || obs.iter().any(|a| a.contains(MARK)),
            "{}/{}: the baseline value does not reach {:?}: {obs:?}",
            p.section,
            p.key,
            p.line
        );
        base_obs.push((svc.clone(), obs));
    }

    // Fixed values: each accepted value produces its words.
    let mut units = Vec::new();
    let mut fixed = Vec::new();
    for (i, p) in probes.iter().enumerate() {
        if let Mode::Fixed(ok) = p.mode {
            for (j, (v, words)) in ok.iter().enumerate() {
                let u = unit_for(p, i * 100 + j, v);
                units.push((u.file_name.clone(), write_unit(&u).unwrap()));
                fixed.push((
                    p,
                    service_name(p.kind, &format!("p{}", i * 100 + j)),
                    *words,
                ));
            }
        }
    }
    let b = run(&q, analyze.as_deref(), &units);
    for (p, name, words) in fixed {
        let obs = b
            .services
            .get(&name)
            .map(|svc| observed(p, svc))
            .unwrap_or_else(|| Err(format!("no {name}: {}", b.stderr)));
        match obs {
            Ok(obs) if obs.windows(words.len()).any(|w| w == words) => {
                let c = complaints(p, &b, &name, &b.services[&name]);
                if !c.is_empty() {
                    failures.push(format!(
                        "{}/{} {words:?}: systemd complains: {c:?}",
                        p.section, p.key
                    ));
                }
            }
            other => failures.push(format!(
                "{}/{}: {words:?} not in {other:?}",
                p.section, p.key
            )),
        }
    }

    // Hostile values.
    let mut accepted = 0;
    for (h, must) in HOSTILE {
        let mut units = Vec::new();
        let mut written = Vec::new();
        for (i, p) in probes.iter().enumerate() {
            let spec = keys::spec(p.section, p.key).expect("in the table");
            let u = unit_for(p, i, h);
            match (write_unit(&u), p.mode) {
                (Err(e), _) if e.key != p.key => failures.push(format!(
                    "{}/{} {h:?}: refused naming {} instead: {e}",
                    p.section, p.key, e.key
                )),
                (Err(e), _) => {
                    if must_accept(spec.class, spec.check, *must, h) {
                        failures.push(format!(
                            "{}/{} {h:?}: refused, but a {:?} key can carry it: {e}",
                            p.section, p.key, spec.class
                        ));
                    }
                }
                (Ok(_), Mode::Fixed(ok)) if !ok[0].0.is_empty() => failures.push(format!(
                    "{}/{} {h:?}: accepted, but only {:?} are meant",
                    p.section,
                    p.key,
                    ok.iter().map(|o| o.0).collect::<Vec<_>>()
                )),
                (Ok(_), Mode::Fixed(_)) => {}
                (Ok(text), _) => {
                    units.push((u.file_name.clone(), text.clone()));
                    written.push((i, p, text));
                }
            }
        }
        let b = run(&q, analyze.as_deref(), &units);
        for (i, p, text) in written {
            let name = service_name(p.kind, &format!("p{i}"));
            let Some(svc) = b.services.get(&name) else {
                let why: Vec<&str> = b
                    .stderr
                    .lines()
                    .filter(|l| l.contains(&format!("p{i}.")))
                    .collect();
                failures.push(format!(
                    "{}/{} {h:?}: quadlet generated nothing: {why:?}\n{text}",
                    p.section, p.key
                ));
                continue;
            };
            accepted += 1;
            let (base_svc, base) = &base_obs[i];
            if shape(svc) != shape(base_svc) {
                failures.push(format!(
                    "{}/{} {h:?}: the service's sections/keys changed:\n{svc}",
                    p.section, p.key
                ));
                continue;
            }
            let c = complaints(p, &b, &name, svc);
            if !c.is_empty() {
                failures.push(format!(
                    "{}/{} {h:?}: systemd complains: {c:?}",
                    p.section, p.key
                ));
            }
            let want = expected(p, base, h);
            match observed(p, svc) {
                Ok(got) if same(p, &want, &got) => {}
                Ok(got) => {
                    let diff: Vec<String> = want
                        .iter()
                        .zip(&got)
                        .filter(|(w, g)| w != g)
                        .map(|(w, g)| format!("want {w:?} got {g:?}"))
                        .collect();
                    failures.push(format!(
                        "{}/{} {h:?}: argv differs ({} vs {} words) {diff:?}",
                        p.section,
                        p.key,
                        want.len(),
                        got.len()
                    ))
                }
                Err(e) => failures.push(format!("{}/{} {h:?}: {e}", p.section, p.key)),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(accepted > 1000, "only {accepted} hostile values checked");
}

fn stack(project: serde_json::Value) -> release_tool::compose::LoadedStack {
    release_tool::compose::LoadedStack {
        name: "esc".into(),
        dir: "/srv/stacks/esc".into(),
        project: serde_json::from_value(project).unwrap(),
        sources: release_tool::compose::SourceMap::default(),
        warnings: vec![],
        inputs: vec![],
    }
}

/// The examples, from Compose fields through the translator and the real quadlet: a
/// secret target with a blank stays one `--secret` (it used to mount a second Podman secret), a
/// log tag with ` --privileged` stays one `--log-opt`, a `"` no longer makes Quadlet drop a
/// `Sysctl=`/`AddCapability=`/`AddDevice=`/`LogOpt=` value, a backslash stays one backslash.
#[test]
fn compose_values_reach_podman_whole() {
    let s = stack(serde_json::json!({
        "name": "esc",
        "services": {"web": {
            "image": "busybox",
            "secrets": [{"source": "db", "target": "x other"}],
            "logging": {"driver": "journald", "options": {"tag": "x --privileged", "labels": "a\"b\\c"}},
            "sysctls": {"net.core.somaxconn": "10\"24"},
            "cap_add": ["NET_\"ADMIN"],
            "devices": [{"source": "/dev/x \"y\"", "target": "/dev/z\\", "permissions": "rwm"}]
        }},
        "secrets": {"db": {"file": "/srv/db.txt"}}
    }));
    let r = support::render(&s, support::V5_4).unwrap();
    let Some(q) = support::quadlet("compose_values_reach_podman_whole") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    support::write_units(dir.path(), &r);
    let d = support::quadlet_dryrun(&q, dir.path());
    let svc = support::services(&d.stdout);
    let svc = svc
        .get("esc-web.service")
        .unwrap_or_else(|| panic!("{}", d.stderr));
    let line = support::key_value(svc, "ExecStart").unwrap();
    let cmds = systemd::exec_commands(&line);
    assert_eq!(cmds.len(), 1, "{line}");
    let argv = &cmds[0];
    let flag = |f: &str| -> Vec<&str> {
        argv.windows(2)
            .filter(|w| w[0] == f)
            .map(|w| w[1].as_str())
            .collect()
    };
    assert_eq!(
        flag("--secret"),
        ["esc-db,type=mount,target=/run/secrets/x other"],
        "{argv:?}"
    );
    let mut log = flag("--log-opt");
    log.sort();
    assert_eq!(log, ["labels=a\"b\\c", "tag=x --privileged"], "{argv:?}");
    assert!(!argv.iter().any(|a| a == "--privileged"), "{argv:?}");
    assert_eq!(flag("--sysctl"), ["net.core.somaxconn=10\"24"], "{argv:?}");
    assert_eq!(flag("--cap-add"), ["net_\"admin"], "{argv:?}");
    assert_eq!(flag("--device"), ["/dev/x \"y\":/dev/z\\:rwm"], "{argv:?}");
}

/// A value no key can carry is refused naming the Compose field and the key.
#[test]
fn compose_values_no_key_can_carry_are_refused_naming_the_field() {
    let s = stack(serde_json::json!({
        "name": "esc",
        "services": {"web": {"image": "busybox", "cap_add": [";"]}}
    }));
    let e = support::render(&s, support::V5_4).unwrap_err();
    assert!(
        e.contains("services.web.cap_add") && e.contains("AddCapability= value is a lone ';'"),
        "{e}"
    );
}

/// A Compose command with a lone `;` argument cannot pass through Quadlet: refused, naming the
/// field, instead of becoming a second host command.
#[test]
fn a_lone_semicolon_in_a_command_is_refused_naming_the_field() {
    let s = stack(serde_json::json!({
        "name": "esc",
        "services": {"web": {"image": "busybox", "command": ["find", ".", "-exec", "rm", "{}", ";"]}}
    }));
    let e = support::render(&s, support::V5_4).unwrap_err();
    assert!(
        e.contains("services.web.command") && e.contains("Exec= value is a lone ';'"),
        "{e}"
    );
}
