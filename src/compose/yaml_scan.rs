//! Reading broken YAML text by hand, for [`super::yaml_diag`]: which quote and which flow
//! brackets are open at a place, told from apostrophes and brackets in plain text by where they
//! stand. Only used once the parser has failed, to say why.

/// A line and column, 1-based.
pub(super) type Place = (usize, usize);

/// What is open where the parser stopped, read from the text: a quote (at or before the stop)
/// and the flow brackets (before it), each with its line and column.
#[derive(Debug, Default)]
pub(super) struct Scan {
    pub quote: Option<(char, usize, usize)>,
    pub flows: Vec<(char, usize, usize)>,
    /// The last quoted value closed before the stop: its quote, where it opened and closed.
    pub closed: Option<(char, Place, Place)>,
}

/// Reads the text up to the stop (a character offset) as far as quotes, flow brackets, comments
/// and block scalars go. Quotes and brackets are told from apostrophes and brackets in plain text
/// by where they stand (start of a value, list item, flow entry).
pub(super) fn scan(text: &str, stop: usize) -> Scan {
    let chars: Vec<char> = text.chars().collect();
    let (mut line, mut column) = (1, 0);
    let mut out = Scan::default();
    // Inside a block scalar: the indentation of its header line; deeper lines are its content.
    let mut block: Option<usize> = None;
    let mut at_line_start = true;
    let mut line_indent = 0;
    let mut i = 0;
    while i < chars.len() && i <= stop {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            column = 0;
            at_line_start = true;
            i += 1;
            continue;
        }
        column += 1;
        if at_line_start {
            at_line_start = false;
            let rest: String = chars[i..].iter().take_while(|c| **c != '\n').collect();
            let indent = rest.chars().take_while(|c| *c == ' ').count();
            line_indent = indent;
            if let Some(h) = block {
                if out.quote.is_none() && (rest.trim().is_empty() || indent > h) {
                    i += rest.chars().count();
                    column += rest.chars().count();
                    continue;
                }
                block = None;
            }
        }
        match out.quote {
            Some((q, _, _)) if c == q => {
                // '' inside single quotes is an escaped quote.
                if q == '\'' && chars.get(i + 1) == Some(&'\'') {
                    i += 2;
                    column += 1;
                    continue;
                }
                out.closed = out.quote.map(|(q, l, c)| (q, (l, c), (line, column)));
                out.quote = None;
            }
            Some(('"', _, _)) if c == '\\' => {
                i += 2;
                column += 1;
                continue;
            }
            Some(_) => {}
            None if c == '#' && (column == 1 || chars[i - 1].is_whitespace()) => {
                while i + 1 < chars.len() && chars[i + 1] != '\n' {
                    i += 1;
                }
            }
            None if (c == '"' || c == '\'') && starts_token(&chars, i) => {
                out.quote = Some((c, line, column));
            }
            None if i == stop => {}
            None if (c == '[' || c == '{') && starts_token(&chars, i) => {
                out.flows.push((c, line, column));
            }
            None if (c == ']' || c == '}') && !out.flows.is_empty() => {
                out.flows.pop();
            }
            None if (c == '|' || c == '>') && out.flows.is_empty() && starts_token(&chars, i) => {
                let rest: String = chars[i + 1..].iter().take_while(|c| **c != '\n').collect();
                let rest = rest.split(" #").next().unwrap_or("").trim();
                if rest
                    .chars()
                    .all(|c| c == '-' || c == '+' || c.is_ascii_digit())
                {
                    block = Some(line_indent);
                }
            }
            None => {}
        }
        i += 1;
    }
    out
}

/// Whether a quoted scalar whose text follows (`rest`, after the opening `q`) closes in it.
pub(super) fn closes(mut rest: impl Iterator<Item = char>, q: char) -> bool {
    while let Some(c) = rest.next() {
        match c {
            '\\' if q == '"' => {
                rest.next();
            }
            c if c == q => return true,
            _ => {}
        }
    }
    false
}

/// Whether the character at `i` stands where a YAML token starts: after indentation, `: `,
/// `- `, `? `, or a flow `[`, `{`, `,`.
fn starts_token(chars: &[char], i: usize) -> bool {
    let mut j = i;
    while j > 0 && chars[j - 1] == ' ' {
        j -= 1;
    }
    let spaced = j < i;
    match j.checked_sub(1).map(|k| chars[k]) {
        None | Some('\n') => true,
        Some('[' | '{' | ',') => true,
        Some(':' | '-' | '?') => spaced,
        _ => false,
    }
}
