//! `release-tool determine-changes`.

use crate::cli::Args;

pub fn run(args: &Args) -> u8 {
    let _ = args;
    eprintln!("release-tool: determine-changes: not implemented yet");
    super::exit::FAILURE
}
