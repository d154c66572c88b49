//! `release-tool rollback`.

use crate::cli::Args;

pub fn run(args: &Args) -> u8 {
    let _ = args;
    eprintln!("release-tool: rollback: not implemented yet");
    super::exit::FAILURE
}
