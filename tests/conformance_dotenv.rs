//! compose-go's dotenv fixtures against the expectations written in its `godotenv_test.go`
//! (TestLoadPlainEnv, TestLoadExportedEnv, TestLoadEqualsEnv, TestLoadQuotedEnv,
//! TestLoadUnquotedEnv, TestSubstitutions). Runs without docker compose; `conformance.rs` also
//! compares every fixture with docker compose itself.

use std::path::{Path, PathBuf};

use release_tool::compose::dotenv;

fn fixtures() -> Option<PathBuf> {
    let shared = PathBuf::from("/work/shared/corpus/compose-go/dotenv/fixtures");
    if shared.is_dir() {
        return Some(shared);
    }
    let rel =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/compose-go/dotenv/fixtures");
    rel.is_dir().then_some(rel)
}

fn check(name: &str, expected: &[(&str, &str)]) {
    let Some(dir) = fixtures() else {
        if std::env::var("RELEASE_TOOL_REQUIRE_LAB").as_deref() == Ok("1") {
            panic!("the compose-go dotenv fixtures are missing");
        }
        eprintln!("skipped: the compose-go dotenv fixtures are missing");
        return;
    };
    let text = std::fs::read_to_string(dir.join(name)).expect("fixture");
    let got = dotenv::parse(&text, &|_| None).expect("parses");
    for (k, v) in expected {
        assert_eq!(got.get(*k).map(String::as_str), Some(*v), "{name}: {k}");
    }
}

#[test]
fn plain() {
    check(
        "plain.env",
        &[
            ("OPTION_A", "1"),
            ("OPTION_B", "2"),
            ("OPTION_C", "3"),
            ("OPTION_D", "4"),
            ("OPTION_E", "5"),
        ],
    );
}

#[test]
fn exported() {
    check("exported.env", &[("OPTION_A", "2"), ("OPTION_B", "\\n")]);
}

#[test]
fn equals() {
    check(
        "equals.env",
        &[(
            "OPTION_A",
            "postgres://localhost:5432/database?sslmode=disable",
        )],
    );
}

#[test]
fn quoted() {
    check(
        "quoted.env",
        &[
            ("OPTION_A", "1"),
            ("OPTION_B", "2"),
            ("OPTION_C", ""),
            ("OPTION_D", "\\n"),
            ("OPTION_E", "1"),
            ("OPTION_F", "2"),
            ("OPTION_G", ""),
            ("OPTION_H", "\n"),
            ("OPTION_I", "echo 'asd'"),
            ("OPTION_J", "first line\nsecond line\nthird line\nand so on"),
            ("OPTION_Z", "last value"),
        ],
    );
}

#[test]
fn unquoted() {
    check(
        "unquoted.env",
        &[
            ("OPTION_A", "some quoted phrase"),
            ("OPTION_B", "first one with an unquoted phrase"),
            ("OPTION_C", "then another one with an unquoted phrase"),
            (
                "OPTION_D",
                "then another one with an unquoted phrase special è char",
            ),
            ("OPTION_E", "then another one quoted phrase"),
        ],
    );
}

#[test]
fn substitutions() {
    check(
        "substitutions.env",
        &[
            ("OPTION_A", "1"),
            ("OPTION_B", "1"),
            ("OPTION_C", "1"),
            ("OPTION_E", ""),
        ],
    );
}

#[test]
fn invalid_line_is_refused() {
    let Some(dir) = fixtures() else { return };
    let text = std::fs::read_to_string(dir.join("invalid1.env")).expect("fixture");
    assert!(dotenv::parse(&text, &|_| None).is_err());
}
