//! The same server as `lifeflow` with the system allocator (glibc's malloc) instead of
//! mimalloc: built beside it at no cost (the library is shared) so the allocator can be
//! measured A/B in one sitting (`bench/page-ab.py`, BENCHMARKS.md "Issue 14: the page's cost
//! per request"). Not for deployment.

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
