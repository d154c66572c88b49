//! Escaping for the ways systemd and Quadlet read a value (the classes of [`super::keys`]).
//!
//! * A **raw** value is taken verbatim after the `=` (Quadlet's `Volume=`, `Image=`, systemd's
//!   `Description=`): only `%` specifiers (and `$` where the value ends up in an exec line) can be
//!   escaped. Whatever cannot be written verbatim (a newline, surrounding blanks that the parser
//!   strips, a trailing `\` that would continue the line, NUL) is refused. A **single** value
//!   (Quadlet's `Lookup`) also loses every leading and trailing `"`, so those are refused too.
//! * A **word** is split the way systemd splits `ExecStart=` and Quadlet splits `Exec=`,
//!   `PodmanArgs=`, `Environment=`: it is written bare when it is plainly safe, otherwise in
//!   double quotes with C escapes, so any character but NUL survives.
//! * A **strv word** (Quadlet's `LookupAllStrv`: `LogOpt=`, `Sysctl=`, `AddDevice=`, ...) is split
//!   on blanks with quotes removed but no escapes at all: a `\` is literal and a `"` can only be
//!   written inside single quotes, so a word is written as quoted segments.
//!
//! Quadlet copies `%%` and `$$` into the generated `ExecStart=` untouched; systemd then turns them
//! back into `%` and `$`. So every value that reaches an exec line has both doubled. Quadlet also
//! writes a word that is a lone `;` bare, which systemd reads as the start of a second command
//! (one that runs on the host for a oneshot unit): such a word is refused for every value bound
//! for podman.

use std::fmt;

/// Why a value cannot be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EscapeError {
    Nul,
    Newline,
    Control(char),
    Blank,
    Empty,
    EmptyWord,
    TrailingBackslash,
    EdgeQuote,
    Semicolon,
    NotUnitName,
    ExecPrefix,
    /// A key-specific rule (see [`super::keys::Check`]).
    Rule(String),
    /// The writer tried to emit a key the escaping table does not list (a bug in the writer).
    Unlisted,
}

impl fmt::Display for EscapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EscapeError::Nul => write!(f, "contains a NUL byte, which no unit file can carry"),
            EscapeError::Newline => write!(f, "contains a line break, which this key cannot carry"),
            EscapeError::Control(c) => {
                write!(f, "contains the control character U+{:04X}", *c as u32)
            }
            EscapeError::Blank => write!(
                f,
                "starts or ends with blanks, which the unit-file parser would strip"
            ),
            EscapeError::Empty => write!(f, "is empty, which would reset the key"),
            EscapeError::EmptyWord => write!(
                f,
                "holds an empty argument, which Quadlet's word splitting drops with every argument after it"
            ),
            EscapeError::TrailingBackslash => write!(
                f,
                "ends with a backslash, which the unit-file parser reads as a line continuation"
            ),
            EscapeError::EdgeQuote => write!(
                f,
                "starts or ends with '\"', which Quadlet strips from this key"
            ),
            EscapeError::Semicolon => write!(
                f,
                "is a lone ';', which Quadlet writes bare and systemd reads as a second command"
            ),
            EscapeError::NotUnitName => write!(
                f,
                "is not a unit name (NAME.SUFFIX; letters, digits, ':', '_', '.', '@', '-')"
            ),
            EscapeError::ExecPrefix => write!(
                f,
                "starts its command with '-', '@', '+', '!' or ':', which systemd reads as a prefix"
            ),
            EscapeError::Rule(why) => write!(f, "{why}"),
            EscapeError::Unlisted => write!(f, "is not in the escaping table (writer bug)"),
        }
    }
}

/// Where a value is read: whether systemd expands `$` in it, and whether Quadlet re-quotes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Specifiers only (`[Unit]`, `[Install]`, plain `[Service]` keys).
    Specifiers,
    /// Specifiers and `$` variables in an exec line we write ourselves (`ExecStartPost=`).
    Exec,
    /// A Quadlet key whose value Quadlet puts into the `podman` argv of the `ExecStart=` it
    /// writes: specifiers and `$` as in [`Context::Exec`], and a lone `;` word is refused.
    Quadlet,
}

fn push_escaped_char(out: &mut String, c: char, ctx: Context) {
    match c {
        '%' => out.push_str("%%"),
        '$' if ctx != Context::Specifiers => out.push_str("$$"),
        _ => out.push(c),
    }
}

/// Escapes a value that is read verbatim.
pub fn raw(value: &str, ctx: Context) -> Result<String, EscapeError> {
    if value.is_empty() {
        return Err(EscapeError::Empty);
    }
    if value.starts_with(char::is_whitespace) || value.ends_with(char::is_whitespace) {
        return Err(EscapeError::Blank);
    }
    if value.ends_with('\\') {
        return Err(EscapeError::TrailingBackslash);
    }
    if ctx == Context::Quadlet && value == ";" {
        return Err(EscapeError::Semicolon);
    }
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\0' => return Err(EscapeError::Nul),
            '\n' | '\r' => return Err(EscapeError::Newline),
            c if c.is_control() && c != '\t' => return Err(EscapeError::Control(c)),
            c => push_escaped_char(&mut out, c, ctx),
        }
    }
    Ok(out)
}

/// Escapes a value Quadlet reads with `Lookup`, which strips every leading and trailing `"`.
pub fn single(value: &str, ctx: Context) -> Result<String, EscapeError> {
    let out = raw(value, ctx)?;
    if value.starts_with('"') || value.ends_with('"') {
        return Err(EscapeError::EdgeQuote);
    }
    Ok(out)
}

/// Whether `value` can be written to a single-value Quadlet key (`User=`, `WorkingDir=`,
/// `HealthCmd=`, ...) by [`single`].
pub fn is_raw_safe(value: &str) -> bool {
    single(value, Context::Quadlet).is_ok()
}

/// Quotes one word for Quadlet's `LookupAllStrv` (no escapes; quotes removed): bare when it holds
/// no blank, quote or trailing backslash, else in double quotes with each `"` in single quotes.
pub fn strv(value: &str, ctx: Context) -> Result<String, EscapeError> {
    if value.is_empty() {
        return Err(EscapeError::Empty);
    }
    if ctx == Context::Quadlet && value == ";" {
        return Err(EscapeError::Semicolon);
    }
    for c in value.chars() {
        match c {
            '\0' => return Err(EscapeError::Nul),
            '\n' | '\r' => return Err(EscapeError::Newline),
            c if c.is_control() && c != '\t' => return Err(EscapeError::Control(c)),
            _ => {}
        }
    }
    let bare = !value.ends_with('\\')
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '\'');
    let mut out = String::with_capacity(value.len() + 2);
    let mut open = false;
    for c in value.chars() {
        if bare {
            push_escaped_char(&mut out, c, ctx);
        } else if c == '"' {
            if open {
                out.push('"');
                open = false;
            }
            out.push_str("'\"'");
        } else {
            if !open {
                out.push('"');
                open = true;
            }
            push_escaped_char(&mut out, c, ctx);
        }
    }
    if open {
        out.push('"');
    }
    Ok(out)
}

/// The suffixes of systemd unit types.
const UNIT_SUFFIXES: &[&str] = &[
    "service",
    "socket",
    "target",
    "device",
    "mount",
    "automount",
    "swap",
    "timer",
    "path",
    "slice",
    "scope",
];

/// Checks a systemd unit name (`Wants=`, `After=`, `WantedBy=`, ...): `NAME.SUFFIX`, which
/// systemd takes as one list entry, with no specifier.
pub fn unit_name(value: &str) -> Result<String, EscapeError> {
    if value.is_empty() {
        return Err(EscapeError::Empty);
    }
    let valid = match value.rsplit_once('.') {
        Some((name, suffix)) => {
            !name.is_empty()
                && UNIT_SUFFIXES.contains(&suffix)
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || ":_.@-".contains(c))
        }
        None => false,
    };
    if !valid {
        return Err(EscapeError::NotUnitName);
    }
    Ok(value.to_string())
}

fn is_bare_safe(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_./:@,+=-%$".contains(c)
}

/// Quotes one word so that systemd's and Quadlet's word splitting give it back exactly.
pub fn word(value: &str, ctx: Context) -> Result<String, EscapeError> {
    if value.is_empty() {
        return Err(EscapeError::EmptyWord);
    }
    if ctx == Context::Quadlet {
        if value == ";" {
            return Err(EscapeError::Semicolon);
        }
        // Quadlet re-escapes U+0080 (and only it, of the non-ASCII) as the byte `\x80`, which
        // systemd then passes on as invalid UTF-8.
        if value.contains('\u{80}') {
            return Err(EscapeError::Control('\u{80}'));
        }
    }
    let mut out = String::with_capacity(value.len() + 2);
    let bare = value.chars().all(is_bare_safe);
    if !bare {
        out.push('"');
    }
    for c in value.chars() {
        match c {
            '\0' => return Err(EscapeError::Nul),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => push_escaped_char(&mut out, c, ctx),
        }
    }
    if !bare {
        out.push('"');
    }
    Ok(out)
}

/// Quotes each word and joins them with spaces.
pub fn words<S: AsRef<str>>(values: &[S], ctx: Context) -> Result<String, EscapeError> {
    let mut out = String::new();
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&word(v.as_ref(), ctx)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_doubles_specifiers_and_dollars() {
        assert_eq!(raw("a%b$c", Context::Exec).unwrap(), "a%%b$$c");
        assert_eq!(raw("a%b$c", Context::Specifiers).unwrap(), "a%%b$c");
    }

    #[test]
    fn raw_refuses_what_it_cannot_carry() {
        assert_eq!(raw("a\nb", Context::Exec), Err(EscapeError::Newline));
        assert_eq!(raw("a\0b", Context::Exec), Err(EscapeError::Nul));
        assert_eq!(raw(" a", Context::Exec), Err(EscapeError::Blank));
        assert_eq!(
            raw("a\\", Context::Exec),
            Err(EscapeError::TrailingBackslash)
        );
        assert_eq!(raw("", Context::Exec), Err(EscapeError::Empty));
    }

    #[test]
    fn words_quote_what_is_not_plain() {
        assert_eq!(word("plain-1.2", Context::Exec).unwrap(), "plain-1.2");
        assert_eq!(word("", Context::Exec), Err(EscapeError::EmptyWord));
        assert_eq!(
            word("a \"b\"\n\\ $X %h", Context::Exec).unwrap(),
            "\"a \\\"b\\\"\\n\\\\ $$X %%h\""
        );
        assert_eq!(word("[Service]", Context::Exec).unwrap(), "\"[Service]\"");
        assert!(word("a\0", Context::Exec).is_err());
    }

    #[test]
    fn single_refuses_what_quadlet_strips() {
        let q = Context::Quadlet;
        assert_eq!(single("a \"b\" c", q).unwrap(), "a \"b\" c");
        assert_eq!(single("\"a", q), Err(EscapeError::EdgeQuote));
        assert_eq!(single("a\"", q), Err(EscapeError::EdgeQuote));
        assert_eq!(single(";", q), Err(EscapeError::Semicolon));
        assert_eq!(raw(";", Context::Specifiers).unwrap(), ";");
        assert!(!is_raw_safe("echo \"ok\""));
    }

    #[test]
    fn strv_quotes_in_segments_without_escapes() {
        let q = Context::Quadlet;
        assert_eq!(strv("tag={{.Name}}", q).unwrap(), "tag={{.Name}}");
        assert_eq!(strv("a\\b", q).unwrap(), "a\\b");
        assert_eq!(strv("x y", q).unwrap(), "\"x y\"");
        assert_eq!(strv("a\"b", q).unwrap(), "\"a\"'\"'\"b\"");
        assert_eq!(strv("\"", q).unwrap(), "'\"'");
        assert_eq!(strv("end\\", q).unwrap(), "\"end\\\"");
        assert_eq!(strv("%$", q).unwrap(), "%%$$");
        assert_eq!(strv("a\nb", q), Err(EscapeError::Newline));
        assert_eq!(strv(";", q), Err(EscapeError::Semicolon));
    }

    #[test]
    fn quadlet_words_refuse_a_lone_semicolon_and_u0080() {
        assert_eq!(word(";", Context::Quadlet), Err(EscapeError::Semicolon));
        assert_eq!(word(";", Context::Exec).unwrap(), "\";\"");
        assert_eq!(word("a;", Context::Quadlet).unwrap(), "\"a;\"");
        assert!(word("\u{80}", Context::Quadlet).is_err());
        assert_eq!(unit_name("a b"), Err(EscapeError::NotUnitName));
        assert_eq!(unit_name("web@1.service").unwrap(), "web@1.service");
        assert_eq!(unit_name("web"), Err(EscapeError::NotUnitName));
        assert_eq!(unit_name(".service"), Err(EscapeError::NotUnitName));
    }
}
