//! The man page's per-command option lists, rendered as roff from [`super::COMMANDS`] and
//! [`super::FLAGS`], the same table `--help` and the completion scripts come from.
//! `man/release-tool.1` holds the output between [`BEGIN`] and [`END`]; `tests/man.rs` fails
//! when it differs (and rewrites it with `RELEASE_TOOL_BLESS_MAN=1`).

use super::{CommandSpec, COMMANDS};

/// The line that opens the generated region of the man page.
pub const BEGIN: &str = ".\\\" BEGIN GENERATED from src/cli.rs (COMMANDS, FLAGS): do not edit; \
                         RELEASE_TOOL_BLESS_MAN=1 cargo test --test man rewrites it";
/// The line that closes it.
pub const END: &str = ".\\\" END GENERATED";

/// The section heading of the generated region.
pub const SECTION: &str = "OPTIONS BY COMMAND";

/// `text` as roff text: backslashes and hyphens escaped, quotes as `\(dq`, and a line that
/// would start with a control character (`.` or `'`) guarded.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            '"' => out.push_str("\\(dq"),
            c => out.push(c),
        }
    }
    if out.starts_with(['.', '\'']) {
        out.insert_str(0, "\\&");
    }
    out
}

/// One command's subsection: its synopsis line, what it does, and each option it takes.
fn command_section(c: &CommandSpec) -> String {
    let mut out = String::new();
    let args = if c.args.is_empty() {
        String::new()
    } else {
        format!(" {}", c.args)
    };
    out.push_str(&format!(".SS \"{}{}\"\n", escape(c.name), escape(&args)));
    out.push_str(&escape(c.summary));
    out.push('\n');
    for f in c.options() {
        out.push_str(".TP\n");
        match f.value {
            Some(v) => out.push_str(&format!(
                ".BI \\-\\-{} \" {}\"\n",
                escape(f.name),
                escape(v)
            )),
            None => out.push_str(&format!(".B \\-\\-{}\n", escape(f.name))),
        }
        out.push_str(&escape(&c.option_help(f)));
        out.push('\n');
    }
    for (short, long, help) in super::GLOBAL_SWITCHES {
        out.push_str(&format!(
            ".TP\n.BR \\-{short} \", \" \\-\\-{long}\n{}\n",
            escape(help)
        ));
    }
    out
}

/// The generated region, [`BEGIN`] to [`END`] inclusive, each line ending in a newline.
pub fn options_by_command() -> String {
    let mut out = format!("{BEGIN}\n.SH {SECTION}\n");
    out.push_str(
        "The options each command takes (the same list as\n.BI \"release-tool \" COMMAND \" \\-\\-help\"\n\
         prints); see\n.B OPTIONS\nfor what each does in full.\n",
    );
    for c in COMMANDS {
        out.push_str(&command_section(c));
    }
    out.push_str(END);
    out.push('\n');
    out
}

/// `page` with its generated region replaced by `region`; None when the page has no region.
pub fn replace_region(page: &str, region: &str) -> Option<String> {
    let start = page.find(BEGIN)?;
    let end = start + page[start..].find(END)? + END.len();
    let end = if page[end..].starts_with('\n') {
        end + 1
    } else {
        end
    };
    Some(format!("{}{region}{}", &page[..start], &page[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_roff() {
        assert_eq!(escape("--a \"b\" c\\d"), "\\-\\-a \\(dqb\\(dq c\\ed");
        assert_eq!(escape(".x"), "\\&.x");
        assert_eq!(escape("'x"), "\\&'x");
    }

    #[test]
    fn every_command_and_option_is_in_the_region() {
        let r = options_by_command();
        assert!(r.starts_with(BEGIN) && r.ends_with(&format!("{END}\n")));
        for c in COMMANDS {
            let head = format!(".SS \"{}", escape(c.name));
            let at = r.find(&head).unwrap_or_else(|| panic!("no {head}"));
            let body = &r[at + head.len()..];
            let body = &body[..body.find(".SS ").unwrap_or(body.len())];
            for f in c.options() {
                assert!(
                    body.contains(&format!("\\-\\-{}", escape(f.name))),
                    "{} --{}",
                    c.name,
                    f.name
                );
            }
        }
        let page = format!("a\n{BEGIN}\nold\n{END}\nb\n");
        assert_eq!(replace_region(&page, "new\n").unwrap(), "a\nnew\nb\n");
        assert!(replace_region("a\n", "x").is_none());
    }
}
