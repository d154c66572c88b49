//! Global variables: the repo's values file (dotenv format, same rules as `.env`) with
//! `--vars-json` over it. They feed interpolation below a stack's `.env`, and are added to every
//! container's environment below `env_file` and `environment:`.

use std::path::Path;

use indexmap::IndexMap;

use super::{dotenv, LoadError};
use crate::diag::{Diagnostic, Span};

pub fn load_global_vars(
    values_file: Option<&Path>,
    vars_json: Option<&str>,
) -> Result<IndexMap<String, String>, LoadError> {
    let mut vars = IndexMap::new();
    if let Some(f) = values_file {
        let span = |line| Span {
            file: f.to_path_buf(),
            line,
            column: 0,
        };
        // The operator names this file (`--vars-file`), so it may live outside the repository;
        // it must still be a regular file of bounded size.
        let text =
            super::source::read_text(f, None, super::source::MAX_DOTENV_BYTES).map_err(|e| {
                LoadError {
                    diagnostics: vec![e.at(f, "the values file")],
                }
            })?;
        vars = dotenv::parse(&text, &|_| None).map_err(|e| LoadError {
            diagnostics: vec![Diagnostic::error(span(e.line), "", e.message)],
        })?;
    }
    if let Some(j) = vars_json {
        vars = merge_vars_json(vars, j).map_err(|e| LoadError {
            diagnostics: vec![Diagnostic::error(Span::default(), "", e)],
        })?;
    }
    Ok(vars)
}

/// Merges a `--vars-json` object over file variables. Non-string JSON scalars become their text.
pub fn merge_vars_json(
    mut vars: IndexMap<String, String>,
    json: &str,
) -> Result<IndexMap<String, String>, String> {
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("--vars-json: not valid JSON: {e}"))?;
    let obj = v
        .as_object()
        .ok_or("--vars-json: must be a JSON object of variables")?;
    for (k, v) in obj {
        let s = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => String::new(),
            serde_json::Value::Bool(_) | serde_json::Value::Number(_) => v.to_string(),
            _ => {
                return Err(format!(
                    "--vars-json: variable '{k}' must be a string, number or boolean"
                ))
            }
        };
        vars.insert(k.clone(), s);
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vars_json_wins_and_rejects_nesting() {
        let mut base = IndexMap::new();
        base.insert("A".to_string(), "file".to_string());
        let m = merge_vars_json(base.clone(), r#"{"A":"json","N":3,"B":true}"#).unwrap();
        assert_eq!(m["A"], "json");
        assert_eq!(m["N"], "3");
        assert_eq!(m["B"], "true");
        assert!(merge_vars_json(base.clone(), r#"{"A":{"x":1}}"#)
            .unwrap_err()
            .contains("'A'"));
        assert!(merge_vars_json(base, "[1]").is_err());
    }

    #[test]
    fn values_file_then_vars_json_wins() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("values.env");
        std::fs::write(&f, "A=file\nB=\"two words\"\nC=${A}-x\n").unwrap();
        let v = load_global_vars(Some(&f), Some(r#"{"A":"json","N":1}"#)).unwrap();
        assert_eq!(v["A"], "json");
        assert_eq!(v["B"], "two words");
        assert_eq!(v["C"], "file-x");
        assert_eq!(v["N"], "1");
        let e = load_global_vars(Some(&dir.path().join("missing.env")), None).unwrap_err();
        assert!(e.to_string().contains("missing.env"), "{e}");
        assert!(load_global_vars(None, Some("[1]")).is_err());
    }
}
