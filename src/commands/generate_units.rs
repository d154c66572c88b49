//! `release-tool generate-units [--affected-services "a b"] --services-dir DIR --output-dir DIR
//! [--meta-target NAME] [--vars-json JSON] [--vars-file F] [--podman-version X.Y] [--strict]`.
//!
//! Renders the Quadlet units (and targets) of the given stacks, or of all, into the output dir.
//! Writes only those files, atomically, leaves every other file alone, and skips a file whose
//! bytes are already there. A stack that fails is reported and the others are still written;
//! the exit code is then `INVALID_INPUT`. Two stacks never share a unit file or container name;
//! the stacks it does not write count for that by their names (docs/compose-support.md).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::context::Context;
use super::exit;
use crate::cli::command::GenerateUnitsOpts;
use crate::compose::{discover_stacks, load_stack, LoadOptions, LoadedStack};
use crate::translate::{
    is_valid_name_part, render_meta_target, render_stack, stack_names, RenderOptions,
    RenderedStack, RenderedUnit,
};

pub fn run(args: &GenerateUnitsOpts) -> u8 {
    let ctx = Context::new(&args.checkout, None);
    let Some(out_dir) = args.output_dir.clone() else {
        eprintln!("release-tool: generate-units needs --output-dir DIR");
        return exit::USAGE;
    };
    if let Some(m) = &args.meta_target {
        if !is_valid_name_part(m) {
            eprintln!(
                "release-tool: --meta-target {m:?}: use ASCII letters, digits, '_', '.', '-'"
            );
            return exit::USAGE;
        }
    }
    let version = match crate::deploy::render::podman_version(
        args.podman_version.as_deref(),
        &super::runtime::podman_cli(),
    ) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("release-tool: {e}");
            return exit::USAGE;
        }
    };
    let globals = match global_vars(&ctx) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("release-tool: {e}");
            return exit::INVALID_INPUT;
        }
    };
    let stacks = match discover_stacks(&ctx.services_dir) {
        Ok(s) => s,
        Err(e) => {
            // (the error names the directory)
            eprintln!("release-tool: {e}");
            return exit::INVALID_INPUT;
        }
    };
    let mut failed = false;
    // `--stack NAME` (repeatable) selects like `--affected-services`.
    let wanted: Option<Vec<String>> = match (&args.affected_services, args.stacks.is_empty()) {
        (None, true) => None,
        (a, _) => Some(a.iter().flatten().chain(&args.stacks).cloned().collect()),
    };
    let selected: Vec<String> = match &wanted {
        None => stacks.iter().map(|s| s.name.clone()).collect(),
        Some(names) => {
            for n in names {
                if !stacks.iter().any(|s| &s.name == n) {
                    eprintln!(
                        "release-tool: {n}: no such stack under {}",
                        ctx.services_dir.display()
                    );
                    failed = true;
                }
            }
            names.clone()
        }
    };
    let opts = RenderOptions {
        podman_version: version,
        strict: args.strict,
    };

    // The selected stacks are rendered; so is every stack with --meta-target (it wants each stack
    // that renders). The others are loaded only as far as the names a clash is about (not
    // rendered: a third of the cost), and a stack whose names another stack also has is then
    // rendered after all, so only a stack that renders can refuse another, as when all were.
    // Only the selected ones are reported and written.
    let render_every = wanted.is_none() || args.meta_target.is_some();
    let mut rendered: Vec<(usize, RenderedStack)> = Vec::new();
    let mut unrendered: Vec<(usize, LoadedStack, Vec<String>)> = Vec::new();
    for (i, s) in stacks.iter().enumerate() {
        let report = selected.contains(&s.name);
        let load = LoadOptions {
            global_vars: globals.clone(),
            home: ctx.home.clone(),
            display_dir: None,
            strict: args.strict,
        };
        let loaded = match load_stack(s, &load) {
            Ok(l) => l,
            Err(e) if report => {
                eprintln!("release-tool: stack {}: not generated:\n{e}", s.name);
                failed = true;
                continue;
            }
            Err(_) => continue,
        };
        if report {
            crate::diag::eprint_all(&loaded.warnings);
        } else if !render_every {
            let n = stack_names(&loaded);
            let names = n
                .unit_files
                .into_iter()
                .chain(n.containers.iter().map(|c| format!("container {c}")))
                .collect();
            unrendered.push((i, loaded, names));
            continue;
        }
        match render(&loaded, &opts) {
            Ok(r) => rendered.push((i, r)),
            Err(e) if report => {
                eprintln!("release-tool: stack {}: not generated:\n{e}", s.name);
                failed = true;
            }
            Err(_) => {}
        }
    }
    // Names more than one stack has, counting the unrendered stacks' names as they would be.
    let rendered_names: Vec<(usize, Vec<String>)> =
        rendered.iter().map(|(i, r)| (*i, clash_names(r))).collect();
    let every = rendered_names
        .iter()
        .map(|(i, n)| (*i, n))
        .chain(unrendered.iter().map(|(i, _, n)| (*i, n)));
    let mut owners: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
    for (i, names) in every {
        for n in names {
            owners.entry(n.as_str()).or_default().insert(i);
        }
    }
    let shared: BTreeSet<usize> = owners
        .values()
        .filter(|o| o.len() > 1)
        .flatten()
        .copied()
        .collect();
    drop(owners);
    for (i, loaded, _) in unrendered {
        if shared.contains(&i) {
            if let Ok(r) = render(&loaded, &opts) {
                rendered.push((i, r));
            }
        }
    }
    rendered.sort_by_key(|(i, _)| *i);
    let rendered: Vec<RenderedStack> = rendered.into_iter().map(|(_, r)| r).collect();
    let clashes = unit_name_clashes(&rendered);
    let mut written_stacks = Vec::new();
    let (mut units_written, mut stacks_written) = (0, 0);
    for r in &rendered {
        if let Some(msg) = clashes.get(&r.stack) {
            if selected.contains(&r.stack) {
                eprintln!("release-tool: stack {}: not generated: {msg}", r.stack);
                failed = true;
            }
            continue;
        }
        written_stacks.push(r.stack.clone());
        if !selected.contains(&r.stack) {
            continue;
        }
        crate::diag::eprint_all(&r.warnings);
        if let Err(e) = write_units(&out_dir, &r.units) {
            eprintln!("release-tool: stack {}: {e}", r.stack);
            failed = true;
        } else {
            units_written += r.units.len();
            stacks_written += 1;
        }
    }
    if let Some(m) = &args.meta_target {
        if let Err(e) = write_units(&out_dir, &[render_meta_target(m, &written_stacks)]) {
            eprintln!("release-tool: {e}");
            failed = true;
        }
    }
    // What it did, in one line (stderr: stdout stays free for scripts; -q silences it).
    log::info!(
        "wrote {units_written} unit(s) of {stacks_written} stack(s) to {}{}",
        out_dir.display(),
        if failed {
            "; some stacks failed (above)"
        } else {
            ""
        }
    );
    if failed {
        exit::INVALID_INPUT
    } else {
        exit::OK
    }
}

/// Stacks (the later one, in name order) whose unit file or container name another stack
/// already uses, with a message naming both.
pub fn unit_name_clashes(stacks: &[RenderedStack]) -> BTreeMap<String, String> {
    let mut owner: BTreeMap<String, String> = BTreeMap::new();
    let mut clashes = BTreeMap::new();
    for s in stacks {
        for n in clash_names(s) {
            match owner.get(&n) {
                Some(first) if first != &s.stack => {
                    clashes.entry(s.stack.clone()).or_insert_with(|| {
                        format!("{n} is also generated by stack {first}; rename a stack or service")
                    });
                }
                _ => {
                    owner.insert(n, s.stack.clone());
                }
            }
        }
    }
    clashes
}

/// What two stacks must not share: their unit file names, and `container NAME` for each
/// container name.
fn clash_names(s: &RenderedStack) -> Vec<String> {
    let mut names: Vec<String> = s.units.iter().map(|u| u.file_name.clone()).collect();
    names.extend(
        s.units
            .iter()
            .filter_map(container_name)
            .map(|n| format!("container {n}")),
    );
    names
}

/// A loaded stack rendered, its errors in one message.
fn render(loaded: &LoadedStack, opts: &RenderOptions) -> Result<RenderedStack, String> {
    render_stack(loaded, opts).map_err(|d| {
        d.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    })
}

fn container_name(u: &RenderedUnit) -> Option<String> {
    if !u.file_name.ends_with(".container") {
        return None;
    }
    u.contents
        .lines()
        .find_map(|l| l.strip_prefix("ContainerName="))
        .map(|n| n.replace("%%", "%"))
}

/// Writes each file through a temporary file and a rename, leaving identical files untouched.
pub fn write_units(dir: &Path, units: &[RenderedUnit]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for u in units {
        let path = dir.join(&u.file_name);
        if std::fs::read(&path).is_ok_and(|b| b == u.contents.as_bytes()) {
            continue;
        }
        let tmp: PathBuf = dir.join(format!(".{}.tmp-{}", u.file_name, std::process::id()));
        std::fs::write(&tmp, &u.contents)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                format!("{}: {e}", path.display())
            })?;
    }
    Ok(())
}

fn global_vars(ctx: &Context) -> Result<IndexMap<String, String>, String> {
    crate::compose::load_global_vars(ctx.vars_file.as_deref(), ctx.vars_json.as_deref())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::PodmanVersion;

    fn stack(name: &str, files: &[(&str, &str)]) -> RenderedStack {
        RenderedStack {
            stack: name.into(),
            units: files
                .iter()
                .map(|(f, c)| RenderedUnit {
                    file_name: f.to_string(),
                    contents: c.to_string(),
                })
                .collect(),
            containers: vec![],
            secrets: vec![],
            warnings: vec![],
        }
    }

    #[test]
    fn the_later_stack_of_a_clash_is_refused_naming_both() {
        let a = stack(
            "a-b",
            &[("a-b-c.container", "ContainerName=x\n"), ("a-b.target", "")],
        );
        let b = stack(
            "a",
            &[("a-b-c.container", "ContainerName=y\n"), ("a.target", "")],
        );
        let c = stack("z", &[("z-w.container", "ContainerName=x\n")]);
        let ok = stack("q", &[("q-w.container", "ContainerName=q\n")]);
        let clashes = unit_name_clashes(&[a, b, c, ok]);
        assert_eq!(clashes.len(), 2, "{clashes:?}");
        assert!(clashes["a"].contains("a-b-c.container") && clashes["a"].contains("stack a-b"));
        assert!(clashes["z"].contains("container x") && clashes["z"].contains("stack a-b"));
    }

    #[test]
    fn writes_only_its_files_atomically_and_keeps_identical_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("other.container"), "keep").unwrap();
        let units = vec![RenderedUnit {
            file_name: "s-a.container".into(),
            contents: "x\n".into(),
        }];
        write_units(dir.path(), &units).unwrap();
        let p = dir.path().join("s-a.container");
        let before = std::fs::metadata(&p).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        write_units(dir.path(), &units).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().modified().unwrap(), before);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("other.container")).unwrap(),
            "keep"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "no temporary file left: {names:?}");
    }

    #[test]
    fn explicit_versions_outside_the_supported_range_are_refused() {
        let fake = crate::deploy::fake::FakePodman::default();
        assert!(crate::deploy::render::podman_version(Some("4.3"), &fake)
            .unwrap_err()
            .contains("4.4 to 5.4"));
        assert_eq!(
            crate::deploy::render::podman_version(Some("5.0"), &fake).unwrap(),
            PodmanVersion { major: 5, minor: 0 }
        );
        assert!(crate::deploy::render::podman_version(Some("x"), &fake).is_err());
        // Without the flag, the version is the engine's (the fake says 5.4.2).
        assert_eq!(
            crate::deploy::render::podman_version(None, &fake).unwrap(),
            PodmanVersion { major: 5, minor: 4 }
        );
    }
}
