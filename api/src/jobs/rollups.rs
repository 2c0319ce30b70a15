//! Keeps the analytics rollups (`analytics::rollups`) every `ROLLUP_INTERVAL_SECS`. Every
//! instance runs it; runs queue on the rollup state row, and a run that finds nothing closed
//! or changed writes only the state, so the work is done once.

use crate::state::AppState;
use std::time::Duration;

/// Starts the job on the runtime; its first run waits one interval.
pub fn spawn(app: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let every = app.config.rollup_interval.max(Duration::from_secs(1));
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match crate::analytics::rollups::run(&app.db, chrono::Utc::now()).await {
                Ok(r) if r.closed.is_some() || r.changed_days > 0 => {
                    tracing::info!(closed = ?r.closed, changed_days = r.changed_days, "rollups")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(
                    error = ?e,
                    code = e.code(),
                    "rollups failed; retrying at the next tick"
                ),
            }
        }
    })
}
