//! Variable substitution in one string, with every form of the Compose specification:
//! `$V`, `${V}`, `${V:-d}`, `${V-d}`, `${V:?e}`, `${V?e}`, `${V:+r}`, `${V+r}`, nested `${}` in the
//! default/replacement, and `$$` for a literal `$`. A `$` not followed by a name or `{` stays as is
//! (docker compose does the same).

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// `${V:?msg}` / `${V?msg}` with `V` unset (or empty for `:?`).
    Required { var: String, message: String },
    /// A `${...}` that is not one of the forms.
    Invalid,
    /// The result would be longer than [`MAX_VALUE_BYTES`] (variables that double each other).
    TooLong,
}

/// The longest value one substitution may produce: 1 MiB. Real values are a few KiB at most (a
/// certificate); a `.env` whose lines each double the previous variable reaches it in 20 lines
/// instead of exhausting memory.
pub const MAX_VALUE_BYTES: usize = 1024 * 1024;
/// The most that substitution may produce in one file (every value of a `.env`, every string of a
/// compose file): 16 MiB, four times the largest file we read.
pub const MAX_FILE_EXPANSION: usize = 16 * 1024 * 1024;

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TemplateError::Required { var, message } if message.is_empty() => {
                write!(f, "required variable {var} is missing a value")
            }
            TemplateError::Required { var, message } => {
                write!(f, "required variable {var} is missing a value: {message}")
            }
            TemplateError::Invalid => write!(f, "invalid interpolation format"),
            TemplateError::TooLong => write!(
                f,
                "the substituted value is longer than {MAX_VALUE_BYTES} bytes (variables that \
                 expand each other?)"
            ),
        }
    }
}

fn is_name_start(c: u8) -> bool {
    c == b'_' || c.is_ascii_alphabetic()
}
fn is_name_char(c: u8) -> bool {
    c == b'_' || c.is_ascii_alphanumeric()
}

/// Substitutes variables in `s`, looking each one up with `lookup`.
pub fn substitute(
    s: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, TemplateError> {
    if !s.contains('$') {
        return Ok(s.to_string());
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut lit = 0;
    while i < b.len() {
        if b[i] != b'$' {
            i += 1;
            continue;
        }
        out.push_str(&s[lit..i]);
        match b.get(i + 1) {
            Some(b'$') => {
                out.push('$');
                i += 2;
            }
            Some(&c) if is_name_start(c) => {
                let mut j = i + 1;
                while j < b.len() && is_name_char(b[j]) {
                    j += 1;
                }
                out.push_str(&lookup(&s[i + 1..j]).unwrap_or_default());
                i = j;
            }
            Some(b'{') => {
                let end = matching_brace(b, i + 1).ok_or(TemplateError::Invalid)?;
                out.push_str(&braced(&s[i + 2..end], lookup)?);
                i = end + 1;
            }
            _ => {
                out.push('$');
                i += 1;
            }
        }
        lit = i;
        if out.len() > MAX_VALUE_BYTES {
            return Err(TemplateError::TooLong);
        }
    }
    out.push_str(&s[lit..]);
    if out.len() > MAX_VALUE_BYTES {
        return Err(TemplateError::TooLong);
    }
    Ok(out)
}

/// Index of the `}` closing the `{` at `open`, counting nested `${`.
fn matching_brace(b: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn braced(inner: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, TemplateError> {
    let b = inner.as_bytes();
    if b.is_empty() || !is_name_start(b[0]) {
        return Err(TemplateError::Invalid);
    }
    let mut j = 1;
    while j < b.len() && is_name_char(b[j]) {
        j += 1;
    }
    let name = &inner[..j];
    let rest = &inner[j..];
    let value = lookup(name);
    if rest.is_empty() {
        return Ok(value.unwrap_or_default());
    }
    let (colon, ops) = match rest.strip_prefix(':') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    // The operator is one ASCII character; anything else is not a form of the spec.
    let op = ops
        .as_bytes()
        .first()
        .copied()
        .filter(u8::is_ascii)
        .ok_or(TemplateError::Invalid)?;
    let arg = &ops[1..];
    // With `:`, an empty value counts as unset.
    let set = match &value {
        Some(v) => !(colon && v.is_empty()),
        None => false,
    };
    match op {
        b'-' => {
            if set {
                Ok(value.unwrap_or_default())
            } else {
                substitute(arg, lookup)
            }
        }
        b'+' => {
            if set {
                substitute(arg, lookup)
            } else {
                Ok(String::new())
            }
        }
        b'?' => {
            if set {
                Ok(value.unwrap_or_default())
            } else {
                Err(TemplateError::Required {
                    var: name.to_string(),
                    message: substitute(arg, lookup)?,
                })
            }
        }
        _ => Err(TemplateError::Invalid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(s: &str) -> Result<String, TemplateError> {
        let look = |k: &str| match k {
            "A" => Some("a".to_string()),
            "E" => Some(String::new()),
            _ => None,
        };
        substitute(s, &look)
    }

    #[test]
    fn every_form() {
        assert_eq!(sub("$A ${A} x$$y").unwrap(), "a a x$y");
        assert_eq!(sub("${U:-d} ${E:-d} ${U-d} ${E-d}").unwrap(), "d d d ");
        assert_eq!(sub("${A:+r} ${E:+r} ${E+r} ${U+r}").unwrap(), "r  r ");
        assert_eq!(sub("${U:-a${E:-b}c}").unwrap(), "abc");
        assert_eq!(sub("${E-:2283:2283}").unwrap(), "");
        assert_eq!(sub("${U-:2283:2283}").unwrap(), ":2283:2283");
        assert_eq!(sub("a$ p$1 $E} ${A}}").unwrap(), "a$ p$1 } a}");
        assert_eq!(sub("${A:?x} ${E?x}").unwrap(), "a ");
    }

    #[test]
    fn required_and_invalid() {
        assert_eq!(
            sub("${U:?boom}"),
            Err(TemplateError::Required {
                var: "U".into(),
                message: "boom".into()
            })
        );
        assert!(matches!(sub("${E:?}"), Err(TemplateError::Required { .. })));
        assert_eq!(sub("${A.B}"), Err(TemplateError::Invalid));
        assert_eq!(sub("${A"), Err(TemplateError::Invalid));
        assert_eq!(sub("${A€}"), Err(TemplateError::Invalid));
        assert_eq!(sub("${A:€}"), Err(TemplateError::Invalid));
    }

    #[test]
    fn output_is_bounded() {
        let big = "x".repeat(MAX_VALUE_BYTES / 2 + 1);
        let look = |k: &str| (k == "A").then(|| big.clone());
        assert_eq!(substitute("$A", &look).map(|s| s.len()), Ok(big.len()));
        assert_eq!(substitute("$A$A", &look), Err(TemplateError::TooLong));
        assert_eq!(substitute("${U:-$A$A}", &look), Err(TemplateError::TooLong));
    }
}
