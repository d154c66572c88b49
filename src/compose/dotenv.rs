//! Phase `dotenv`: `.env` and `env_file` parsing with compose's rules (compose-go's dotenv):
//! `export ` prefixes, `KEY=value` or `KEY: value`, `#` comments (inline only after whitespace in
//! unquoted values), single quotes literal (`\'` escapes a quote), double quotes with `\n \r \t \\
//! \" \$` escapes and multi-line values, `${}` substitution in unquoted and double-quoted values
//! (earlier keys of the same file first, then the caller's lookup), a bare `KEY` line inheriting
//! the caller's value, a leading UTF-8 BOM ignored.

use indexmap::IndexMap;

use super::template::{substitute, TemplateError, MAX_FILE_EXPANSION};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct DotenvError {
    pub line: usize,
    pub message: String,
}

/// Parses dotenv text. `lookup` supplies variables not defined earlier in the file.
pub fn parse(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<IndexMap<String, String>, DotenvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out: IndexMap<String, String> = IndexMap::new();
    let b = text.as_bytes();
    let mut i = 0;
    // Line numbers are counted as the parser moves forward, never from the start of the text again
    // (counting from the start for every entry made a 40 000-line file take 39 s).
    let mut lines = Lines {
        text,
        pos: 0,
        line: 1,
    };
    let mut line_of = |pos: usize| lines.at(pos);
    let mut budget = MAX_FILE_EXPANSION;
    while i < b.len() {
        // Skip blank space and comment lines.
        while i < b.len() && (b[i] as char).is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        if b[i] == b'#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        if text[i..].starts_with("export ") || text[i..].starts_with("export\t") {
            i += 6;
            while i < b.len() && is_space(b[i]) {
                i += 1;
            }
        }
        // The key runs to `=`, `:` or the end of the line.
        let key_start = i;
        let mut inherited = false;
        loop {
            if i >= b.len() || b[i] == b'\n' {
                inherited = true;
                break;
            }
            let c = b[i];
            if c == b'=' || c == b':' {
                break;
            }
            if !(is_space(c)
                || c == b'_'
                || c == b'.'
                || c == b'-'
                || c.is_ascii_alphanumeric()
                || c >= 0x80)
            {
                return Err(DotenvError {
                    line: line_of(start),
                    message: format!(
                        "unexpected character '{}' in variable name",
                        text[i..].chars().next().unwrap_or('?')
                    ),
                });
            }
            i += 1;
        }
        let key = text[key_start..i].trim_end().to_string();
        if key.contains(' ') || key.contains('\t') {
            return Err(DotenvError {
                line: line_of(start),
                message: format!("variable name '{key}' contains a space"),
            });
        }
        if key.is_empty() {
            return Err(DotenvError {
                line: line_of(start),
                message: "a line has a value but no variable name".into(),
            });
        }
        if inherited {
            if let Some(v) = out.get(&key).cloned().or_else(|| lookup(&key)) {
                out.insert(key, v);
            }
            continue;
        }
        i += 1; // the `=` or `:`
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        let line = line_of(start);
        let expand = |raw: &str, out: &IndexMap<String, String>| -> Result<String, DotenvError> {
            let look = |k: &str| out.get(k).cloned().or_else(|| lookup(k));
            substitute(raw, &look).map_err(|e| DotenvError {
                line,
                message: match e {
                    TemplateError::Required { var, message } => {
                        format!("required variable {var} is missing a value: {message}")
                    }
                    TemplateError::Invalid => format!("invalid interpolation format in '{raw}'"),
                    e => e.to_string(),
                },
            })
        };
        let value = match b.get(i) {
            Some(&q) if q == b'"' || q == b'\'' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != q {
                    // A backslash escapes the next character (`\"`, `\\`, `\'`).
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                if j >= b.len() {
                    return Err(DotenvError {
                        line,
                        message: "unterminated quoted value".into(),
                    });
                }
                let raw = &text[i + 1..j];
                i = j + 1;
                // Anything after the closing quote up to the end of line (a comment) is ignored.
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                if q == b'\'' {
                    raw.replace("\\'", "'")
                } else {
                    expand(&unescape_double(raw), &out)?
                }
            }
            _ => {
                let end = text[i..].find('\n').map(|e| i + e).unwrap_or(b.len());
                let mut raw = &text[i..end];
                if let Some(c) = find_inline_comment(raw) {
                    raw = &raw[..c];
                }
                i = end;
                expand(raw.trim_end(), &out)?
            }
        };
        budget = budget
            .checked_sub(key.len() + value.len())
            .ok_or_else(|| DotenvError {
                line,
                message: format!(
                    "the variables of this file expand to more than {MAX_FILE_EXPANSION} bytes in \
                 all; refusing to load"
                ),
            })?;
        out.insert(key, value);
    }
    Ok(out)
}

/// The line of a byte position, for positions that only move forward.
struct Lines<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl Lines<'_> {
    fn at(&mut self, pos: usize) -> usize {
        if pos > self.pos {
            self.line += self.text.as_bytes()[self.pos..pos]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.pos = pos;
        }
        self.line
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | 0x0b | 0x0c)
}

/// Position of a ` #` comment in an unquoted value.
fn find_inline_comment(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    (1..b.len()).find(|&k| b[k] == b'#' && is_space(b[k - 1]))
}

/// Double-quote escapes. `\$` becomes `$$` so substitution leaves a literal `$`.
fn unescape_double(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('$') => out.push_str("$$"),
            Some(o) => out.push(o),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> IndexMap<String, String> {
        parse(s, &|k| (k == "GLOB").then(|| "g".to_string())).unwrap()
    }

    #[test]
    fn rules_checked_against_docker_compose() {
        let m = p(concat!(
            "A=a#b\nB=a #b\nC=\"x\\ty\\nz\\$w\\\"q\" # c\nD='l\\'s'\nE=$A-${A}\n",
            "F=\"${A:-def} $$ \\\\\"\nG='$A'\nexport H = 5\nI: colon\nJ=\"multi\nline\"\n",
            "K=${NOPE:-${A}x}\nL=${GLOB}\nGLOB\n"
        ));
        let want = [
            ("A", "a#b"),
            ("B", "a"),
            ("C", "x\ty\nz$w\"q"),
            ("D", "l's"),
            ("E", "a#b-a#b"),
            ("F", "a#b $ \\"),
            ("G", "$A"),
            ("H", "5"),
            ("I", "colon"),
            ("J", "multi\nline"),
            ("K", "a#bx"),
            ("L", "g"),
            ("GLOB", "g"),
        ];
        for (k, v) in want {
            assert_eq!(m.get(k).map(String::as_str), Some(v), "{k}");
        }
        assert_eq!(m.len(), want.len());
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("A=1\nB=\"open\n", &|_| None).unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse("INVALID LINE\n", &|_| None).unwrap_err();
        assert!(e.message.contains("space"), "{e}");
        // Lines counted forward across comments, blank lines and multi-line values.
        let mut big = String::from("# c\n\nM=\"a\nb\"\n");
        for i in 0..5000 {
            big.push_str(&format!("K{i}=v # c\n"));
        }
        big.push_str("BAD LINE\n");
        assert_eq!(parse(&big, &|_| None).unwrap_err().line, 5005);
    }

    #[test]
    fn expansion_is_bounded() {
        let mut s = String::from("V0=xx\n");
        for i in 1..=40 {
            s.push_str(&format!("V{i}=${{V{}}}${{V{}}}\n", i - 1, i - 1));
        }
        let e = parse(&s, &|_| None).unwrap_err();
        assert!(e.message.contains("longer than"), "{e}");
        assert_eq!(e.line, 21);
        // Many values each under the cap, over the file's budget together.
        let mut s = format!("A={}\n", "x".repeat(1000 * 1000));
        for i in 0..20 {
            s.push_str(&format!("B{i}=$A\n"));
        }
        let e = parse(&s, &|_| None).unwrap_err();
        assert!(e.message.contains("expand to more than"), "{e}");
    }
}
