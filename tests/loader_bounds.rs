//! Hostile repositories against the loader's budgets: variables that double each other, the
//! interpolation budget, alias, include and extends depth and fan-out; and the small items: port
//! ranges, a byte-order mark, control characters in messages. Each bound is an error naming the
//! file (and the field), never an out-of-memory crash or a stack overflow.

#[path = "hostile/support.rs"]
mod support;

use release_tool::compose::load_global_vars;
use support::{load, load_err, make_repo, GOOD};

/// 41 lines of `.env`, each variable twice the previous one: 2^40 bytes if expanded.
fn doubling_dotenv() -> String {
    let mut s = String::from("V0=xx\n");
    for i in 1..=40 {
        s.push_str(&format!("V{i}=${{V{}}}${{V{}}}\n", i - 1, i - 1));
    }
    s
}

#[test]
fn variables_that_double_each_other_are_refused_naming_the_file() {
    let env = doubling_dotenv();
    assert!(env.len() < 700, "{}", env.len());
    let (_tmp, r) = make_repo();
    let dir = r.join("services/bad");
    std::fs::write(dir.join(".env"), &env).expect("write");
    let e = load_err(&r, "bad", "must be refused");
    assert!(
        e.contains(&dir.join(".env").display().to_string()) && e.contains("longer than"),
        "{e}"
    );
    // The same file as an env_file, and as the values file.
    let (_tmp, repo) = make_repo();
    let dir = repo.join("services/bad");
    std::fs::write(dir.join("app.env"), &env).expect("write");
    std::fs::write(
        dir.join("compose.yaml"),
        format!("{GOOD}    env_file: ./app.env\n"),
    )
    .expect("write");
    let e = load_err(&repo, "bad", "env_file");
    assert!(e.contains("app.env") && e.contains("longer than"), "{e}");
    let values = dir.join("app.env");
    let e = load_global_vars(Some(&values), None)
        .map(|v| v.len())
        .expect_err("values file")
        .to_string();
    assert!(e.contains("app.env") && e.contains("longer than"), "{e}");
}

#[test]
fn interpolation_in_a_compose_file_is_bounded_in_all() {
    // Each value is under the per-value cap; together they are not.
    let (_tmp, repo) = make_repo();
    let dir = repo.join("services/bad");
    std::fs::write(dir.join(".env"), format!("BIG={}\n", "x".repeat(900_000))).expect("write");
    let mut compose = String::from("services:\n  web:\n    image: x\n    labels:\n");
    for i in 0..40 {
        compose.push_str(&format!("      l{i}: $BIG\n"));
    }
    std::fs::write(dir.join("compose.yaml"), compose).expect("write");
    let e = load_err(&repo, "bad", "must be refused");
    assert!(
        e.contains(&dir.join("compose.yaml").display().to_string())
            && e.contains("services.web.labels.l")
            && e.contains("expand to more than"),
        "{e}"
    );
}

#[test]
fn out_of_range_ports_are_errors_naming_the_field() {
    for (port, words) in [
        ("\"70000:80\"", "host port '70000'"),
        ("\"80:70000\"", "container port '70000'"),
        ("\"80:0\"", "container port '0'"),
        ("\"1-70000:1-70000\"", "out of range"),
        ("{target: 80, published: \"70000\"}", "host port '70000'"),
        ("{target: 70000}", "services.web.ports[0].target"),
    ] {
        let (_tmp, repo) = make_repo();
        let dir = repo.join("services/bad");
        std::fs::write(
            dir.join("compose.yaml"),
            format!("{GOOD}    ports: [{port}]\n"),
        )
        .expect("write");
        let e = load_err(&repo, "bad", port);
        assert!(
            e.contains("compose.yaml:4")
                && e.contains("services.web.ports[0]")
                && e.contains(words),
            "{port}: {e}"
        );
    }
}

#[test]
fn a_byte_order_mark_is_not_content() {
    let (_tmp, repo) = make_repo();
    let dir = repo.join("services/bad");
    std::fs::write(dir.join("compose.yaml"), format!("\u{feff}{GOOD}")).expect("write");
    std::fs::write(dir.join(".env"), "\u{feff}TAG=1\n").expect("write");
    let l = load(&repo, "bad").expect("a BOM is accepted");
    assert!(l.project.services.contains_key("web"));
}

#[test]
fn messages_do_not_carry_raw_control_characters() {
    let (_tmp, repo) = make_repo();
    let dir = repo.join("services/bad");
    std::fs::write(
        dir.join("compose.yaml"),
        format!("{GOOD}    env_file: \"x\\nrelease-tool: deployed generation 9\\r\\e[2J\"\n"),
    )
    .expect("write");
    let e = load_err(&repo, "bad", "missing env file");
    assert!(e.contains("env file"), "{e}");
    assert!(!e.chars().any(char::is_control), "{e:?}");
    assert!(e.contains("x\\nrelease-tool"), "{e}");
}

#[test]
fn include_depth_is_bounded_naming_the_file() {
    // A cycle (a includes b includes a) and a chain 20 files deep are both refused.
    let (_tmp, repo) = make_repo();
    let dir = repo.join("services/bad");
    std::fs::write(dir.join("compose.yaml"), "include: [./a.yaml]\n").expect("write");
    std::fs::write(dir.join("a.yaml"), format!("include: [./b.yaml]\n{GOOD}")).expect("write");
    std::fs::write(
        dir.join("b.yaml"),
        "include: [./a.yaml]\nservices:\n  b:\n    image: x\n",
    )
    .expect("write");
    let e = load_err(&repo, "bad", "include cycle");
    assert!(
        e.contains("include nested more than 16 levels") && e.contains(".yaml:1"),
        "{e}"
    );
    let (_tmp, repo) = make_repo();
    let dir = repo.join("services/bad");
    std::fs::write(dir.join("compose.yaml"), "include: [./i0.yaml]\n").expect("write");
    for i in 0..20 {
        std::fs::write(
            dir.join(format!("i{i}.yaml")),
            format!(
                "include: [./i{}.yaml]\nservices:\n  s{i}:\n    image: x\n",
                i + 1
            ),
        )
        .expect("write");
    }
    std::fs::write(dir.join("i20.yaml"), GOOD).expect("write");
    let e = load_err(&repo, "bad", "include chain");
    assert!(e.contains("include nested more than 16 levels"), "{e}");
}

/// Aliases of aliases nest a tree far deeper than the file's own nesting: refused at the limit
/// (it overflowed the stack of the recursive phases before), naming the file and line.
#[test]
fn nested_aliases_cannot_build_an_unbounded_tree() {
    let nest = |inner: &str| format!("{}{inner}{}", "[".repeat(120), "]".repeat(120));
    let mut text = format!("x-a0: &a0 {}\n", nest("1"));
    for k in 1..40 {
        text.push_str(&format!(
            "x-a{k}: &a{k} {}\n",
            nest(&format!("*a{}", k - 1))
        ));
    }
    text.push_str(GOOD);
    let (_tmp, repo) = make_repo();
    let file = repo.join("services/bad/compose.yaml");
    std::fs::write(&file, text).expect("write");
    let e = load_err(&repo, "bad", "nested aliases");
    assert!(
        e.contains(&format!("{}:3:", file.display())) && e.contains("aliases nest deeper than"),
        "{e}"
    );
}

/// A chain of 20 000 services each extending the next: refused at the depth limit, naming the
/// field (it overflowed the stack before).
#[test]
fn extends_chains_are_bounded() {
    let mut text = String::from("services:\n");
    for i in 0..20_000 {
        text.push_str(&format!("  s{i}:\n    image: x\n    extends: s{}\n", i + 1));
    }
    text.push_str("  s20000:\n    image: x\n");
    let (_tmp, repo) = make_repo();
    std::fs::write(repo.join("services/bad/compose.yaml"), text).expect("write");
    let e = load_err(&repo, "bad", "extends chain");
    assert!(
        e.contains("compose.yaml:") && e.contains(".extends: extends nested more than"),
        "{e}"
    );
}

/// Eight inclusions of the next file at each of 16 levels would load 8^16 files: refused once
/// the stack has included 256, naming the include entry.
#[test]
fn include_fan_out_is_bounded() {
    let (_tmp, repo) = make_repo();
    let dir = repo.join("services/bad");
    let list = |next: &str| format!("include: [{}]\n", [next; 8].join(", "));
    std::fs::write(
        dir.join("compose.yaml"),
        format!("{}{GOOD}", list("./l0.yaml")),
    )
    .expect("write");
    for d in 0..16 {
        let inc = if d < 15 {
            list(&format!("./l{}.yaml", d + 1))
        } else {
            String::new()
        };
        std::fs::write(
            dir.join(format!("l{d}.yaml")),
            format!("{inc}networks:\n  n:\n    driver: bridge\n"),
        )
        .expect("write");
    }
    let e = load_err(&repo, "bad", "include fan-out");
    assert!(e.contains("more than 256 files included"), "{e}");
    assert!(e.contains(".yaml:1:") && e.contains(": include["), "{e}");
}
