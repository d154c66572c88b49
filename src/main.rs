//! release-tool: dispatch on argv[0] (the generator role) and the subcommand. The work lives in
//! the library; see `commands`.

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use release_tool::logging::{self, Verbosity};
use release_tool::{cli, commands};

fn main() -> ExitCode {
    let mut argv: Vec<OsString> = std::env::args_os().collect();
    let argv0 = argv.first().cloned().unwrap_or_default();
    let name = Path::new(&argv0)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("");
    if name.ends_with("-generator") {
        // systemd.generator(7): called with one or three directory arguments.
        let dirs: Vec<String> = argv
            .iter()
            .skip(1)
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        return ExitCode::from(commands::generator::run(&dirs));
    }
    if argv.len() <= 1 {
        eprint!("{}", cli::USAGE);
        return ExitCode::from(commands::exit::USAGE);
    }
    argv.remove(0);
    let args = match cli::parse(argv) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("release-tool: {e}\n(see release-tool --help)");
            return ExitCode::from(commands::exit::USAGE);
        }
    };
    if args.version {
        commands::quiet_on_closed_pipe();
        println!("release-tool {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    if args.help || args.command.is_empty() || args.command == "help" {
        commands::quiet_on_closed_pipe();
        // `help COMMAND`, `COMMAND --help`, `COMMAND -h`: that command's usage.
        let topic = match args.command.as_str() {
            "" => None,
            "help" => args.positional.first().map(String::as_str),
            c => Some(c),
        };
        match topic {
            None => print!("{}", cli::USAGE),
            Some(t) => match cli::command(t) {
                Some(c) => print!("{}", cli::command_usage(c)),
                None => {
                    let hint = cli::closest_command(t)
                        .map(|n| format!(": did you mean '{n}'?"))
                        .unwrap_or_default();
                    eprintln!(
                        "release-tool: unknown command '{t}'{hint} (see release-tool --help)"
                    );
                    return ExitCode::from(commands::exit::USAGE);
                }
            },
        }
        return ExitCode::SUCCESS;
    }
    let command = match cli::check(&args).and_then(|()| args.command()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("release-tool: {e}");
            return ExitCode::from(commands::exit::USAGE);
        }
    };
    let verbosity = match (args.quiet, args.verbose) {
        (true, true) => {
            eprintln!("release-tool: --quiet and --verbose contradict each other");
            return ExitCode::from(commands::exit::USAGE);
        }
        (true, false) => Verbosity::Quiet,
        (false, true) => Verbosity::Verbose,
        (false, false) => Verbosity::Normal,
    };
    logging::init(verbosity);
    let code = commands::dispatch(&command);
    logging::finish();
    ExitCode::from(code)
}
