//! The command line: `serve` (default), `migrate`, `export-schema`, `create-admin`, `seed`,
//! `rotate-keys`.

use crate::{
    app::{Application, StartError, shutdown_signal},
    config::Config,
    db, schema, seed,
};
use clap::{Parser, Subcommand};

/// LifeFlow API server.
#[derive(Parser, Debug)]
#[command(name = "lifeflow", version, about)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Rebuild the analytics rollups of every past UTC day and month from the base tables
    /// (after rows were written or fixed by hand; the rollup job otherwise keeps them).
    RebuildRollups,
    /// Print the GraphQL schema (SDL), or write it to a file.
    ExportSchema {
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Create the first super admin, or promote an existing account. There is no default
    /// password: give one by flag or environment.
    CreateAdmin {
        /// The admin's email.
        #[arg(long, env = "ADMIN_EMAIL")]
        email: String,
        /// The admin's password (at least 12 characters).
        #[arg(long, env = "ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, env = "ADMIN_NAME", default_value = "Platform Administrator")]
        name: String,
    },
    /// Load the demo network and print its logins; with `--scale N`, generate the
    /// benchmark data set instead (N banks, 500 units each, N/4 hospitals, 250 requests per
    /// bank), deterministically.
    Seed {
        /// Generate the benchmark data set at this size.
        #[arg(long)]
        scale: Option<u32>,
        /// With `--scale`: add this many days of past requests, donations, unit events and
        /// camps, ending now (365 for the `network-stats` benchmark).
        #[arg(long, requires = "scale")]
        history_days: Option<u32>,
    },
    /// Re-encrypt every encrypted field not under the first key of `ENCRYPTION_KEYS` (and
    /// encrypt plaintext left from before encryption), in batches, while servers run. Run
    /// it after putting a new key first on every server; then the old key can be dropped.
    RotateKeys {
        /// Rows per statement.
        #[arg(long, default_value_t = 500)]
        batch: u64,
        /// Also recompute every blind index (after changing `BLIND_INDEX_KEY`).
        #[arg(long)]
        reindex: bool,
    },
}

/// Runs the command line.
pub async fn run(cli: Cli) -> Result<(), StartError> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::ExportSchema { out } => {
            let sdl = schema::sdl();
            match out {
                Some(path) => std::fs::write(path, sdl)?,
                None => print!("{sdl}"),
            }
            Ok(())
        }
        Command::Serve => {
            let config = Config::from_env()?;
            crate::telemetry::init(&config);
            let app = Application::build(config).await?;
            app.run_until(shutdown_signal()).await?;
            Ok(())
        }
        Command::RebuildRollups => {
            let config = Config::from_env()?;
            crate::telemetry::init(&config);
            let pool = db::connect(&config).await?;
            let r = crate::analytics::rollups::backfill(&pool, chrono::Utc::now())
                .await
                .map_err(|e| StartError::Other(format!("{}: {e:?}", e.code())))?;
            tracing::info!(closed = ?r.closed, "rollups rebuilt");
            Ok(())
        }
        Command::Migrate => {
            let config = Config::from_env()?;
            crate::telemetry::init(&config);
            let pool = db::connect(&config).await?;
            db::migrate(&pool).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::CreateAdmin {
            email,
            password,
            name,
        } => {
            let config = Config::from_env()?;
            crate::telemetry::init(&config);
            crate::sealing::install(&config).map_err(StartError::Other)?;
            let pool = db::connect(&config).await?;
            db::migrate(&pool).await?;
            let user = seed::create_admin(&config, &pool, &email, &password, &name)
                .await
                .map_err(|e| StartError::Other(format!("{}: {}", e.code(), e.public_message())))?;
            println!("super admin ready: {} ({})", user.email, user.id);
            Ok(())
        }
        Command::RotateKeys { batch, reindex } => {
            let config = Config::from_env()?;
            crate::telemetry::init(&config);
            crate::sealing::install(&config).map_err(StartError::Other)?;
            let pool = db::connect(&config).await?;
            db::migrate(&pool).await?;
            let r = crate::sealing::rotate(&pool, batch.max(1), reindex)
                .await
                .map_err(StartError::Other)?;
            println!(
                "rotate-keys: {} rows re-encrypted ({} changed meanwhile and were rechecked)",
                r.rows, r.raced
            );
            Ok(())
        }
        Command::Seed {
            scale,
            history_days,
        } => {
            let config = Config::from_env()?;
            crate::telemetry::init(&config);
            crate::sealing::install(&config).map_err(StartError::Other)?;
            let pool = db::connect(&config).await?;
            db::migrate(&pool).await?;
            let fail = |e: crate::error::AppError| {
                StartError::Other(format!("{}: {}", e.code(), e.public_message()))
            };
            match scale {
                None => seed::run(&config, &pool).await.map_err(fail)?,
                Some(n) => {
                    if config.is_production() {
                        return Err(StartError::Other(
                            "seed --scale is refused in production".into(),
                        ));
                    }
                    let password = std::env::var("SEED_PASSWORD")
                        .unwrap_or_else(|_| "scale-benchmark-password".into());
                    let hash = crate::auth::password::PasswordHasher::new(
                        config.argon2_memory_kib,
                        config.argon2_iterations,
                        1,
                    )
                    .map_err(fail)?
                    .hash(password.clone())
                    .await
                    .map_err(fail)?;
                    let r = seed::scale::run(&pool, n, &hash).await.map_err(fail)?;
                    println!(
                        "generated {} banks, {} hospitals, {} units, {} requests, {} NGOs, {} camps in {:.1} s; logins like scale-bb-00000@scale.example / {password}",
                        r.banks,
                        r.hospitals,
                        r.units,
                        r.requests,
                        r.ngo_ids.len(),
                        r.camps,
                        r.seconds
                    );
                    if let Some(days) = history_days.filter(|d| *d > 0) {
                        let h = seed::history::run(&pool, &r, days).await.map_err(fail)?;
                        println!(
                            "added {} days of history: {} requests, {} donors, {} donations, {} units, {} unit events, {} camps, {} registrations in {:.1} s",
                            h.days,
                            h.requests,
                            h.donors,
                            h.donations,
                            h.units,
                            h.unit_events,
                            h.camps,
                            h.registrations,
                            h.seconds
                        );
                    }
                }
            }
            Ok(())
        }
    }
}
