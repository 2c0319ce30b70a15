//! Ends the subscribers' sessions whose access was withdrawn (DESIGN §7.2): at once when the
//! revocation's event arrives (from this instance or, through Redis, another), and at the
//! latest at the next re-check (`WS_RECHECK_SECS`), which asks the database whether the live
//! sessions' viewers still hold, for an event that never arrived (Redis down when it was
//! published, or this listener lagging behind the bus).

use crate::{auth::revocation, events::Event, state::AppState};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// Starts the listener on the runtime; it stops when the process does.
pub fn spawn(app: AppState) -> tokio::task::JoinHandle<()> {
    let mut rx = app.events.subscribe();
    tokio::spawn(async move {
        let every = app.config.ws_recheck_interval.max(Duration::from_secs(1));
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                e = rx.recv() => match e {
                    Ok(e) => {
                        if let Event::Revoked(r) = &*e {
                            app.viewers.revoke(r);
                            let ended = app.sessions.revoke(r);
                            if ended > 0 {
                                tracing::info!(revocation = ?r, ended, "sessions ended");
                            }
                        }
                    }
                    // A revocation may be among the missed events.
                    Err(RecvError::Lagged(_)) => {
                        app.viewers.clear();
                        recheck(&app).await
                    }
                    Err(RecvError::Closed) => return,
                },
                _ = tick.tick() => recheck(&app).await,
            }
        }
    })
}

/// Ends the live sessions whose viewers no longer hold.
async fn recheck(app: &AppState) {
    let live = app.sessions.snapshot();
    if live.is_empty() {
        return;
    }
    let viewers: Vec<_> = live.iter().map(|(_, v)| v).collect();
    match revocation::stale(&app.db, &viewers).await {
        Ok(stale) if !stale.is_empty() => {
            let ids: Vec<u64> = stale.iter().map(|&i| live[i].0).collect();
            tracing::info!(
                ended = ids.len(),
                "sessions ended by the re-check (a revocation event was missed)"
            );
            app.sessions.end(&ids);
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "session re-check failed; retrying at the next tick"),
    }
}
