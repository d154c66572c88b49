//! The pipeline: `.env` → per file (yaml → interpolate → include → extends) → merge →
//! validate → profiles → normalize → typed model.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::node::{Node, Value};
use super::paths::Dirs;
use super::service::{self, Ctx};
use super::{
    canon, discover, dotenv, extends, interpolate, merge, normalize, profiles, rebase, schema,
    source, validate, yaml,
};
use super::{LoadError, LoadOptions, LoadedStack, Project, SourceMap};
use crate::diag::{Diagnostic, Span};

fn one(d: Diagnostic) -> LoadError {
    LoadError {
        diagnostics: vec![d],
    }
}

/// Reads a dotenv file (`<dir>/.env`, an include's `env_file`) with `base` for the variables it
/// references; `None` when there is no such file. A path that exists but is not a regular file (a
/// dangling link, a directory, a FIFO) is an error, never "no file".
pub fn read_dotenv(
    path: &Path,
    base: &IndexMap<String, String>,
    root: Option<&Path>,
) -> Result<Option<IndexMap<String, String>>, Diagnostic> {
    let text = match source::read_text(path, root, source::MAX_DOTENV_BYTES) {
        Ok(t) => t,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e.at(path, "")),
    };
    dotenv::parse(&text, &|k| base.get(k).cloned())
        .map(Some)
        .map_err(|e| {
            Diagnostic::error(
                Span {
                    file: path.into(),
                    line: e.line,
                    column: 0,
                },
                "",
                e.message,
            )
        })
}

/// How many files one stack may include in all, counting each inclusion (a real stack includes
/// a handful).
pub const MAX_INCLUDED_FILES: usize = 256;

struct FileLoader<'a> {
    dirs: &'a Dirs,
    inputs: Vec<PathBuf>,
    depth: usize,
    /// Files included so far, bounded by [`MAX_INCLUDED_FILES`].
    included: usize,
}

impl FileLoader<'_> {
    /// One file: parsed, interpolated, canonical shape, includes and extends applied. Paths of
    /// included content are absolute; the file's own stay relative to `base`.
    fn load(
        &mut self,
        file: &Path,
        base: &Path,
        vars: &IndexMap<String, String>,
    ) -> Result<Node, Diagnostic> {
        let mut root = yaml::read_file(file, self.dirs.root.as_deref())?;
        self.inputs.push(file.to_path_buf());
        if root.is_null() || root.as_map().is_some_and(IndexMap::is_empty) {
            return Err(Diagnostic::error(root.span(), "", "empty compose file"));
        }
        interpolate::interpolate(&mut root, vars)?;
        yaml::check_finite(&root)?;
        validate::unique_items(&root)?;
        // Checked as docker compose checks each file: before merging, so a bad value is refused
        // even where an override replaces it.
        schema::check_file(&root)?;
        canon::file(&mut root);
        if let Some(inc) = root.as_map_mut().and_then(|m| m.shift_remove("include")) {
            self.include(&mut root, inc, base, vars)?;
        }
        let mut cache = extends::FileCache {
            vars,
            files: IndexMap::new(),
            inputs: Vec::new(),
            root: self.dirs.root.as_deref(),
            pending: Vec::new(),
        };
        extends::resolve_file(&mut root, file, base, self.dirs, &mut cache)?;
        schema::surviving(&root, &cache.pending)?;
        self.inputs.append(&mut cache.inputs);
        Ok(root)
    }

    fn include(
        &mut self,
        root: &mut Node,
        inc: Node,
        base: &Path,
        vars: &IndexMap<String, String>,
    ) -> Result<(), Diagnostic> {
        self.depth += 1;
        if self.depth > 16 {
            return Err(Diagnostic::error(
                inc.span(),
                "include",
                "include nested more than 16 levels (a cycle?)",
            ));
        }
        let items = match inc.value {
            Value::Seq(items) => items,
            _ => return Err(Diagnostic::error(inc.span(), "include", "must be a list")),
        };
        for (i, item) in items.into_iter().enumerate() {
            let path = format!("include[{i}]");
            let (files, project_dir, env_files) = match &item.value {
                Value::Str(s) => (vec![s.clone()], None, None),
                Value::Map(m) => {
                    let files = match m.get("path").map(|p| &p.value) {
                        Some(Value::Str(s)) => vec![s.clone()],
                        Some(Value::Seq(l)) => l.iter().filter_map(Node::scalar_text).collect(),
                        _ => {
                            return Err(Diagnostic::error(
                                item.span(),
                                path,
                                "an include entry needs a path",
                            ))
                        }
                    };
                    let env = m.get("env_file").map(|e| match &e.value {
                        Value::Seq(l) => l.iter().filter_map(Node::scalar_text).collect::<Vec<_>>(),
                        _ => e.scalar_text().into_iter().collect(),
                    });
                    (
                        files,
                        m.get("project_directory").and_then(Node::scalar_text),
                        env,
                    )
                }
                _ => {
                    return Err(Diagnostic::error(
                        item.span(),
                        path,
                        "must be a path or a mapping",
                    ))
                }
            };
            let files: Vec<PathBuf> = files
                .iter()
                .map(|f| self.dirs.resolve_in(base, f))
                .collect();
            let Some(first) = files.first() else { continue };
            let inc_dir = match &project_dir {
                Some(d) => self.dirs.resolve_in(base, d),
                None => first.parent().map(Path::to_path_buf).unwrap_or_default(),
            };
            // The included project's own .env (or env_file list) over the including one's variables.
            let mut inc_vars = vars.clone();
            let env_paths: Vec<PathBuf> = match env_files {
                Some(l) => l.iter().map(|e| self.dirs.resolve_in(base, e)).collect(),
                None => vec![inc_dir.join(".env")],
            };
            for ep in env_paths {
                if let Some(v) = read_dotenv(&ep, &inc_vars, self.dirs.root.as_deref())? {
                    self.inputs.push(ep);
                    inc_vars.extend(v);
                }
            }
            let mut merged: Option<Node> = None;
            for f in &files {
                // Depth alone does not bound the work: a file including another one many times
                // over, at every level, loads exponentially many files.
                self.included += 1;
                if self.included > MAX_INCLUDED_FILES {
                    return Err(Diagnostic::error(
                        item.span(),
                        path,
                        format!(
                            "more than {MAX_INCLUDED_FILES} files included in all (the same \
                             files included over and over?); refusing to load"
                        ),
                    ));
                }
                let mut n = self.load(f, &inc_dir, &inc_vars).map_err(|mut d| {
                    d.message = format!("{} (included from {})", d.message, item.span());
                    d
                })?;
                rebase::file(&mut n, self.dirs, &inc_dir);
                match &mut merged {
                    None => merged = Some(n),
                    Some(m) => merge::merge(m, n, ""),
                }
            }
            let Some(included) = merged else { continue };
            add_included(root, included, &item)?;
        }
        self.depth -= 1;
        Ok(())
    }
}

/// Adds an included project's resources; one the including file also defines is an error.
fn add_included(root: &mut Node, included: Node, item: &Node) -> Result<(), Diagnostic> {
    let Some(top) = root.as_map_mut() else {
        return Ok(());
    };
    let Value::Map(inc) = included.value else {
        return Ok(());
    };
    for (section, node) in inc {
        if !["services", "networks", "volumes", "secrets", "configs"].contains(&section.as_str()) {
            continue;
        }
        let Value::Map(objs) = node.value else {
            continue;
        };
        let target = top
            .entry(section.clone())
            .or_insert_with(|| Node::new(Value::Map(IndexMap::new()), item.pos.clone()));
        if target.is_null() {
            target.value = Value::Map(IndexMap::new());
        }
        let Some(t) = target.as_map_mut() else {
            continue;
        };
        for (k, v) in objs {
            if let Some(existing) = t.get(&k) {
                if section == "services" {
                    return Err(Diagnostic::error(
                        existing.span(),
                        format!("{section}.{k}"),
                        format!(
                            "conflicts with the {section} of the same name included at {}",
                            item.span()
                        ),
                    ));
                }
                continue;
            }
            t.insert(k, v);
        }
    }
    Ok(())
}

fn record(node: &Node, path: &mut String, map: &mut SourceMap) {
    map.spans.insert(path.clone(), node.span());
    match &node.value {
        Value::Map(m) => {
            for (k, v) in m {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                record(v, path, map);
                path.truncate(len);
            }
        }
        Value::Seq(s) => {
            for (i, v) in s.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                record(v, path, map);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// The variable docker compose gives interpolation the project's name in (docs/loader.md).
const PROJECT_NAME_VAR: &str = "COMPOSE_PROJECT_NAME";

/// Whether any of `files` contains `needle`, read as the loader reads them (regular files only,
/// links kept inside `root`, bounded); one that cannot be read counts as not (the load says why).
fn mentions(files: &[PathBuf], root: Option<&Path>, needle: &str) -> bool {
    files.iter().any(|f| {
        super::source::read_text(f, root, yaml::MAX_FILE_BYTES).is_ok_and(|t| t.contains(needle))
    })
}

/// The project name the compose files declare (`name:`, the last file's that has one),
/// interpolated with `vars`; None when none does or it cannot be read (the full load then says
/// why).
fn declared_name(
    files: &[PathBuf],
    root: Option<&Path>,
    vars: &IndexMap<String, String>,
) -> Option<String> {
    let mut name = None;
    for f in files {
        let mut doc = yaml::read_file(f, root).ok()?;
        if let Some(n) = doc.as_map_mut().and_then(|m| m.shift_remove("name")) {
            let mut n = n;
            interpolate::interpolate(&mut n, vars).ok()?;
            if let Some(t) = n.scalar_text().filter(|t| !t.is_empty()) {
                name = Some(t);
            }
        }
    }
    name
}

/// The merged tree, the files read, the warnings (unknown keys: errors with `--strict`), the
/// services profiles disabled and the errors of links to them.
type Merged = (Node, Vec<PathBuf>, Vec<Diagnostic>, profiles::Applied);

/// The compose files loaded with `vars` and merged in order, validated, profiles applied.
fn load_merged(
    dirs: &Dirs,
    dir: &Path,
    files: &[PathBuf],
    vars: &IndexMap<String, String>,
    enabled: &indexmap::IndexSet<String>,
    strict: bool,
) -> Result<Merged, LoadError> {
    let mut loader = FileLoader {
        dirs,
        inputs: Vec::new(),
        depth: 0,
        included: 0,
    };
    let mut merged: Option<Node> = None;
    for f in files {
        let path = dirs.resolve(&f.to_string_lossy());
        let node = loader.load(&path, dir, vars).map_err(one)?;
        match &mut merged {
            None => merged = Some(merge::strip_resets(node)),
            Some(m) => merge::merge(m, node, ""),
        }
    }
    let Some(mut root) = merged else {
        return Err(one(Diagnostic::error(
            Span {
                file: dir.into(),
                ..Default::default()
            },
            "",
            "no compose file to load",
        )));
    };
    merge::unique_all(&mut root);
    let mut unknown = validate::UnknownKeys {
        strict,
        found: Vec::new(),
    };
    validate::validate(&mut root, &mut unknown).map_err(one)?;
    let applied = profiles::apply(&mut root, enabled);
    Ok((root, loader.inputs, unknown.found, applied))
}

/// Loads `files` (an explicit `-f` list, relative to `dir`) as one project.
pub fn load_files(
    dir: &Path,
    files: &[PathBuf],
    project_name: Option<&str>,
    opts: &LoadOptions,
) -> Result<LoadedStack, LoadError> {
    load_files_json(dir, files, project_name, opts).map(|(s, _)| s)
}

/// [`load_files`], also returning the normalized tree in docker compose's JSON shape.
pub fn load_files_json(
    dir: &Path,
    files: &[PathBuf],
    project_name: Option<&str>,
    opts: &LoadOptions,
) -> Result<(LoadedStack, serde_json::Value), LoadError> {
    let dirs = Dirs {
        real: dir.to_path_buf(),
        display: opts.display_dir.clone(),
        home: opts.home.clone(),
        root: source::repo_of(dir),
    };
    let mut inputs = Vec::new();
    let dotenv_path = dir.join(".env");
    let dotenv = read_dotenv(&dotenv_path, &opts.global_vars, dirs.root.as_deref()).map_err(one)?;
    let mut vars = opts.global_vars.clone();
    if let Some(d) = &dotenv {
        inputs.push(dotenv_path);
        vars.extend(d.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let get = |k: &str| {
        dotenv
            .as_ref()
            .and_then(|d| d.get(k))
            .filter(|v| !v.is_empty())
            .cloned()
    };

    let enabled = profiles::parse_enabled(&get("COMPOSE_PROFILES").unwrap_or_default());
    let dir_name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // docker compose gives interpolation the project's name as COMPOSE_PROJECT_NAME (the `name:`
    // field itself is read without it). When the compose files use it, the name is worked out
    // first, from `name:` read alone, and the files are loaded with it set.
    let top: Vec<PathBuf> = files
        .iter()
        .map(|f| dirs.resolve(&f.to_string_lossy()))
        .collect();
    // The name the files would give (`name:` read without the variable, else the directory's).
    let early_name = |vars: &IndexMap<String, String>| {
        let n = declared_name(&top, dirs.root.as_deref(), vars)
            .unwrap_or_else(|| discover::normalize_project_name(&dir_name));
        Some(discover::normalize_project_name(&n)).filter(|n| !n.is_empty())
    };
    let mut preset_name = None;
    if !vars.contains_key(PROJECT_NAME_VAR) {
        if let Some(p) = project_name {
            // given (-p): known before anything is read
            vars.insert(PROJECT_NAME_VAR.to_string(), p.to_string());
        } else if mentions(&top, dirs.root.as_deref(), PROJECT_NAME_VAR) {
            preset_name = early_name(&vars);
        }
        if let Some(n) = &preset_name {
            vars.insert(PROJECT_NAME_VAR.to_string(), n.clone());
        }
    }
    let (mut root, mut file_inputs, mut warnings, (mut disabled, mut profile_errors)) =
        match load_merged(&dirs, dir, files, &vars, &enabled, opts.strict) {
            // Only an included or extended file uses it, in a form that fails without it
            // (`${COMPOSE_PROJECT_NAME?}`): once more with it set.
            Err(e)
                if !vars.contains_key(PROJECT_NAME_VAR)
                    && mentions(
                        &e.diagnostics
                            .iter()
                            .map(|d| d.span.file.clone())
                            .collect::<Vec<_>>(),
                        dirs.root.as_deref(),
                        PROJECT_NAME_VAR,
                    ) =>
            {
                preset_name = early_name(&vars);
                if let Some(n) = &preset_name {
                    vars.insert(PROJECT_NAME_VAR.to_string(), n.clone());
                }
                load_merged(&dirs, dir, files, &vars, &enabled, opts.strict)?
            }
            r => r?,
        };

    let name = match project_name
        .map(str::to_string)
        .or_else(|| get("COMPOSE_PROJECT_NAME"))
    {
        // A name given explicitly must already be valid (docker compose refuses it otherwise);
        // only the directory name and `name:` are normalized.
        Some(n) => {
            if discover::normalize_project_name(&n) != n {
                return Err(one(Diagnostic::error(
                    Span { file: dir.join(".env"), ..Default::default() },
                    "COMPOSE_PROJECT_NAME",
                    format!(
                        "invalid project name {n:?}: must consist only of lowercase alphanumeric \
                         characters, hyphens, and underscores as well as start with a letter or number"
                    ),
                )));
            }
            n
        }
        None => match preset_name.or_else(|| {
            root.get("name")
                .and_then(Node::scalar_text)
                .filter(|n| !n.is_empty())
        }) {
            Some(n) => n,
            None => discover::normalize_project_name(&dir_name),
        },
    };
    let name = discover::normalize_project_name(&name);
    if name.is_empty() {
        return Err(one(Diagnostic::error(
            Span {
                file: dir.into(),
                ..Default::default()
            },
            "name",
            "the project name is empty",
        )));
    }
    // Used only by an included or extended file (the top-level ones were scanned above): the
    // files are loaded again with it set (the others, almost all, are loaded once).
    let included: Vec<PathBuf> = file_inputs
        .iter()
        .filter(|f| !top.contains(f))
        .cloned()
        .collect();
    if !vars.contains_key(PROJECT_NAME_VAR)
        && mentions(&included, dirs.root.as_deref(), PROJECT_NAME_VAR)
    {
        vars.insert(PROJECT_NAME_VAR.to_string(), name.clone());
        (root, file_inputs, warnings, (disabled, profile_errors)) =
            load_merged(&dirs, dir, files, &vars, &enabled, opts.strict)?;
    }
    inputs.append(&mut file_inputs);

    let mut sources = SourceMap::default();
    record(&root, &mut String::new(), &mut sources);
    let new_ctx = || Ctx {
        warnings: Vec::new(),
        dirs: &dirs,
        vars: &vars,
        globals: &opts.global_vars,
        errors: Vec::new(),
        inputs: Vec::new(),
        env_bytes: 0,
    };
    let mut ctx = new_ctx();
    let json = normalize::project(&root, &name, &mut ctx);
    // docker compose decodes the services profiles disabled too: a port, size or duration it
    // cannot read there fails the project. What they point at (env files, networks, other
    // services) and the checks between fields (distinct limits) are not looked at, so their env
    // files are not read.
    for (sname, svc) in &mut disabled {
        if let Some(m) = svc.as_map_mut() {
            m.shift_remove("env_file");
        }
        let mut off = new_ctx();
        service::decode(sname, svc, &mut off);
        ctx.errors.append(&mut off.errors);
    }
    // After the consistency checks, as docker compose orders them.
    ctx.errors.append(&mut profile_errors);
    let Ctx {
        errors,
        inputs: env_inputs,
        warnings: more_warnings,
        ..
    } = ctx;
    warnings.extend(more_warnings);
    // With `--strict` the unknown keys are errors among the warnings.
    if !errors.is_empty() || warnings.iter().any(Diagnostic::is_error) {
        // The warnings stay with the errors: an unknown key (`imagee:`) is often their cause.
        let mut diagnostics = warnings;
        diagnostics.extend(errors);
        return Err(LoadError { diagnostics });
    }
    inputs.extend(env_inputs);
    let mut seen = indexmap::IndexSet::new();
    inputs.retain(|p| seen.insert(p.clone()));
    let project: Project = serde_json::from_value(json.clone()).map_err(|e| {
        one(Diagnostic::error(
            Span {
                file: dir.into(),
                ..Default::default()
            },
            "",
            format!("internal: the normalized model does not fit the typed model: {e}"),
        ))
    })?;
    Ok((
        LoadedStack {
            name: dir_name,
            dir: dir.to_path_buf(),
            project,
            sources,
            warnings,
            inputs,
        },
        json,
    ))
}

/// The compose files of a stack: `COMPOSE_FILE` from its `.env`, else the defaults.
pub fn stack_files(dir: &Path, opts: &LoadOptions) -> Result<Vec<PathBuf>, LoadError> {
    let root = source::repo_of(dir);
    let dotenv = read_dotenv(&dir.join(".env"), &opts.global_vars, root.as_deref())
        .map_err(one)?
        .unwrap_or_default();
    if let Some(list) = dotenv.get("COMPOSE_FILE").filter(|v| !v.is_empty()) {
        let sep = dotenv
            .get("COMPOSE_PATH_SEPARATOR")
            .filter(|s| !s.is_empty())
            .map(String::as_str)
            .unwrap_or(":");
        return Ok(list
            .split(sep)
            .filter(|f| !f.is_empty())
            .map(PathBuf::from)
            .collect());
    }
    discover::default_files(dir).ok_or_else(|| {
        one(Diagnostic::error(
            Span {
                file: dir.into(),
                ..Default::default()
            },
            "",
            format!(
                "no compose file found (looked for {})",
                discover::COMPOSE_FILES.join(", ")
            ),
        ))
    })
}
