//! Access tokens (short-lived JWTs), refresh tokens and API-client tokens.
//!
//! The three are not interchangeable by construction: an access token is a signed JWT with
//! `typ = "access"`; a refresh token is an opaque random string only ever looked up by its
//! hash in `sessions`; an API token is an opaque random string with the `lfk_` prefix looked
//! up in `api_clients`.

use crate::{
    config::Config,
    error::{AppError, AppResult},
};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The prefix that marks an API-client token.
pub const API_TOKEN_PREFIX: &str = "lfk_";

/// Claims of an access token. Every registered claim is required when decoding.
#[derive(Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The user's id.
    pub sub: String,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
    /// Not before.
    pub nbf: i64,
    /// Issued at.
    pub iat: i64,
    pub jti: String,
    /// Always `access`.
    pub typ: String,
    /// The session (refresh-token family) the token was issued for: revoking the session
    /// refuses the token from the next request on. Absent from tokens issued without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Issued at, in milliseconds: a password reset refuses the tokens issued before it
    /// (`users.credentials_changed_at`). Tokens without it count from `iat`.
    #[serde(default)]
    pub iat_ms: i64,
}

/// What a valid access token says.
#[derive(Debug, Clone, Copy)]
pub struct Access {
    /// The user it was issued to.
    pub user_id: Uuid,
    /// When it was issued.
    pub issued_at: chrono::DateTime<chrono::Utc>,
    /// The session (refresh-token family) it was issued for, when it names one.
    pub session: Option<Uuid>,
}

/// Signs and verifies access tokens with a key pinned to one algorithm.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl_secs: i64,
}

impl TokenKeys {
    /// Builds the keys from the config; without `JWT_SECRET` (development only) a random key
    /// is generated, so tokens do not survive a restart.
    pub fn from_config(config: &Config) -> Self {
        let secret = match &config.jwt_secret {
            Some(s) => s.as_bytes().to_vec(),
            None => {
                tracing::warn!(
                    "JWT_SECRET is not set: signing with a random key generated at start. \
                     Tokens will not survive a restart and several instances will not \
                     accept each other's tokens. Set JWT_SECRET (at least 32 bytes) in production."
                );
                let mut key = vec![0u8; 64];
                rand::rng().fill_bytes(&mut key);
                key
            }
        };
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&config.jwt_issuer]);
        validation.set_audience(&[&config.jwt_audience]);
        validation.set_required_spec_claims(&["iss", "aud", "exp", "nbf", "iat", "sub"]);
        validation.validate_nbf = true;
        validation.validate_exp = true;
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
            validation,
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
            ttl_secs: config.access_token_ttl.as_secs() as i64,
        }
    }

    /// Issues an access token for a user's session; returns it with its expiry.
    pub fn issue_access(
        &self,
        user_id: Uuid,
        session: Option<Uuid>,
    ) -> AppResult<(String, chrono::DateTime<chrono::Utc>)> {
        let now = chrono::Utc::now();
        let exp = now + chrono::Duration::seconds(self.ttl_secs);
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id.to_string(),
            exp: exp.timestamp(),
            nbf: now.timestamp(),
            iat: now.timestamp(),
            jti: Uuid::now_v7().to_string(),
            typ: "access".into(),
            iat_ms: now.timestamp_millis(),
            sid: session.map(|s| s.to_string()),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok((token, exp))
    }

    /// Verifies an access token and returns the user id it was issued to.
    pub fn verify_access(&self, token: &str) -> AppResult<Uuid> {
        self.verify_access_claims(token).map(|a| a.user_id)
    }

    /// Verifies an access token: whom it was issued to, and when.
    pub fn verify_access_claims(&self, token: &str) -> AppResult<Access> {
        let invalid = || AppError::Unauthenticated("invalid or expired token");
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map_err(|_| invalid())?;
        if data.claims.typ != "access" {
            return Err(invalid());
        }
        let user_id = Uuid::parse_str(&data.claims.sub).map_err(|_| invalid())?;
        let session = match data.claims.sid.as_deref() {
            Some(s) => Some(Uuid::parse_str(s).map_err(|_| invalid())?),
            None => None,
        };
        let ms = if data.claims.iat_ms > 0 {
            data.claims.iat_ms
        } else {
            data.claims.iat.saturating_mul(1000)
        };
        Ok(Access {
            user_id,
            issued_at: chrono::DateTime::from_timestamp_millis(ms).ok_or_else(invalid)?,
            session,
        })
    }
}

impl TokenKeys {
    /// The expiry of a valid access token.
    pub fn access_expiry(&self, token: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        let data =
            jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation).ok()?;
        chrono::DateTime::from_timestamp(data.claims.exp, 0)
    }
}

/// A new random opaque token (256 bits) with an optional prefix.
pub fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// SHA-256 of a token, hex-encoded: what is stored and looked up. A fast hash is right
/// here because the tokens are 256-bit random values, not guessable passwords.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
