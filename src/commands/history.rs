//! `release-tool history [--format json]`: the generations, newest first, with revision, time and
//! outcome; `*` marks the current one.

use crate::cli::command::{Checkout, Format, HistoryOpts};
use crate::commands::context::Context;
use crate::commands::runtime::format_utc;
use crate::deploy::store::StateStore;

pub fn run(args: &HistoryOpts) -> u8 {
    let ctx = Context::new(&Checkout::default(), args.state_dir.as_deref());
    let Some(store) = StateStore::open_existing(&ctx.state_dir) else {
        eprintln!(
            "release-tool: no generations yet in {}",
            ctx.state_dir.display()
        );
        if args.format == Format::Json {
            println!("[]");
        }
        return super::exit::OK;
    };
    let current = store.current();
    let ids = match store.list() {
        Ok(ids) => ids,
        Err(e) => {
            eprintln!("release-tool: {e}");
            return super::exit::FAILURE;
        }
    };
    let mut rows = Vec::new();
    for id in ids.iter().rev() {
        match store.read_manifest(*id) {
            Ok(m) => rows.push(m),
            Err(e) => eprintln!("release-tool: generation {id}: {e}"),
        }
    }
    if args.format == Format::Json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|m| {
                serde_json::json!({
                    "id": m.id,
                    "current": Some(m.id) == current,
                    "git_rev": m.git_rev,
                    "created": format_utc(m.created),
                    "outcome": m.outcome.as_str(),
                    "message": m.message,
                    "stacks": m.stacks.keys().collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return super::exit::OK;
    }
    println!(
        "{:<4} {:<3} {:<21} {:<12} {:<12} STACKS",
        "GEN", "", "TIME", "REVISION", "OUTCOME"
    );
    for m in rows {
        let rev = m
            .git_rev
            .as_deref()
            .map(|r| &r[..r.len().min(12)])
            .unwrap_or("-");
        println!(
            "{:<4} {:<3} {:<21} {:<12} {:<12} {}{}",
            m.id,
            if Some(m.id) == current { "*" } else { "" },
            format_utc(m.created),
            rev,
            m.outcome.as_str(),
            m.stacks.keys().cloned().collect::<Vec<_>>().join(","),
            m.message.map(|x| format!("  ({x})")).unwrap_or_default()
        );
    }
    super::exit::OK
}
