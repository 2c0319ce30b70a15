//! The `lifeflow` binary: parses the command line and hands over to the library.

use clap::Parser as _;

// mimalloc instead of glibc's malloc: the page's answer is built from many small
// allocations (decoded rows, GraphQL values, futures) freed on other threads; see
// BENCHMARKS.md "Issue 14: the page's cost per request".
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
