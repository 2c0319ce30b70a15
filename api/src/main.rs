//! The `lifeflow` binary: parses the command line and hands over to the library.

use clap::Parser as _;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = lifeflow::cli::Cli::parse();
    match lifeflow::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lifeflow: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
