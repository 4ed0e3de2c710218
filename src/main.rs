//! The `invite-digest` binary: parse the command line, set up logging, run the command,
//! map the outcome to a sysexits exit code. Everything else lives in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    invite_digest::cli::main()
}
