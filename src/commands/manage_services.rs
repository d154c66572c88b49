//! `release-tool manage-services restart|status`.

use crate::cli::Args;

pub fn run(args: &Args) -> u8 {
    match args.positional.first().map(String::as_str) {
        Some("restart") => restart(args),
        Some("status") => status(args),
        _ => {
            eprintln!("release-tool: manage-services needs 'restart' or 'status'");
            super::exit::USAGE
        }
    }
}

pub fn restart(args: &Args) -> u8 {
    let _ = args;
    eprintln!("release-tool: manage-services restart: not implemented yet");
    super::exit::FAILURE
}

pub fn status(args: &Args) -> u8 {
    let _ = args;
    eprintln!("release-tool: status: not implemented yet");
    super::exit::FAILURE
}
