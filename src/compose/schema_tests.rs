//! Unit tests of `schema`: types, names, casts, `!reset`, and what survives `extends`.

use super::schema::*;
use crate::compose::yaml::parse_str;
use std::path::Path;

fn errors(text: &str) -> Result<Vec<String>, String> {
    let n = parse_str(text, Path::new("c.yaml")).map_err(|e| e.to_string())?;
    check(&n)
        .map(|v| v.iter().map(ToString::to_string).collect())
        .map_err(|e| e.to_string())
}

#[test]
fn the_embedded_schema_compiles_and_accepts_a_full_service() {
    let ok = errors(concat!(
        "version: '3'\nname: x\nservices:\n  a:\n    image: x\n    user: '1'\n",
        "    environment: [A=1, A=1]\n    ports: ['80:80', {target: 81}]\n",
        "    networks: {n: {aliases: [b]}}\n    privileged: 'yes'\n    x-any: {k: 1}\n",
        "    healthcheck: {test: [CMD, 'true'], retries: '3'}\n    ulimits: {nofile: '5'}\n",
        "networks:\n  n: {external: 'true'}\n",
    ))
    .unwrap();
    assert!(ok.is_empty(), "{ok:?}");
}

#[test]
fn wrong_types_name_file_line_and_field() {
    let e = errors("services:\n  a:\n    image: x\n    user: 1000\n    ports: 80\n").unwrap();
    assert_eq!(
        e,
        [
            "c.yaml:4:11: error: services.a.user: must be a string, found an integer",
            "c.yaml:5:12: error: services.a.ports: must be a list, found an integer",
        ]
    );
    let e = errors("services:\n  a:\n    environment: 5\n").unwrap();
    assert_eq!(
        e,
        ["c.yaml:3:18: error: services.a.environment: must be a mapping or a list, found an integer"]
    );
    // Inside an alternative: the one the value has the shape of explains.
    let e = errors("services:\n  a:\n    ports:\n      - target: 80\n        published: [1]\n")
        .unwrap();
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with(
            "c.yaml:5:20: error: services.a.ports[0].published: must be an integer or a string"
        ),
        "{e:?}"
    );
    let e = errors("version: 3\nservices: {}\n").unwrap();
    assert_eq!(
        e,
        ["c.yaml:1:10: error: version: must be a string, found an integer"]
    );
}

#[test]
fn unknown_keys_and_duplicates_are_left_to_validate_but_bad_names_are_refused() {
    assert!(
        errors("services:\n  a:\n    imagee: x\n    ports: [{target: 1, publish: 2}]\n")
            .unwrap()
            .is_empty()
    );
    assert!(errors("services:\n  a:\n    cap_add: [A, A]\n")
        .unwrap()
        .is_empty());
    let e = errors("services:\n  'a b':\n    image: x\n").unwrap();
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].contains("services.a b: invalid name \"a b\" (a name must match ^[a-zA-Z0-9._-]+$)"),
        "{e:?}"
    );
    let e = errors("services:\n  a:\n    networks: {'a b': {}}\n").unwrap();
    assert!(
        e[0].contains("services.a.networks.a b: invalid name"),
        "{e:?}"
    );
}

#[test]
fn casts_are_checked_where_docker_compose_casts() {
    let e = errors("services:\n  a:\n    privileged: maybe\n").unwrap_err();
    assert!(
        e.starts_with(
            "c.yaml:3:17: error: services.a.privileged: must be a boolean, found \"maybe\""
        ),
        "{e}"
    );
    let e = errors("services:\n  a:\n    ports: [{target: x80}]\n").unwrap_err();
    assert!(
        e.contains("services.a.ports[0].target: must be an integer"),
        "{e}"
    );
    let e = errors("volumes:\n  v: {external: nope}\n").unwrap_err();
    assert!(e.contains("volumes.v.external: must be a boolean"), "{e}");
    // Not a cast field: a string stays a string.
    assert!(errors("services:\n  a:\n    image: maybe\n")
        .unwrap()
        .is_empty());
}

#[test]
fn a_reset_value_is_not_checked() {
    assert!(
        errors("services:\n  a:\n    ports: !reset 80\n    user: !reset 5\n")
            .unwrap()
            .is_empty()
    );
    let e = errors("services:\n  a:\n    dns: [!reset 1, 2]\n").unwrap();
    assert_eq!(
        e,
        ["c.yaml:3:21: error: services.a.dns[0]: must be a string, found an integer"]
    );
}

#[test]
fn only_values_that_survive_extends_count() {
    let other = parse_str(
        "services:\n  b:\n    user: 1\n    image: x\n",
        Path::new("o.yaml"),
    )
    .unwrap();
    let pending = check(&other).unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
    let mut kept = parse_str("services:\n  a:\n    image: x\n", Path::new("c.yaml")).unwrap();
    assert!(surviving(&kept, &pending).is_ok());
    let base = other.get("services").unwrap().get("b").unwrap().clone();
    kept.as_map_mut()
        .unwrap()
        .get_mut("services")
        .unwrap()
        .as_map_mut()
        .unwrap()
        .insert("a".into(), base);
    let e = surviving(&kept, &pending).unwrap_err().to_string();
    assert_eq!(
        e,
        "o.yaml:3:11: error: services.b.user: must be a string, found an integer"
    );
}
