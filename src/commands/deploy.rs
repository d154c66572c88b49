//! `release-tool deploy`.

use crate::cli::Args;

pub fn run(args: &Args) -> u8 {
    let _ = args;
    eprintln!("release-tool: deploy: not implemented yet");
    super::exit::FAILURE
}
