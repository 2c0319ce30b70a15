//! The outbox worker: every instance runs one (unless `OUTBOX_WORKER=false`). It claims due
//! rows of the channels that are on here ([`outbox::claim`]), sends them
//! `OUTBOX_CONCURRENCY` at a time, and records each outcome. It wakes when a commit queued
//! deliveries (an [`Event::Notification`] or [`Event::OutboxQueued`], from this instance or
//! through Redis from another), when a retry it scheduled falls due, and every
//! `OUTBOX_POLL_MS` for the rest (quiet hours ending, other instances' retries, rows a
//! crashed instance left leased).

use super::outbox::{self, Failure};
use crate::{events::Event, state::AppState};
use chrono::Utc;
use futures_util::StreamExt;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// Starts the worker and its wake-up listener on the runtime; they stop with the process.
pub fn spawn(app: AppState) {
    let settings = &app.config.outbox;
    if !settings.worker {
        tracing::info!("OUTBOX_WORKER=false: this instance sends no deliveries");
        return;
    }
    if app.outbox.transports.channels().is_empty() {
        tracing::info!("no delivery channel is on: the outbox worker does not run");
        return;
    }
    let mut rx = app.events.subscribe();
    let wake = app.outbox.clone();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(e) if matches!(&*e, Event::Notification(_) | Event::OutboxQueued) => wake.wake(),
                Ok(_) => {}
                // Some of the missed events may have queued deliveries.
                Err(RecvError::Lagged(_)) => wake.wake(),
                Err(RecvError::Closed) => return,
            }
        }
    });
    tokio::spawn(run(app));
}

async fn run(app: AppState) {
    let settings = app.config.outbox.clone();
    let channels = app.outbox.transports.channels();
    let instance = app.outbox.instance;
    // The earliest retry this worker scheduled and has not yet slept until.
    let mut next_retry: Option<chrono::DateTime<Utc>> = None;
    loop {
        let claimed =
            outbox::claim(&app.db, instance, &channels, settings.batch, settings.lease).await;
        let rows = match claimed {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = ?e, code = e.code(), "outbox claim failed; retrying");
                tokio::time::sleep(settings.poll_interval).await;
                continue;
            }
        };
        if rows.is_empty() {
            let mut wait = settings.poll_interval.max(Duration::from_millis(10));
            if let Some(at) = next_retry.take() {
                let until = (at - Utc::now()).to_std().unwrap_or_default();
                if until < wait {
                    wait = until;
                } else {
                    next_retry = Some(at);
                }
            }
            tokio::select! {
                _ = app.outbox.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
            continue;
        }
        let retries: Vec<Option<chrono::DateTime<Utc>>> = futures_util::stream::iter(rows)
            .map(|row| send_one(&app, row))
            .buffer_unordered(settings.concurrency.max(1))
            .collect()
            .await;
        for at in retries.into_iter().flatten() {
            next_retry = Some(next_retry.map_or(at, |n| n.min(at)));
        }
    }
}

/// Sends one claimed row and records the outcome; returns the time of its next attempt when
/// one was scheduled.
async fn send_one(
    app: &AppState,
    row: entity::outbox_delivery::Model,
) -> Option<chrono::DateTime<Utc>> {
    let settings = &app.config.outbox;
    let instance = app.outbox.instance;
    let transport = app.outbox.transports.get(row.channel)?;
    let message = outbox::resolve_link(row.clone(), &app.config.public_app_url);
    let result = match tokio::time::timeout(settings.send_timeout, transport.send(&message)).await {
        Ok(r) => r,
        Err(_) => Err(super::transport::SendError::retry("the send timed out")),
    };
    match result {
        Ok(()) => {
            app.outbox.counters.sent();
            if let Err(e) = outbox::mark_sent(&app.db, row.id, instance).await {
                // Sent but not recorded: after the lease it is sent again (the receiver
                // dedupes on the id).
                tracing::warn!(error = ?e, delivery = %row.id, "outbox: recording a sent delivery failed");
            }
            None
        }
        Err(err) => {
            match outbox::mark_failed(
                &app.db,
                &row,
                instance,
                &err.reason,
                err.permanent,
                settings,
            )
            .await
            {
                Ok(Failure::Retry(at)) => {
                    app.outbox.counters.failed();
                    tracing::info!(
                        delivery = %row.id,
                        channel = ?row.channel,
                        attempts = row.attempts,
                        reason = %err.reason,
                        "outbox: send failed; retrying later"
                    );
                    Some(at)
                }
                Ok(Failure::Dead) => {
                    app.outbox.counters.dead();
                    tracing::warn!(
                        delivery = %row.id,
                        channel = ?row.channel,
                        attempts = row.attempts,
                        reason = %err.reason,
                        "outbox: delivery is dead"
                    );
                    None
                }
                Err(e) => {
                    tracing::warn!(error = ?e, delivery = %row.id, "outbox: recording a failure failed");
                    None
                }
            }
        }
    }
}
