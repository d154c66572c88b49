//! Diagnostics shared by every phase: an error or warning that names the file, the line and the field.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Warning,
    Error,
}

/// Where a value came from in the input files. Line and column are 1-based; 0 means unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

/// Writes `items` to stderr, one a line, in one `write(2)`: stderr is unbuffered, and a
/// diagnostic's `Display` is a dozen `write!` pieces, each a system call of its own otherwise.
pub fn eprint_all<T: fmt::Display>(items: impl IntoIterator<Item = T>) {
    use std::fmt::Write as _;
    use std::io::Write as _;
    let mut s = String::new();
    for i in items {
        let _ = writeln!(s, "{i}");
    }
    if !s.is_empty() {
        let _ = std::io::stderr().lock().write_all(s.as_bytes());
    }
}

/// `s` with every control character escaped (see [`write_escaped`]).
pub fn escaped(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let _ = write_escaped(&mut out, s);
    out
}

/// Writes `s` with every control character escaped (`\n`, `\r`, `\t`, `\u{1b}`...), so a file
/// name or a value holding a newline cannot forge a second log line or a terminal sequence.
pub fn write_escaped(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    for c in s.chars() {
        if c.is_control() {
            write!(f, "{}", c.escape_default())?;
        } else {
            f.write_char(c)?;
        }
    }
    Ok(())
}

/// `s` with its control characters escaped (see [`write_escaped`]).
pub fn escape_controls(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let _ = write_escaped(&mut out, s);
    out
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, &self.file.to_string_lossy())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
            if self.column > 0 {
                write!(f, ":{}", self.column)?;
            }
        }
        Ok(())
    }
}

/// One message about the input: `file:line:col: field: message`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Diagnostic {
    pub severity: Severity,
    pub span: Span,
    /// The field path in compose-go's notation, e.g. `services.web.ports[1]`; empty for the whole file.
    pub field: String,
    pub message: String,
}

impl Diagnostic {
    pub fn error(span: Span, field: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            span,
            field: field.into(),
            message: message.into(),
        }
    }
    pub fn warning(span: Span, field: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            span,
            field: field.into(),
            message: message.into(),
        }
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{}: {kind}: ", self.span)?;
        if !self.field.is_empty() {
            write_escaped(f, &self.field)?;
            f.write_str(": ")?;
        }
        write_escaped(f, &self.message)
    }
}

impl std::error::Error for Diagnostic {}

/// The candidate closest to a mistyped `word`: within two edits, and fewer edits than the
/// candidate has characters (else any short word would match).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|n| (edit_distance(word, n), n))
        .filter(|(d, n)| *d <= 2 && *d < n.chars().count())
        .min()
        .map(|(_, n)| n)
}

/// Levenshtein distance over chars.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_everywhere() {
        let d = Diagnostic::error(
            Span {
                file: "/r/a\nrelease-tool: deployed\r\u{1b}[2J.yaml".into(),
                line: 3,
                column: 0,
            },
            "services.x\ny",
            "bad value \"a\nb\u{7f}\"",
        );
        let text = d.to_string();
        assert!(!text.chars().any(char::is_control), "{text:?}");
        assert_eq!(
            text,
            "/r/a\\nrelease-tool: deployed\\r\\u{1b}[2J.yaml:3: error: services.x\\ny: \
             bad value \"a\\nb\\u{7f}\""
        );
    }
}
