//! Background jobs: every instance runs them; the work itself is claimed row by row
//! (`FOR UPDATE SKIP LOCKED` on Postgres, the write lock on SQLite), so no step is done twice.
//! A failing tick is logged and the next tick tries again.

use crate::{db, requests::service, state::AppState};
use std::time::Duration;

/// Rows one tick handles per job, so a backlog cannot hold a transaction for long.
const BATCH: u64 = 200;

/// Starts the sweeper on the runtime; it stops when the process does.
pub fn spawn(app: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick =
            tokio::time::interval(app.config.sweep_interval.max(Duration::from_millis(50)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = sweep(&app).await {
                tracing::warn!(
                    error = e.public_message(),
                    code = e.code(),
                    "sweep failed; retrying at the next tick"
                );
            }
        }
    })
}

/// One pass: lapsed reservation holds, overdue requests, expired units.
pub async fn sweep(app: &AppState) -> crate::error::AppResult<()> {
    let txn = db::begin_write(&app.db).await?;
    let lapsed = service::release_lapsed_holds(&txn, BATCH).await?;
    let overdue = service::expire_overdue(&txn).await?;
    let expired = service::expire_units(&txn, BATCH).await?;
    txn.commit().await?;
    if !lapsed.is_empty() || overdue > 0 || expired > 0 {
        tracing::info!(
            lapsed_holds = lapsed.len(),
            expired_requests = overdue,
            expired_units = expired,
            "sweep"
        );
    }
    Ok(())
}
