//! `release-tool config`: prints each stack's normalized model in the shape of
//! `docker compose config` (JSON by default, or YAML), so the two compare field by field.
//!
//! One `--stack`: that stack's object, exactly as docker compose prints one project. Otherwise
//! (all stacks, or several `--stack`): a JSON object keyed by stack name, or in YAML one document
//! per stack (`---`), each headed by a `# stack: NAME` comment. As docker compose does, `$` in
//! values is printed as `$$` (so the output can be loaded again). A stack that fails to load is
//! reported on stderr (the others are still loaded and their warnings shown), nothing is printed
//! on stdout, and the exit code is 3. With `--strict` an unknown key fails its stack.

use serde_json::{Map, Value};

use super::context::Context;
use super::exit;
use crate::cli::command::{ConfigOpts, Format};
use crate::compose::{self, LoadOptions};

pub fn run(args: &ConfigOpts) -> u8 {
    let mut ctx = Context::new(&args.checkout, None);
    // Output paths are absolute, as docker compose prints them.
    if let Ok(abs) = std::path::absolute(&ctx.services_dir) {
        ctx.services_dir = crate::compose::paths::clean(&abs);
    }
    let globals =
        match compose::load_global_vars(ctx.vars_file.as_deref(), ctx.vars_json.as_deref()) {
            Ok(g) => g,
            Err(e) => {
                crate::diag::eprint_all([&e]);
                return exit::INVALID_INPUT;
            }
        };
    let opts = LoadOptions {
        global_vars: globals,
        home: ctx.home.clone(),
        display_dir: None,
        strict: args.strict,
    };
    let (mut stacks, mut failed) = match compose::discover::scan(&ctx.services_dir) {
        Ok((s, errors)) => {
            crate::diag::eprint_all(&errors);
            (s, !errors.is_empty())
        }
        Err(e) => {
            crate::diag::eprint_all([&e]);
            return exit::INVALID_INPUT;
        }
    };
    if !args.stacks.is_empty() {
        for want in &args.stacks {
            if !stacks.iter().any(|s| &s.name == want) {
                eprintln!(
                    "release-tool: config: no stack named '{want}' under {}",
                    ctx.services_dir.display()
                );
                failed = true;
            }
        }
        stacks.retain(|s| args.stacks.contains(&s.name));
    }
    let mut out = Map::new();
    for stack in &stacks {
        match compose::load_stack_json(stack, &opts) {
            Ok((loaded, json)) => {
                crate::diag::eprint_all(&loaded.warnings);
                out.insert(stack.name.clone(), docker_order(escape_dollars(json), 0));
            }
            Err(e) => {
                crate::diag::eprint_all([&e]);
                failed = true;
            }
        }
    }
    let single = args.stacks.len() == 1;
    let text = match (args.format, single) {
        (Format::Json, true) => out.values().next().map(pretty).unwrap_or_default(),
        (Format::Json, false) => pretty(&Value::Object(out)),
        (_, _) => {
            let mut s = String::new();
            for (name, v) in &out {
                if !single {
                    s.push_str(&format!("---\n# stack: {name}\n"));
                }
                s.push_str(&super::yaml_out::emit(v));
            }
            s
        }
    };
    // On error, nothing on stdout: a script must not take a partial model for the whole.
    if !text.is_empty() && !failed {
        use std::io::Write;
        // A closed pipe (`| head`) is not an error worth a panic.
        let _ = writeln!(std::io::stdout().lock(), "{}", text.trim_end_matches('\n'));
    }
    if failed {
        exit::INVALID_INPUT
    } else {
        exit::OK
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// docker compose prints `$` as `$$` in every value.
fn escape_dollars(v: Value) -> Value {
    match v {
        Value::String(s) if s.contains('$') => Value::String(s.replace('$', "$$")),
        Value::Array(a) => Value::Array(a.into_iter().map(escape_dollars).collect()),
        Value::Object(o) => {
            Value::Object(o.into_iter().map(|(k, v)| (k, escape_dollars(v))).collect())
        }
        v => v,
    }
}

/// Key order as docker compose prints it: the project's and each service's keys sorted (Go
/// structs whose fields are alphabetical), and every map (services, environment, labels,
/// networks, ...) sorted by key. Lists and the small structs inside keep their order.
fn docker_order(v: Value, depth: usize) -> Value {
    const MAPS: &[&str] = &[
        "services",
        "networks",
        "volumes",
        "secrets",
        "configs",
        "environment",
        "labels",
        "annotations",
        "sysctls",
        "depends_on",
        "ulimits",
        "storage_opt",
        "args",
        "options",
        "driver_opts",
        "additional_contexts",
    ];
    let Value::Object(o) = v else { return v };
    let mut entries: Vec<(String, Value)> = o.into_iter().collect();
    // The project (depth 0) and each service (depth 2, under "services") are sorted too.
    let sort_self = depth == 0 || depth == 2;
    if sort_self {
        entries.sort_by(|a, b| a.0.cmp(&b.0));
    }
    let mut out = Map::new();
    for (k, v) in entries {
        let v = match v {
            Value::Object(m) if MAPS.contains(&k.as_str()) => {
                let mut inner: Vec<(String, Value)> = m.into_iter().collect();
                inner.sort_by(|a, b| a.0.cmp(&b.0));
                let next = if depth == 0 && k == "services" {
                    2
                } else {
                    depth + 3
                };
                Value::Object(
                    inner
                        .into_iter()
                        .map(|(ik, iv)| (ik, docker_order(iv, next)))
                        .collect(),
                )
            }
            other => docker_order(other, depth + 3),
        };
        out.insert(k, v);
    }
    Value::Object(out)
}
