//! Idempotency keys for mutations that partners retry (`createBloodRequest`,
//! `acceptBloodRequest`, …): a repeat with the same key and input returns the first
//! successful result; the same key with another input is a `CONFLICT`; a failed attempt is
//! not remembered (the key is written in the mutation's own transaction).

use crate::{
    auth::Viewer,
    db::now,
    error::{AppError, AppResult, unique_violation},
};
use entity::idempotency_key;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::time::Duration;
use uuid::Uuid;

/// A key as presented by a caller for an operation.
#[derive(Debug, Clone)]
pub struct IdemKey {
    scope: String,
    operation: &'static str,
    key: String,
    hash: String,
}

/// The message of a key reused with another input.
pub const MISMATCH: &str = "this idempotency key was used with a different input";

impl IdemKey {
    /// Builds a key scoped to the caller and operation, with a hash of the input. `None` when
    /// no key was given.
    pub fn new<T: Serialize>(
        viewer: &Viewer,
        operation: &'static str,
        key: Option<&str>,
        input: &T,
    ) -> AppResult<Option<Self>> {
        let Some(key) = key.map(str::trim).filter(|k| !k.is_empty()) else {
            return Ok(None);
        };
        if key.len() > 128 {
            return Err(AppError::bad_input(
                "input.idempotencyKey",
                "must be at most 128 characters",
            ));
        }
        let scope = match viewer {
            Viewer::User(u) => format!("user:{}", u.id),
            Viewer::Client(c) => format!("client:{}", c.id),
            Viewer::Anonymous { .. } => return Ok(None),
        };
        let hash = hex::encode(Sha256::digest(serde_json::to_vec(input)?));
        Ok(Some(Self {
            scope,
            operation,
            key: key.to_string(),
            hash,
        }))
    }

    /// The remembered result, if this key was used successfully within its lifetime.
    pub async fn lookup<C: ConnectionTrait>(&self, db: &C) -> AppResult<Option<Uuid>> {
        let row = idempotency_key::Entity::find()
            .filter(idempotency_key::Column::Scope.eq(&self.scope))
            .filter(idempotency_key::Column::Operation.eq(self.operation))
            .filter(idempotency_key::Column::Key.eq(&self.key))
            .filter(idempotency_key::Column::ExpiresAt.gt(now()))
            .one(db)
            .await?;
        match row {
            Some(r) if r.request_hash == self.hash => Ok(Some(r.result_id)),
            Some(_) => Err(AppError::Conflict(MISMATCH.into())),
            None => Ok(None),
        }
    }

    /// Remembers the result inside the mutation's transaction. Two racing first attempts
    /// collide on the unique key; the loser rolls back and is answered from the winner.
    pub async fn remember<C: ConnectionTrait>(
        &self,
        db: &C,
        result_id: Uuid,
        ttl: Duration,
    ) -> AppResult<()> {
        let t = now();
        // An expired row with the same key is replaced.
        idempotency_key::Entity::delete_many()
            .filter(idempotency_key::Column::Scope.eq(&self.scope))
            .filter(idempotency_key::Column::Operation.eq(self.operation))
            .filter(idempotency_key::Column::Key.eq(&self.key))
            .filter(idempotency_key::Column::ExpiresAt.lte(t))
            .exec(db)
            .await?;
        idempotency_key::Entity::insert(idempotency_key::ActiveModel {
            id: Set(Uuid::now_v7()),
            scope: Set(self.scope.clone()),
            operation: Set(self.operation.to_string()),
            key: Set(self.key.clone()),
            request_hash: Set(self.hash.clone()),
            result_id: Set(result_id),
            created_at: Set(t),
            expires_at: Set(
                t + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(24))
            ),
        })
        .exec(db)
        .await
        .map_err(unique_violation(RACED))?;
        Ok(())
    }
}

/// The message of a first attempt that lost a race with an identical one.
pub const RACED: &str = "the same idempotency key is being used by a concurrent request";

/// What a key remembers, loaded by `load`: the first successful result of the same call, or
/// `None` when no key was given or nothing is remembered under it.
pub async fn remembered<C: ConnectionTrait, T>(
    key: &Option<IdemKey>,
    db: &C,
    load: impl AsyncFnOnce(Uuid) -> AppResult<T>,
) -> AppResult<Option<T>> {
    if let Some(k) = key
        && let Some(id) = k.lookup(db).await?
    {
        return load(id).await.map(Some);
    }
    Ok(None)
}
