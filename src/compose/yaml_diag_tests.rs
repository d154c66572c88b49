//! The table of broken YAML inputs: each one's place and words (`yaml_diag`).

use std::path::Path;

use crate::compose::yaml::{parse_str, read_file};

/// Each broken input: the place reported (`line:column`) and words the message must hold.
/// The place is the mistake's: the opening line of an unclosed bracket or quote, the line
/// that is wrong for the rest.
const BROKEN: &[(&str, &str, &str, &[&str])] = &[
    (
        "unclosed flow sequence, a key follows",
        "services:\n  s:\n    image: x\n    command: [a, b\n    ports: [\"1:1\"]\n",
        "4:19",
        &[
            "'[' opened at 4:14 is not closed",
            "missing ']' at the end of line 4",
        ],
    ),
    (
        "unclosed flow sequence at the end",
        "services:\n  s:\n    command: [a, b\n",
        "3:19",
        &["'[' opened at 3:14 is not closed"],
    ),
    (
        "unclosed flow mapping",
        "services:\n  s:\n    labels: {a: b\n    image: x\n",
        "3:18",
        &["'{' opened at 3:13 is not closed", "missing '}'"],
    ),
    (
        "unclosed flow mapping on the top line",
        "services: {s: {image: x}\n",
        "1:25",
        &["'{' opened at 1:11 is not closed"],
    ),
    (
        "unclosed double quote, a key follows",
        "services:\n  s:\n    image: \"x\n    ports: []\n",
        "3:12",
        &[
            "the \" opened at 3:12 is not closed",
            "missing \" at the end of line 3",
        ],
    ),
    (
        "unclosed double quote at the end",
        "services:\n  s:\n    image: \"x\n",
        "3:12",
        &["the \" opened at 3:12 is not closed"],
    ),
    (
        "unclosed single quote after an apostrophe in plain text and a comment",
        "services:\n  s: # it's\n    image: it's\n    command: [a, 'b\n",
        "4:18",
        &["the ' opened at 4:18 is not closed"],
    ),
    (
        "a bad escape in a closed quote is not an unclosed quote",
        "services:\n  s:\n    image: \"a\\qb\"\n",
        "3:14",
        &["'\\q' is no escape"],
    ),
    (
        "a dedent to no level",
        "services:\n  s:\n    image: x\n   ports: []\n",
        "4:4",
        &[
            "line 4 is indented to column 4",
            "line 3 at column 5",
            "'services' at column 3",
        ],
    ),
    (
        "a list item dedented to no level",
        "services:\n  s:\n    ports:\n      - \"1:1\"\n     - \"2:2\"\n",
        "5:6",
        &["line 5 is indented to column 6", "line 4 at column 7"],
    ),
    (
        "a key indented deeper than the one above",
        "services:\n  s:\n    image: x\n      ports: []\n",
        "4:7",
        &[
            "deeper than the key 'image' above it (3:5)",
            "indent it to column 5",
        ],
    ),
    (
        "tab indentation",
        "services:\n  s:\n\timage: x\n",
        "3:1",
        &["line 3 is indented with a tab", "spaces only"],
    ),
    (
        "a tab after spaces, found while reading the value above",
        "services:\n  s:\n    image: x\n  \t  ports: []\n",
        "4:3",
        &["line 4 is indented with a tab"],
    ),
    (
        "duplicate key",
        "services:\n  s:\n    image: x\n    image: y\n",
        "4:5",
        &["services.s.image:", "'image' is already defined at 3:5"],
    ),
    (
        "alias to no anchor",
        "services:\n  s:\n    image: *nope\n",
        "3:12",
        &[
            "alias '*nope' names no anchor",
            "'&nope' must be defined before it",
        ],
    ),
    (
        "anchor without a name",
        "services:\n  s:\n    image: &\n",
        "3:12",
        &["an anchor '&' needs a name"],
    ),
    (
        "alias without a name",
        "services:\n  s:\n    image: * x\n",
        "3:12",
        &["an alias '*' needs the name of an anchor"],
    ),
    (
        "block scalar whose text is not indented",
        "services:\n  s:\n    image: x\n    command: |\n  foo\n",
        "5:3",
        &[
            "block scalar '|' of 'command' (4:14) has no text",
            "deeper than 'command' (column 5)",
        ],
    ),
    (
        "a line that leaves a block scalar too early",
        "services:\n  s:\n    command: >-\n      foo\n    bar\n",
        "5:5",
        &[
            "'bar' stands where a key of 'services.s' goes",
            "a missing ':'",
        ],
    ),
    (
        "a line without ':' among keys",
        "services:\n  s:\n    image: x\n    foo\n    bar: 1\n",
        "4:5",
        &["'foo' stands where a key of 'services.s' goes"],
    ),
    (
        "key: value: x",
        "services:\n  s:\n    image: value: x\n",
        "3:17",
        &[
            "value of 'image' holds ': '",
            "quote it (image: \"value: x\")",
        ],
    ),
    (
        "- key: value: x",
        "services:\n  s:\n    environment:\n      - A: b: c\n",
        "4:13",
        &["value of 'A' holds ': '"],
    ),
    (
        "a key whose ':' has no space after it, two lines up",
        "services:\n  s:\n    volumes:,\n      - a:/b\n    depends_on:\n      - x\n",
        "3:5",
        &[
            "'volumes:,' is read as text, not as a key",
            "the ':' on line 5 is out of place",
        ],
    ),
    (
        "a '[' opened before the parser opened it",
        "services:\n  s:\n    [environment:\n      A: b\n    image: x\n",
        "3:18",
        &["'[' opened at 3:5 is not closed"],
    ),
    (
        "a stray ','",
        "services:\n  s:\n    image: x\n  ,  command: y\n",
        "4:3",
        &["a stray ','", "no '[' or '{' is open here"],
    ),
    (
        "a stray '}' before a flow list",
        "services:\n  s:\n    command: }[a]\n",
        "3:14",
        &["a stray '}'"],
    ),
    (
        "an empty flow entry",
        "services:\n  s:\n    command: [,a]\n",
        "3:15",
        &["an empty entry in the '[' opened at 3:14"],
    ),
    (
        "text after a closing quote",
        "services:\n  s:\n    command: [\"a\", \"-p\"\", \"b\"]\n",
        "3:24",
        &["right after the closing \" of a quoted value"],
    ),
    (
        "two entries without a ','",
        "services:\n  s:\n    command: [\"a\" \"b\"]\n",
        "3:19",
        &["an entry of the '[' opened at 3:14: a missing ','?"],
    ),
    (
        "a quote left open that closes on a later line",
        "services:\n  s:\n    image: \"x\n      command: [\"a\"]\n",
        "3:12",
        &[
            "the \" opened at 3:12 is not closed on its line",
            "runs on to the \" at 4:17",
        ],
    ),
    (
        "text after a quoted value on the same line",
        "services:\n  s:\n    cpus: \"0.5\"    memory: 64M\n",
        "3:20",
        &["text right after the closing \" of a quoted value"],
    ),
    (
        "a block scalar with text on its line",
        "services:\n  s:\n    labels:\n    |  a: b\n",
        "4:5",
        &["a block scalar '|' takes its text on the lines below it"],
    ),
    (
        "a list item on its key's line",
        "services:\n  s:\n    ports: - 80\n",
        "3:12",
        &["a list item cannot start on the line of its key 'ports'"],
    ),
    (
        "a list item inside a flow mapping",
        "services:\n  s:\n    ports:\n  {    - 80\n",
        "4:8",
        &["a list item '- ' inside the '{' opened at 4:3"],
    ),
    (
        "a second ':'",
        "services:\n  s:\n    image: : x\n",
        "3:12",
        &["a second ':' after the key 'image'"],
    ),
    (
        "a stray '-' among keys",
        "services:\n  s:\n    image: x\n    -\n",
        "4:5",
        &["a list item '-' among the keys of 'services.s' (which start at 3:5)"],
    ),
    (
        "a key among list items",
        "services:\n  s:\n    - image: x\n    ports: []\n",
        "4:5",
        &[
            "'ports' stands among the items of the list 'services.s'",
            "a missing '- '?",
        ],
    ),
    (
        "a second document",
        "services: {}\n---\nservices: {}\n",
        "2:1",
        &["one YAML document, found a second"],
    ),
    (
        "a byte-order mark does not shift the place",
        "\u{feff}services:\n  s:\n    image: x\n   ports: []\n",
        "4:4",
        &["line 4 is indented to column 4"],
    ),
];

#[test]
fn each_syntax_error_says_what_and_where() {
    let mut wrong = Vec::new();
    for (name, text, place, words) in BROKEN {
        let e = match parse_str(text, Path::new("c.yaml")) {
            Ok(_) => {
                wrong.push(format!("{name}: parsed"));
                continue;
            }
            Err(e) => e.to_string(),
        };
        let at = format!("c.yaml:{place}: error: ");
        if !e.starts_with(&at) || words.iter().any(|w| !e.contains(w)) {
            wrong.push(format!("{name}:\n  got  {e}\n  want {at}… {words:?}"));
        }
        // The parser's own phrase is only the fallback.
        if e.contains("while parsing") || e.contains("did not find expected") {
            wrong.push(format!("{name}: the parser's words: {e}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_byte_that_is_not_utf8_is_placed() {
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("compose.yaml");
    std::fs::write(&f, b"services:\n  s:\n    image: \xc3\xa9\xff\n").unwrap();
    let e = read_file(&f, None).unwrap_err().to_string();
    let want = format!("{}:3:13: error: is not UTF-8 text: byte 0xff", f.display());
    assert!(e.starts_with(&want), "{e}");
}

#[test]
fn valid_text_that_looks_like_the_mistakes_parses() {
    for text in [
        "a: \"x\n  y\"\nb: it's\n",
        "a: |\n  it's \"x\n  [\nb: [1,\n  2]\n",
        "a: &x 1\nb: *x\n",
        "a: 'it''s'\n# \"\nb: 1\n",
    ] {
        assert!(parse_str(text, Path::new("c.yaml")).is_ok(), "{text:?}");
    }
}
