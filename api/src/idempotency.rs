//! Idempotency keys for mutations that partners retry (`createBloodRequest`,
//! `acceptBloodRequest`, …): a repeat with the same key and input returns the first
//! successful result; the same key with another input is a `CONFLICT`; a failed attempt is
//! not remembered (the key is written in the mutation's own transaction). The pipeline
//! ([`crate::pipeline`]) is the only user: a command hands it a [`RetryKey`].

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

/// The key a caller sent with an input, and a hash of that input, parsed with the command.
#[derive(Debug, Clone)]
pub struct RetryKey {
    key: String,
    hash: String,
}

impl RetryKey {
    /// `None` when no key (or a blank one) was given.
    pub fn parse<T: Serialize>(key: Option<&str>, input: &T) -> AppResult<Option<Self>> {
        let Some(key) = key.map(str::trim).filter(|k| !k.is_empty()) else {
            return Ok(None);
        };
        if key.len() > 128 {
            return Err(AppError::bad_input(
                "input.idempotencyKey",
                "must be at most 128 characters",
            ));
        }
        let hash = hex::encode(Sha256::digest(serde_json::to_vec(input)?));
        Ok(Some(Self {
            key: key.to_string(),
            hash,
        }))
    }
}

/// A key scoped to the caller and the operation.
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
    /// Scopes a caller's key to them and to the operation. `None` for an anonymous caller.
    pub fn scoped(viewer: &Viewer, operation: &'static str, key: &RetryKey) -> Option<Self> {
        let scope = match viewer {
            Viewer::User(u) => format!("user:{}", u.id),
            Viewer::Client(c) => format!("client:{}", c.id),
            Viewer::Anonymous { .. } => return None,
        };
        Some(Self {
            scope,
            operation,
            key: key.key.clone(),
            hash: key.hash.clone(),
        })
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
    /// collide on the unique key; the pipeline rolls the loser back and answers it from the
    /// winner.
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
        .map_err(unique_violation)?;
        Ok(())
    }
}
