//! The throwaway database a benchmark runs on.

use crate::{DbKind, setup::Res};
use sea_orm::{ConnectionTrait, Database};
use std::path::PathBuf;
use uuid::Uuid;

/// A fresh database, removed by [`Target::remove`].
pub struct Target {
    /// The URL the server connects to.
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl Target {
    /// Creates a database with a unique name: a file in the temporary directory, or a
    /// Postgres database created through `admin_url`.
    pub async fn create(kind: DbKind, admin_url: &str) -> Res<Self> {
        let tag = Uuid::new_v4().simple().to_string();
        match kind {
            DbKind::Sqlite => {
                let path = std::env::temp_dir().join(format!("lifeflow-bench-{tag}.db"));
                Ok(Self {
                    url: format!("sqlite://{}?mode=rwc", path.display()),
                    cleanup: Cleanup::Sqlite(path),
                })
            }
            DbKind::Postgres => {
                let name = format!("lifeflow_bench_{tag}");
                let admin = Database::connect(admin_url).await?;
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await?;
                admin.close().await.ok();
                let base = admin_url
                    .rsplit_once('/')
                    .map_or(admin_url, |(base, _)| base);
                Ok(Self {
                    url: format!("{base}/{name}"),
                    cleanup: Cleanup::Postgres {
                        admin_url: admin_url.to_string(),
                        name,
                    },
                })
            }
        }
    }

    /// Deletes the database; failures are reported, not fatal.
    pub async fn remove(self) {
        match self.cleanup {
            Cleanup::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Postgres { admin_url, name } => {
                let dropped = async {
                    let admin = Database::connect(&admin_url).await?;
                    admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await?;
                    admin.close().await?;
                    Ok::<_, sea_orm::DbErr>(())
                }
                .await;
                if let Err(e) = dropped {
                    eprintln!("could not drop database {name}: {e}");
                }
            }
        }
    }
}
