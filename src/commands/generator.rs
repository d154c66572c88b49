//! The systemd user generator role (systemd.generator(7)).

/// `dirs`: the generator's one or three output directories (normal, early, late).
pub fn run(dirs: &[String]) -> u8 {
    let _ = dirs;
    eprintln!("release-tool-generator: not implemented yet");
    super::exit::FAILURE
}
