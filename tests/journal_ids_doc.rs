//! docs/deploy.md lists every `MESSAGE_ID=` the code logs, with the same id (operators copy them
//! into `journalctl MESSAGE_ID=…` and alerting rules).

use release_tool::logging::ids;

#[test]
fn the_docs_list_every_message_id() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/deploy.md")).unwrap();
    for (name, id) in ids::ALL {
        let row = format!("| `{name}` | `{id}` |");
        assert!(doc.contains(&row), "docs/deploy.md lacks the row {row}");
    }
    let rows = doc
        .lines()
        .filter(|l| l.starts_with("| `") && l.contains("` | `"))
        .count();
    assert!(rows >= ids::ALL.len());
}
