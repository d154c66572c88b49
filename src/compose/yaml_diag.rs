//! Why a YAML file failed to parse, said in the file's terms and at the place of the mistake.
//!
//! yaml-rust2 reports where its scanner gave up and a phrase about its own state ("while parsing
//! a block mapping, did not find expected key"); the mistake is often earlier (a quote or `[`
//! not closed) or of another kind (a tab, a dedent to no level). We do not read its phrase:
//! from the text and the collections still open when it stopped, we find which known mistake
//! explains the stop, and fall back to its words only when none does.

use super::yaml_scan::{closes, scan, Scan};

/// A collection open when the parser stopped, outermost first.
#[derive(Debug, Clone)]
pub(super) struct Open {
    pub seq: bool,
    /// Opened by `[` or `{` (else a block collection).
    pub flow: bool,
    /// Where it starts (1-based): a block mapping at its first key, a block list at its first `-`.
    pub line: usize,
    pub column: usize,
    /// Its field path (`services.web`), empty for the top level.
    pub path: String,
}

/// Where the parser stopped: 1-based line and column, the byte offset, and its words.
pub(super) struct Stop<'a> {
    pub line: usize,
    pub column: usize,
    pub offset: usize,
    pub info: &'a str,
}

/// The place (line, column) and the message for a parse that stopped at `stop`.
pub(super) fn explain(text: &str, open: &[Open], stop: &Stop) -> (usize, usize, String) {
    let lines: Vec<&str> = text.lines().collect();
    let stop_char = text.get(..stop.offset).map_or(0, |s| s.chars().count());
    let scan = scan(text, stop_char);
    let found = unclosed_quote(text, &scan)
        .or_else(|| unclosed_flow(&lines, open, stop))
        .or_else(|| unclosed_flow_text(&lines, &scan, stop))
        .or_else(|| bad_escape(&lines, stop))
        .or_else(|| tab_indent(&lines, stop))
        .or_else(|| bad_alias(text, stop))
        .or_else(|| after_closing_quote(&lines, &scan, stop))
        .or_else(|| stray_flow_char(&lines, &scan, stop))
        .or_else(|| block_header_with_text(&lines, stop))
        .or_else(|| misplaced_dash(&lines, &scan, stop))
        .or_else(|| colon_in_value(&lines, stop))
        .or_else(|| list_and_keys_mixed(&lines, open, stop))
        .or_else(|| empty_block_scalar(&lines, stop))
        .or_else(|| dedent_to_no_level(&lines, open, stop))
        .or_else(|| key_without_colon(&lines, open, stop));
    match found {
        Some((line, column, what)) => (line, column, format!("YAML syntax error: {what}")),
        None => (
            stop.line,
            stop.column,
            format!("YAML syntax error: {}", stop.info),
        ),
    }
}

/// The line the parser stopped on, or, when it stopped past the end or on a blank line, the
/// last line before it with text: (1-based number, text).
fn stop_line<'a>(lines: &[&'a str], stop: &Stop) -> Option<(usize, &'a str)> {
    let last = stop.line.min(lines.len());
    (1..=last)
        .rev()
        .map(|n| (n, lines[n - 1]))
        .find(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
}

/// 1-based column of the first character that is not a space (or tab).
fn indent_of(line: &str) -> usize {
    line.chars().take_while(|c| *c == ' ' || *c == '\t').count() + 1
}

/// A quote that opens a scalar at or before the stop and is not closed before it, nor on its
/// own line.
fn unclosed_quote(text: &str, scan: &Scan) -> Option<(usize, usize, String)> {
    let (q, l, c) = scan.quote?;
    // Closed on its own line: the parser failed inside it (a bad escape), not for want of a quote.
    let opening = text.lines().nth(l - 1).unwrap_or("");
    if closes(opening.chars().skip(c), q) {
        return None;
    }
    Some((
        l,
        c,
        format!(
            "the {q} opened at {l}:{c} is not closed: a missing {q} at the end of line {l}? \
             (a quoted value that goes on over several lines indents them more than its key)"
        ),
    ))
}

/// A `[`/`{` opened on an earlier line and still open where the parser stopped (read from the
/// text: the parser may not have opened it yet when its scanner stops).
fn unclosed_flow_text(lines: &[&str], scan: &Scan, stop: &Stop) -> Option<(usize, usize, String)> {
    let &(open, line, column) = scan.flows.last().filter(|f| f.1 < stop.line)?;
    let close = if open == '[' { ']' } else { '}' };
    let end = lines.get(line - 1)?.trim_end().chars().count() + 1;
    Some((
        line,
        end,
        format!(
            "the '{open}' opened at {line}:{column} is not closed: a missing '{close}' at the end \
             of line {line}?"
        ),
    ))
}

/// The character where the parser stopped, and the one before it on its line.
fn at_stop(lines: &[&str], stop: &Stop) -> Option<(char, Option<char>)> {
    let src = lines.get(stop.line.checked_sub(1)?)?;
    let i = stop.column.checked_sub(1)?;
    let c = src.chars().nth(i)?;
    Some((c, i.checked_sub(1).and_then(|j| src.chars().nth(j))))
}

/// A `,`, `]` or `}` with no flow collection open, or an empty entry (`[a,,b]`, `[,a]`).
fn stray_flow_char(lines: &[&str], scan: &Scan, stop: &Stop) -> Option<(usize, usize, String)> {
    let (c, _) = at_stop(lines, stop)?;
    if !matches!(c, ',' | ']' | '}') {
        return None;
    }
    let src = lines[stop.line - 1];
    let before = src.chars().take(stop.column - 1).collect::<String>();
    let what = match scan.flows.last() {
        None => format!(
            "a stray '{c}': no '[' or '{{' is open here (a flow list or mapping closes what it \
             opens, on the same line or a later one)"
        ),
        Some(&(open, l, col)) if c == ',' && before.trim_end().ends_with(['[', '{', ',']) => {
            format!("an empty entry in the '{open}' opened at {l}:{col}: a ',' too many?")
        }
        _ => return None,
    };
    Some((stop.line, stop.column, what))
}

/// Text right after the closing quote of a quoted value (`"a"b`, `"-p""`).
fn after_closing_quote(lines: &[&str], scan: &Scan, stop: &Stop) -> Option<(usize, usize, String)> {
    let (c, _) = at_stop(lines, stop)?;
    if c.is_whitespace() || matches!(c, ',' | ']' | '}' | ':' | '#') {
        return None;
    }
    // The last character before the stop that is not a space closes a quoted value.
    let q = lines[stop.line - 1]
        .chars()
        .take(stop.column - 1)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .find(|c| *c != ' ')
        .filter(|b| *b == '"' || *b == '\'')?;
    // A quote left open on an earlier line closes here, and what follows is what it was
    // meant to open.
    if let Some((q, (l, c), (cl, cc))) = scan
        .closed
        .filter(|(_, o, (cl, _))| o.0 < *cl && *cl == stop.line)
    {
        return Some((
            l,
            c,
            format!(
                "the {q} opened at {l}:{c} is not closed on its line: it runs on to the {q} at \
                 {cl}:{cc}; a missing {q} at the end of line {l}?"
            ),
        ));
    }
    let adjacent = at_stop(lines, stop).and_then(|(_, b)| b) == Some(q);
    let what = match scan.flows.last() {
        Some(&(open, l, c)) if !(adjacent && c_is_quote(lines, stop)) => format!(
            "text right after the closing {q} of an entry of the '{open}' opened at {l}:{c}: a \
             missing ','?"
        ),
        _ => format!(
            "text right after the closing {q} of a quoted value: a stray {q}, or a value quoted \
             only in part? (quote all of it)"
        ),
    };
    Some((stop.line, stop.column, what))
}

fn c_is_quote(lines: &[&str], stop: &Stop) -> bool {
    matches!(at_stop(lines, stop), Some(('"' | '\'', _)))
}

/// `|` or `>` with text after it on its line.
fn block_header_with_text(lines: &[&str], stop: &Stop) -> Option<(usize, usize, String)> {
    let (c, _) = at_stop(lines, stop)?;
    if c != '|' && c != '>' {
        return None;
    }
    Some((
        stop.line,
        stop.column,
        format!(
            "a block scalar '{c}' takes its text on the lines below it, indented deeper than its \
             key; only a comment may follow it on its own line (quote the value to keep it on \
             one line)"
        ),
    ))
}

/// `key: - item` (a list item on its key's line), or `- ` inside `[…]`/`{…}`.
fn misplaced_dash(lines: &[&str], scan: &Scan, stop: &Stop) -> Option<(usize, usize, String)> {
    let (c, _) = at_stop(lines, stop)?;
    let src = lines[stop.line - 1];
    let next = src.chars().nth(stop.column);
    if c != '-' || !next.is_none_or(char::is_whitespace) {
        return None;
    }
    let what = match (scan.flows.last(), key_value(src)) {
        (Some(&(open, l, col)), _) => format!(
            "a list item '- ' inside the '{open}' opened at {l}:{col}: entries there are written \
             'a, b'; a stray '{open}'?"
        ),
        (None, Some((key, _))) => format!(
            "a list item cannot start on the line of its key '{key}': put '- …' on the next \
             line, indented deeper than '{key}' (or quote the value)"
        ),
        _ => return None,
    };
    Some((stop.line, stop.column, what))
}

/// A `"…"` value (starting where the parser stopped) holding `\x` where `x` is no escape.
fn bad_escape(lines: &[&str], stop: &Stop) -> Option<(usize, usize, String)> {
    const ESCAPES: &str = "0abt\tnvfre \"/\\N_LPxuU";
    let src = lines.get(stop.line.checked_sub(1)?)?;
    let mut chars = src.chars().enumerate().skip(stop.column.checked_sub(1)?);
    if chars.next().map(|(_, c)| c) != Some('"') {
        return None;
    }
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return None,
            '\\' => match chars.next() {
                Some((_, e)) if ESCAPES.contains(e) => {}
                Some((_, e)) => {
                    return Some((
                        stop.line,
                        i + 1,
                        format!(
                            "'\\{e}' is no escape in a double-quoted value: write '\\\\' for a \
                             backslash, or quote the value with ' instead"
                        ),
                    ))
                }
                None => return None,
            },
            _ => {}
        }
    }
    None
}

/// The parser failed inside a `[`/`{` opened on an earlier line: almost always that line's
/// missing `]`/`}`. Points at the end of the opening line.
fn unclosed_flow(lines: &[&str], open: &[Open], stop: &Stop) -> Option<(usize, usize, String)> {
    let o = open.last().filter(|o| o.flow && o.line < stop.line)?;
    let src = lines.get(o.line.checked_sub(1)?)?;
    let close = if o.seq { ']' } else { '}' };
    let opener = if o.seq { '[' } else { '{' };
    let end = src.trim_end().chars().count() + 1;
    Some((
        o.line,
        end,
        format!(
            "the '{opener}' opened at {}:{} is not closed: a missing '{close}' at the end of \
             line {}?",
            o.line, o.column, o.line
        ),
    ))
}

/// A tab in the indentation of the line the parser stopped on, or of the next one (a plain value
/// is scanned on into the next line before the tab is seen).
fn tab_indent(lines: &[&str], stop: &Stop) -> Option<(usize, usize, String)> {
    let (n, _) = stop_line(lines, stop)?;
    (n..=n + 1).find_map(|n| {
        let l = lines.get(n - 1)?;
        let lead: String = l.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
        let at = lead.find('\t')?;
        Some((
            n,
            at + 1,
            format!("line {n} is indented with a tab: YAML indents with spaces only"),
        ))
    })
}

/// `*name` naming no anchor, or `&`/`*` with no name, where the parser stopped.
fn bad_alias(text: &str, stop: &Stop) -> Option<(usize, usize, String)> {
    let rest: String = text.get(stop.offset..)?.chars().take(200).collect();
    let sigil = rest.chars().next().filter(|c| *c == '*' || *c == '&')?;
    let name: String = rest[1..]
        .chars()
        .take_while(|c| !c.is_whitespace() && !",[]{}".contains(*c))
        .collect();
    let what = match (sigil, name.is_empty()) {
        ('*', true) => "an alias '*' needs the name of an anchor after it".to_string(),
        ('&', true) => "an anchor '&' needs a name after it".to_string(),
        ('*', false) => format!(
            "the alias '*{name}' names no anchor: '&{name}' must be defined before it, in the \
             same file"
        ),
        _ => return None,
    };
    Some((stop.line, stop.column, what))
}

/// `key: a: b` (a plain value holding `: `), or a line indented deeper than the `key: value`
/// above it, which the parser reads as the rest of that value until it meets the `:`. Read from
/// the text: the scanner stops here before the parser has seen the key.
fn colon_in_value(lines: &[&str], stop: &Stop) -> Option<(usize, usize, String)> {
    let src = lines.get(stop.line.checked_sub(1)?)?;
    let at = src.char_indices().nth(stop.column.checked_sub(1)?)?.0;
    if !src[at..].starts_with(':') {
        return None;
    }
    // `key: value: x` on one line: the stop is past the line's first `: `.
    // (`value` is a slice of `src`: where it starts is how far into `src` it is.)
    let starts_at = |v: &str| v.as_ptr() as usize - src.as_ptr() as usize;
    if let Some((key, value)) = key_value(src).filter(|(_, v)| starts_at(v) <= at) {
        if value.starts_with(':') {
            return Some((
                stop.line,
                stop.column,
                format!("a second ':' after the key '{key}': a stray ':'?"),
            ));
        }
        return Some((
            stop.line,
            stop.column,
            format!(
                "the value of '{key}' holds ': ', which only a quoted value may: quote it \
                 ({key}: \"{}\")",
                value.replace('"', "\\\"")
            ),
        ));
    }
    let col = indent_of(src);
    let (pn, prev) = (1..stop.line)
        .rev()
        .map(|n| (n, lines[n - 1]))
        .find(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))?;
    // `key:` then lines of text (no `key:` among them) down to this `key:`: the text began a
    // value, and a key cannot follow it. Its first line is usually a key gone wrong.
    let ends_key = |l: &str| l.split(" #").next().unwrap_or("").trim_end().ends_with(':');
    let is_text = |l: &&str| !l.trim().is_empty() && !l.trim_start().starts_with('#');
    // The line that opened the value (`key:`), or none: the text starts the document.
    let k = (1..stop.line).rev().find(|n| ends_key(lines[n - 1]));
    let opened = (k.unwrap_or(0) + 1..stop.line)
        .find(|n| is_text(&lines[n - 1]))
        .filter(|first| {
            let text = &lines[first - 1..stop.line - 1];
            k.is_none_or(|k| indent_of(lines[k - 1]) < col)
                && text.iter().all(|l| !l.contains(": ") && !ends_key(l))
        });
    if let Some(first) = opened {
        let text = lines[first - 1].trim();
        return Some((
            first,
            indent_of(lines[first - 1]),
            format!(
                "'{text}' is read as text, not as a key (a key needs ': ' or ':' at the line \
                 end), so lines {first} to {} are one value and the ':' on line {} is out of \
                 place",
                stop.line - 1,
                stop.line
            ),
        ));
    }
    let (key, value) = key_value(prev)?;
    let kcol = indent_of(prev) + usize::from(prev.trim_start().starts_with("- ")) * 2;
    (col > kcol && !value.is_empty()).then(|| {
        (
            stop.line,
            col,
            format!(
                "line {} is indented deeper than the key '{key}' above it ({pn}:{kcol}), so it \
                 reads as the rest of that key's value; indent it to column {kcol} to make it a \
                 key beside '{key}'",
                stop.line
            ),
        )
    })
}

/// `  key: value # note` → (`key`, `value`), for a line holding a key and a plain value (also as
/// a list item `- key: value`).
fn key_value(line: &str) -> Option<(&str, &str)> {
    let body = line.trim_start();
    let body = body.strip_prefix("- ").unwrap_or(body);
    let (key, value) = body.split_once(": ")?;
    if key.is_empty() || key.starts_with(['"', '\'', '[', '{', '&', '*', '#']) {
        return None;
    }
    Some((key.trim(), value.split(" #").next().unwrap_or("").trim()))
}

/// A `- item` among a mapping's keys, or a `key:` among a list's items, at the same indentation.
fn list_and_keys_mixed(
    lines: &[&str],
    open: &[Open],
    stop: &Stop,
) -> Option<(usize, usize, String)> {
    let (n, l) = stop_line(lines, stop)?;
    let col = indent_of(l);
    let body = l.trim_start();
    let dash = body == "-" || body.starts_with("- ");
    let o = open.iter().rev().find(|o| !o.flow)?;
    let name = shown_path(&o.path);
    if dash && !o.seq && col == o.column {
        return Some((
            n,
            col,
            format!(
                "a list item '-' among the keys of {name} (which start at {}:{}): a mapping \
                 cannot also hold list items",
                o.line, o.column
            ),
        ));
    }
    if !dash && o.seq && col == o.column {
        return Some((
            n,
            col,
            format!(
                "'{}' stands among the items of the list {name} (which starts at {}:{}): a \
                 list cannot also hold keys; a missing '- '?",
                body.split(':').next().unwrap_or(body).trim(),
                o.line,
                o.column
            ),
        ));
    }
    None
}

/// `key: |` (or `>`) whose next line is not indented deeper than the key: the block scalar is
/// empty and its text stands where a key should.
fn empty_block_scalar(lines: &[&str], stop: &Stop) -> Option<(usize, usize, String)> {
    let (last, _) = stop_line(lines, stop)?;
    // The nearest header above the stop whose next line with text is not deeper than it.
    for h in (1..last).rev() {
        let head = lines[h - 1];
        let Some((key, ind)) = block_header(head) else {
            continue;
        };
        let hcol = indent_of(head);
        let next = (h + 1..=last).find(|n| !lines[n - 1].trim().is_empty())?;
        let ncol = indent_of(lines[next - 1]);
        if ncol > hcol {
            return None;
        }
        return Some((
            next,
            ncol,
            format!(
                "the block scalar '{ind}' of '{key}' ({h}:{}) has no text: its lines must be \
                 indented deeper than '{key}' (column {hcol}); line {next} is at column {ncol}",
                head.find(ind).map_or(0, |i| i + 1)
            ),
        ));
    }
    None
}

/// `key: |-` → (`key`, `|`): a block scalar header line, the value being only `|` or `>` and
/// its indicators (and a comment).
fn block_header(line: &str) -> Option<(String, char)> {
    let (key, value) = line.split_once(": ")?;
    let value = value.split(" #").next().unwrap_or("").trim();
    let ind = value.chars().next().filter(|c| *c == '|' || *c == '>')?;
    value[1..]
        .chars()
        .all(|c| c == '-' || c == '+' || c.is_ascii_digit())
        .then(|| {
            let key = key.trim().trim_start_matches("- ").to_string();
            (key, ind)
        })
}

/// A line that dedents to a column no open block starts at.
fn dedent_to_no_level(
    lines: &[&str],
    open: &[Open],
    stop: &Stop,
) -> Option<(usize, usize, String)> {
    let (n, l) = stop_line(lines, stop)?;
    let col = indent_of(l);
    let blocks: Vec<&Open> = open.iter().filter(|o| !o.flow).collect();
    if blocks.is_empty() || blocks.iter().any(|o| o.column == col) {
        return None;
    }
    let mut levels = Vec::new();
    if let Some((pn, prev)) = (1..n)
        .rev()
        .map(|k| (k, lines[k - 1]))
        .find(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
    {
        let pcol = indent_of(prev);
        if pcol != col && !blocks.iter().any(|o| o.column == pcol) {
            levels.push(format!("line {pn} at column {pcol}"));
        }
    }
    levels.extend(blocks.iter().rev().take(3).map(|o| {
        let what = if o.seq { "the items of" } else { "the keys of" };
        format!("{what} {} at column {}", shown_path(&o.path), o.column)
    }));
    Some((
        n,
        col,
        format!(
            "line {n} is indented to column {col}, which lines up with nothing above it ({})",
            levels.join(", ")
        ),
    ))
}

/// A line standing where a key goes, with no `:`.
fn key_without_colon(lines: &[&str], open: &[Open], stop: &Stop) -> Option<(usize, usize, String)> {
    let (last, _) = stop_line(lines, stop)?;
    // A key without ':' runs on into the lines below it (a plain key may span lines) before
    // the parser gives up: a few lines above the stop too, the nearest at the keys' column of
    // an open mapping (a dedented one included: the parser may not have closed the inner ones).
    let maps: Vec<&Open> = open.iter().filter(|o| !o.flow && !o.seq).collect();
    let (n, l, o) = (last.saturating_sub(3).max(1)..=last)
        .rev()
        .map(|n| (n, lines[n - 1]))
        .filter(|(_, l)| !l.trim().is_empty() && !is_key_line(l.trim()))
        .find_map(|(n, l)| {
            let o = maps.iter().rev().find(|o| o.column == indent_of(l))?;
            Some((n, l, *o))
        })?;
    let (col, body) = (indent_of(l), l.trim());
    Some((
        n,
        col,
        format!(
            "'{body}' stands where a key of {} goes, but is no 'key:' (a missing ':', or a \
             ':' with no space after it?)",
            shown_path(&o.path)
        ),
    ))
}

/// Whether a line's text reads as `key:`, `key: value`, a list item or a comment.
fn is_key_line(body: &str) -> bool {
    let b = body.split(" #").next().unwrap_or("").trim_end();
    b.ends_with(':')
        || b.contains(": ")
        || b == "-"
        || b.starts_with("- ")
        || b.starts_with(['#', '?'])
}

fn shown_path(path: &str) -> String {
    if path.is_empty() {
        "the top level".to_string()
    } else {
        format!("'{path}'")
    }
}

#[cfg(test)]
#[path = "yaml_diag_tests.rs"]
mod tests;
