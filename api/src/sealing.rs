//! The keys of field encryption and their rotation. The column type that encrypts and
//! decrypts is `entity::sealed::Sealed`; this module installs the process's keyring from the
//! settings (or, in development, a generated key file) and re-encrypts stored values under
//! the current key (`lifeflow rotate-keys`).

use crate::config::Config;
use base64::{Engine, engine::general_purpose::STANDARD as B64};
use entity::sealed::{self, Keyring};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, Value,
    sea_query::{Alias, Cond, Expr, ExprTrait, Func, Query},
};
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// Every sealed column, by table: what rotation walks. A test writes each through the API
/// and reads the raw rows back (`tests/e2e/encryption.rs`).
pub const SEALED_COLUMNS: &[(&str, &[&str])] = &[
    ("donors", &["date_of_birth", "phone", "address"]),
    ("blood_requests", &["patient_name", "medical_notes"]),
    ("consultations", &["symptoms", "diagnosis", "notes"]),
    ("prescriptions", &["medications", "instructions"]),
    ("medical_reports", &["clinical_notes", "findings"]),
    ("report_reviews", &["notes", "clinical_findings"]),
    ("transfusions", &["patient_reference"]),
    ("consultation_ratings", &["comment"]),
    ("risk_flags", &["resolution_note"]),
    ("care_calls", &["notes"]),
    ("coverages", &["member_number"]),
    (
        "medical_histories",
        &["allergies", "conditions", "medications", "surgeries"],
    ),
    ("users", &["mfa_secret"]),
];

/// A keyring from `ENCRYPTION_KEYS` and `BLIND_INDEX_KEY`.
pub fn keyring_from(keys: &str, blind_index_key: &str) -> Result<Keyring, String> {
    let keys = Keyring::parse_keys(keys)?;
    let blind = B64
        .decode(blind_index_key.trim())
        .map_err(|_| "BLIND_INDEX_KEY is not base64".to_string())?;
    Keyring::new(keys, blind)
}

/// Installs the process's keyring: from the settings, or outside production from the key
/// file (generated on first start, with a warning).
pub fn install(config: &Config) -> Result<(), String> {
    let ring = load(config)?;
    tracing::info!(key = ring.current_id(), "field encryption keys installed");
    sealed::install(ring);
    Ok(())
}

/// The keyring the settings name (see [`install`]), without installing it.
pub fn load(config: &Config) -> Result<Keyring, String> {
    Ok(match (&config.encryption_keys, &config.blind_index_key) {
        (Some(keys), Some(blind)) => keyring_from(keys, blind)?,
        _ if config.is_production() => {
            return Err("ENCRYPTION_KEYS and BLIND_INDEX_KEY are required in production".into());
        }
        _ => match key_file_path(config) {
            Some(path) => from_key_file(&path)?,
            None => {
                tracing::warn!(
                    "ENCRYPTION_KEYS is not set and the database is in memory: encrypting with \
                     keys that live only as long as this process"
                );
                generated()
            }
        },
    })
}

fn key_file_path(config: &Config) -> Option<PathBuf> {
    if let Some(p) = &config.key_file {
        return Some(p.clone());
    }
    if config.is_sqlite() {
        let path = config
            .database_url
            .trim_start_matches("sqlite://")
            .trim_start_matches("sqlite:");
        let path = path.split('?').next().unwrap_or_default();
        if path.is_empty() || path.contains(":memory:") || path.starts_with("file::memory") {
            return None;
        }
        return Some(PathBuf::from(format!("{path}.keys")));
    }
    Some(PathBuf::from("lifeflow.keys"))
}

fn generated_spec() -> (String, String) {
    let key: [u8; 32] = rand::random();
    let blind: [u8; 32] = rand::random();
    let id = format!("k{}", chrono::Utc::now().format("%Y%m%d"));
    (format!("{id}:{}", B64.encode(key)), B64.encode(blind))
}

fn generated() -> Keyring {
    let (keys, blind) = generated_spec();
    keyring_from(&keys, &blind).unwrap_or_else(|e| panic!("generated keys: {e}"))
}

fn from_key_file(path: &Path) -> Result<Keyring, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let (keys, blind) = generated_spec();
            let text = format!(
                "# LifeFlow development field-encryption keys. Losing this file loses the \
                 encrypted fields of the database beside it.\nENCRYPTION_KEYS={keys}\nBLIND_INDEX_KEY={blind}\n"
            );
            write_private(path, &text).map_err(|e| format!("{}: {e}", path.display()))?;
            tracing::warn!(
                file = %path.display(),
                "ENCRYPTION_KEYS is not set: generated field-encryption keys into this file. \
                 Keep it with the database (without it the encrypted fields are lost); \
                 production requires ENCRYPTION_KEYS and BLIND_INDEX_KEY"
            );
            text
        }
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
            .map(str::trim)
            .ok_or_else(|| format!("{}: no {name}", path.display()))
    };
    keyring_from(value("ENCRYPTION_KEYS")?, value("BLIND_INDEX_KEY")?)
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)?.write_all(text.as_bytes())
}

/// What a rotation did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// Rows rewritten.
    pub rows: u64,
    /// Rows changed by someone else between the read and the write (left to the next pass,
    /// which finds them under the current key if the writer had it).
    pub raced: u64,
}

/// Re-encrypts under the current key every sealed value that is not (an older key's, or a
/// plaintext from before encryption), `batch` rows per statement, while the server serves:
/// each row is rewritten only if it still holds what was read, so a concurrent write is
/// never overwritten. Donors' blind indexes are filled (all of them with `reindex`, after a
/// change of `BLIND_INDEX_KEY`). Passes repeat until one finds nothing to do (at most five).
pub async fn rotate(
    db: &DatabaseConnection,
    batch: u64,
    reindex: bool,
) -> Result<Rotation, String> {
    let ring = sealed::keyring();
    let mut total = Rotation::default();
    for pass in 0..5 {
        let mut this = Rotation::default();
        for (table, columns) in SEALED_COLUMNS {
            let r = rotate_table(db, &ring, table, columns, batch, reindex && pass == 0).await?;
            this.rows += r.rows;
            this.raced += r.raced;
        }
        total.rows += this.rows;
        total.raced += this.raced;
        if this.rows == 0 && this.raced == 0 {
            break;
        }
    }
    Ok(total)
}

async fn rotate_table(
    db: &DatabaseConnection,
    ring: &Keyring,
    table: &str,
    columns: &[&str],
    batch: u64,
    reindex: bool,
) -> Result<Rotation, String> {
    let prefix = format!("{}{}:", sealed::PREFIX, ring.current_id());
    let is_donors = table == "donors";
    let mut stale = Cond::any();
    for c in columns {
        let head = Func::cust(Alias::new("substr")).args([
            Expr::col(Alias::new(*c)),
            Expr::val(1),
            Expr::val(prefix.len() as i32),
        ]);
        stale = stale.add(
            Expr::col(Alias::new(*c))
                .is_not_null()
                .and(Expr::expr(head).ne(Expr::val(prefix.clone()))),
        );
    }
    if is_donors {
        stale = stale.add(Expr::col(Alias::new("phone_index")).is_null());
    }
    let err = |e: sea_orm::DbErr| format!("{table}: {e}");
    let mut out = Rotation::default();
    let mut after: Option<Uuid> = None;
    loop {
        let mut q = Query::select();
        q.from(Alias::new(table)).column(Alias::new("id"));
        for c in columns {
            q.column(Alias::new(*c));
        }
        let mut cond = Cond::all();
        if !reindex {
            cond = cond.add(stale.clone());
        }
        if let Some(a) = after {
            cond = cond.add(Expr::col(Alias::new("id")).gt(Expr::val(a)));
        }
        q.cond_where(cond)
            .order_by(Alias::new("id"), sea_orm::Order::Asc)
            .limit(batch);
        let rows = db.query_all(&q).await.map_err(err)?;
        let Some(last) = rows.last() else { break };
        after = Some(last.try_get_by_index::<Uuid>(0).map_err(err)?);
        for row in &rows {
            let id: Uuid = row.try_get_by_index(0).map_err(err)?;
            let mut changed = false;
            let mut update = Query::update();
            update
                .table(Alias::new(table))
                .and_where(Expr::col(Alias::new("id")).eq(Expr::val(id)));
            for (i, c) in columns.iter().enumerate() {
                let old: Option<String> = row.try_get_by_index(i + 1).map_err(err)?;
                let col = Alias::new(*c);
                let Some(old) = old else {
                    update.and_where(Expr::col(col).is_null());
                    continue;
                };
                let plain = ring.open(&old).map_err(|e| {
                    format!(
                        "{table}.{c} of {id}: cannot open ({e:?}); is its key in ENCRYPTION_KEYS?"
                    )
                })?;
                if is_donors && *c == "phone" {
                    changed = true;
                    update.value(
                        Alias::new("phone_index"),
                        Value::from(ring.blind_index(&plain)),
                    );
                }
                if !ring.is_current(&old) {
                    changed = true;
                    update.value(col.clone(), Value::from(ring.seal(&plain)));
                }
                update.and_where(Expr::col(col).eq(Expr::val(old)));
            }
            if !changed {
                continue;
            }
            let done = db.execute(&update).await.map_err(err)?;
            if done.rows_affected() == 1 {
                out.rows += 1;
            } else {
                out.raced += 1;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn dev_config(db: &Path) -> Config {
        let mut m = HashMap::new();
        m.insert(
            "DATABASE_URL".to_string(),
            format!("sqlite://{}?mode=rwc", db.display()),
        );
        Config::from_map(&m).expect("config")
    }

    #[test]
    fn development_without_keys_writes_a_key_file_beside_the_database_once_and_reads_it_after() {
        let dir = std::env::temp_dir().join(format!("lifeflow-keys-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("dir");
        let config = dev_config(&dir.join("app.db"));

        let first = load(&config).expect("first start");
        let second = load(&config).expect("second start");

        let file = dir.join("app.db.keys");
        assert!(file.exists());
        let sealed = first.seal("1990-01-01");
        assert_eq!(second.open(&sealed), Ok("1990-01-01".to_string()));
        assert_eq!(first.blind_index("x"), second.blind_index("x"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
            assert_eq!(mode & 0o077, 0, "the key file is private");
        }
        std::fs::remove_dir_all(dir).ok();
    }
}
