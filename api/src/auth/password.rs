//! Password hashing with argon2id, off the async runtime and with bounded concurrency.

use crate::error::{AppError, AppResult};
use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _, Version,
    password_hash::SaltString,
};
use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};
use tokio::sync::Semaphore;

/// Hashes and verifies passwords. Each hash takes ~19 MiB and tens of milliseconds of CPU, so
/// at most `concurrency` run at once, on the blocking pool, never on the request threads.
#[derive(Clone)]
pub struct PasswordHasher {
    argon: Arc<Argon2<'static>>,
    permits: Arc<Semaphore>,
    /// A hash of a random password, verified when the account does not exist so that a
    /// wrong email costs the same time as a wrong password.
    dummy_hash: Arc<String>,
    work: Arc<Work>,
}

/// Argon2 runs since start, for `/metrics`: the work rate limits exist to bound.
#[derive(Default)]
struct Work {
    hashes: AtomicU64,
    verifies: AtomicU64,
}

impl PasswordHasher {
    /// Builds a hasher with the given argon2id cost.
    pub fn new(memory_kib: u32, iterations: u32, concurrency: usize) -> AppResult<Self> {
        let params = Params::new(memory_kib, iterations, 1, None)
            .map_err(|e| AppError::internal(format!("argon2 params: {e}")))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        let dummy = argon
            .hash_password(uuid::Uuid::new_v4().to_string().as_bytes(), &salt)
            .map_err(|e| AppError::internal(format!("argon2: {e}")))?
            .to_string();
        Ok(Self {
            argon: Arc::new(argon),
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy_hash: Arc::new(dummy),
            work: Arc::default(),
        })
    }

    /// Runs argon2 work on the blocking pool, at most `concurrency` at a time.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Argon2<'static>) -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| AppError::internal(e.to_string()))?;
        let argon = self.argon.clone();
        tokio::task::spawn_blocking(move || work(&argon)).await?
    }

    /// Argon2 runs since start: `(hashes, verifications)`.
    pub fn work(&self) -> (u64, u64) {
        (
            self.work.hashes.load(Ordering::Relaxed),
            self.work.verifies.load(Ordering::Relaxed),
        )
    }

    /// Hashes a password into a PHC string.
    pub async fn hash(&self, password: String) -> AppResult<String> {
        self.work.hashes.fetch_add(1, Ordering::Relaxed);
        self.run(move |argon| {
            let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
            argon
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| AppError::internal(format!("argon2: {e}")))
        })
        .await
    }

    /// Checks a password against a stored hash; `None` checks against a dummy so the time
    /// taken does not reveal whether the account exists.
    pub async fn verify(&self, password: String, hash: Option<String>) -> AppResult<bool> {
        let exists = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.as_str().to_owned());
        self.work.verifies.fetch_add(1, Ordering::Relaxed);
        let ok = self
            .run(move |argon| {
                let parsed = PasswordHash::new(&hash)
                    .map_err(|e| AppError::internal(format!("stored hash: {e}")))?;
                Ok(argon.verify_password(password.as_bytes(), &parsed).is_ok())
            })
            .await?;
        Ok(exists && ok)
    }
}
