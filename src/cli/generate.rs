//! `hookbox completions <shell>` and `hookbox man`: shell completions and a man page, generated
//! from the same clap definitions that parse the command line, so they never drift from it.

use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory;

use super::Cli;

/// Options of `hookbox completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to write completions for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// Prints the completion script for `args.shell` to stdout.
pub fn completions(args: CompletionsArgs) -> ExitCode {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "hookbox", &mut std::io::stdout());
    ExitCode::SUCCESS
}

/// Prints the man page `hookbox(1)` (roff) to stdout.
pub fn man() -> ExitCode {
    let mut page = Vec::new();
    if let Err(e) = clap_mangen::Man::new(Cli::command()).render(&mut page) {
        eprintln!("hookbox man: {e}");
        return ExitCode::FAILURE;
    }
    match std::io::stdout().write_all(&page) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hookbox man: {e}");
            ExitCode::FAILURE
        }
    }
}
