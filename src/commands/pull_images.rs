//! `release-tool pull-images`.

use crate::cli::Args;

pub fn run(args: &Args) -> u8 {
    let _ = args;
    eprintln!("release-tool: pull-images: not implemented yet");
    super::exit::FAILURE
}
