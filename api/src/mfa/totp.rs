//! RFC 6238 codes (SHA-1, 6 digits, 30-second steps, one step of skew either way), through
//! `totp-rs`. Pure: the time is an argument.

use crate::error::{AppError, AppResult};
use totp_rs::{Algorithm, Secret, TOTP};

/// Seconds per step.
pub const STEP: u64 = 30;
/// Steps accepted on either side of the current one (clock drift).
pub const SKEW: u64 = 1;
/// The issuer shown by authenticator apps.
pub const ISSUER: &str = "LifeFlow";

/// A new random secret (160 bits, as RFC 4226 recommends), base32 without padding.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    Secret::Raw(bytes.to_vec()).to_encoded().to_string()
}

fn totp(secret: &str, account: &str) -> AppResult<TOTP> {
    let bytes = Secret::Encoded(secret.to_string())
        .to_bytes()
        .map_err(|_| AppError::internal("stored MFA secret is not base32"))?;
    TOTP::new(
        Algorithm::SHA1,
        6,
        SKEW as u8,
        STEP,
        bytes,
        Some(ISSUER.to_string()),
        account.to_string(),
    )
    .map_err(|e| AppError::internal(format!("MFA secret refused: {e}")))
}

/// The `otpauth://` URI an authenticator app enrols from (usually shown as a QR code).
pub fn uri(secret: &str, account: &str) -> AppResult<String> {
    Ok(totp(secret, account)?.get_url())
}

/// The time step a code is right for at `unix_secs` (the current step, or one either
/// side), or `None`. The caller refuses a step at or before the last one accepted.
pub fn matching_step(secret: &str, code: &str, unix_secs: u64) -> AppResult<Option<i64>> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let t = totp(secret, "-")?;
    let now = unix_secs / STEP;
    let mut found = None;
    for step in now.saturating_sub(SKEW)..=now + SKEW {
        let expected = t.generate(step * STEP);
        // Compare every byte, so the time taken says nothing about how close a guess was.
        let same = expected
            .bytes()
            .zip(code.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
        if same {
            found = Some(step as i64);
        }
    }
    Ok(found)
}

/// The current Unix time in seconds.
pub fn now_secs() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_matches_its_own_step_and_its_neighbours_only() {
        let s = new_secret();
        let t = totp(&s, "a@b.example").expect("totp");
        let at = 1_800_000_000;
        let code = t.generate(at);
        assert_eq!(
            matching_step(&s, &code, at).expect("ok"),
            Some((at / STEP) as i64)
        );
        assert!(matching_step(&s, &code, at + STEP).expect("ok").is_some());
        assert!(
            matching_step(&s, &code, at + 3 * STEP)
                .expect("ok")
                .is_none()
        );
        assert!(matching_step(&s, "12345", at).expect("ok").is_none());
    }

    #[test]
    fn the_uri_names_the_issuer_and_the_account() {
        let s = new_secret();
        let u = uri(&s, "ada@example.org").expect("uri");
        assert!(u.starts_with("otpauth://totp/LifeFlow:ada%40example.org?"));
        assert!(u.contains(&format!("secret={s}")));
    }
}
