//! Background jobs: every instance runs them; the work itself is claimed row by row
//! (`FOR UPDATE SKIP LOCKED` and conditional updates on Postgres, the write lock on SQLite),
//! so no step is done twice. A failing tick is logged and the next tick tries again.

pub mod alerts;
pub mod rollups;
pub mod sessions;

use crate::{db, events::Event, requests::service, state::AppState};
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
                // The cause, not the public "internal error": this line is for whoever fixes it.
                tracing::warn!(
                    error = ?e,
                    code = e.code(),
                    "sweep failed; retrying at the next tick"
                );
            }
        }
    })
}

/// One pass: lapsed reservation holds, overdue requests, expired units, escalation of
/// unanswered emergencies (with a donor call-out at the NGO step), units about to expire,
/// donors who may give again. Events go out after the commit.
pub async fn sweep(app: &AppState) -> crate::error::AppResult<()> {
    let txn = db::begin_write(&app.db).await?;
    let mut stock = alerts::stock_changes(&txn).await?;
    let (lapsed, returned) = service::release_lapsed_holds(&txn, BATCH).await?;
    // A hold can lapse between the read above and the release (each reads the clock): the
    // units it returned are re-checked too, in this pass rather than the next.
    for u in returned {
        let combos = stock.entry(u.blood_bank_id).or_default();
        if !combos.contains(&(u.blood_group, u.component)) {
            combos.push((u.blood_group, u.component));
        }
    }
    let mut events: Vec<Event> = alerts::lapsed(&txn, &lapsed).await?;
    let expired = service::expire_overdue(&txn, BATCH).await?;
    let expired_requests = expired.len();
    events.extend(expired);
    let expired_units = service::expire_units(&txn, BATCH).await?;
    events.extend(alerts::check_stock_changes(&txn, stock).await?);
    events.extend(alerts::escalate(&txn, &app.config).await?);
    events.extend(alerts::expiry_soon(&txn).await?);
    events.extend(crate::callouts::service::remind_eligible(&txn, BATCH).await?);
    crate::webhooks::publish::enqueue_for(&txn, "sweep", "", None, &mut events).await?;
    txn.commit().await?;
    if !lapsed.is_empty() || expired_requests > 0 || expired_units > 0 || !events.is_empty() {
        tracing::info!(
            lapsed_holds = lapsed.len(),
            expired_requests,
            expired_units,
            events = events.len(),
            "sweep"
        );
    }
    app.events.publish(events).await;
    Ok(())
}
