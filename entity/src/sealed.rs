//! Field encryption: [`Sealed<T>`] is a column type that encrypts on write and decrypts on
//! read, so an entity field declared `Sealed<String>` cannot be stored in clear by any path
//! (inserts, updates, `Expr::value`, filters).
//!
//! A stored value is `v1:<key id>:<base64(nonce | AES-256-GCM ciphertext)>`, with a fresh
//! random 96-bit nonce per value. The process holds one [`Keyring`] ([`install`]): its first
//! key encrypts, every key decrypts. A stored value without the `v1:` prefix is a plaintext
//! left from before encryption; it reads as is until `lifeflow rotate-keys` seals it.
//! Equality lookups go through a blind index ([`blind_index`], HMAC-SHA256 under its own
//! key), never through the ciphertext.

use aes_gcm::{
    Aes256Gcm, KeyInit, Nonce,
    aead::{Aead, Payload},
};
use base64::{Engine, engine::general_purpose::STANDARD as B64};
use hmac::{Hmac, Mac};
use sea_orm::{
    ColIdx, DbErr, QueryResult, TryGetError, TryGetable, Value,
    sea_query::{ArrayType, ColumnType, Nullable, ValueType, ValueTypeErr},
};
use sha2::Sha256;
use std::{
    ops::Deref,
    sync::{Arc, RwLock},
};

/// The version prefix of every sealed value.
pub const PREFIX: &str = "v1:";

/// One AES-256 key and its id (the id is stored in each ciphertext).
#[derive(Clone)]
pub struct FieldKey {
    id: String,
    cipher: Aes256Gcm,
}

impl FieldKey {
    /// A key from its id (letters, digits, `-`, `_`) and 32 bytes.
    pub fn new(id: &str, bytes: &[u8]) -> Result<Self, String> {
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!("key id {id:?} must be letters, digits, - or _"));
        }
        if bytes.len() != 32 {
            return Err(format!(
                "key {id:?} must be 32 bytes (base64), got {}",
                bytes.len()
            ));
        }
        let cipher = Aes256Gcm::new_from_slice(bytes).map_err(|_| "bad key length".to_string())?;
        Ok(Self {
            id: id.to_string(),
            cipher,
        })
    }

    /// The key's id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The keys of this process: the first encrypts; all decrypt. Plus the blind-index key.
#[derive(Clone)]
pub struct Keyring {
    keys: Vec<FieldKey>,
    blind: Vec<u8>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("Keyring").field("key_ids", &ids).finish()
    }
}

/// Why a stored value could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// The value names a key this process does not hold.
    UnknownKey(String),
    /// Not base64, too short, or the tag does not verify.
    Corrupt,
}

impl Keyring {
    /// A keyring; `keys` must not be empty and the ids must be distinct.
    pub fn new(keys: Vec<FieldKey>, blind_index_key: Vec<u8>) -> Result<Self, String> {
        if keys.is_empty() {
            return Err("at least one key is needed".into());
        }
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].iter().any(|o| o.id == k.id) {
                return Err(format!("key id {:?} appears twice", k.id));
            }
        }
        if blind_index_key.len() < 32 {
            return Err("the blind-index key must be at least 32 bytes".into());
        }
        Ok(Self {
            keys,
            blind: blind_index_key,
        })
    }

    /// Parses `id:base64key,id:base64key,…` (the first encrypts).
    pub fn parse_keys(spec: &str) -> Result<Vec<FieldKey>, String> {
        spec.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|pair| {
                let (id, key) = pair
                    .split_once(':')
                    .ok_or_else(|| "expected id:base64key".to_string())?;
                let bytes = B64
                    .decode(key.trim())
                    .map_err(|_| format!("key {id:?} is not base64"))?;
                FieldKey::new(id.trim(), &bytes)
            })
            .collect()
    }

    /// The id of the key that encrypts.
    pub fn current_id(&self) -> &str {
        &self.keys[0].id
    }

    /// Encrypts `plain` under the current key.
    pub fn seal(&self, plain: &str) -> String {
        let key = &self.keys[0];
        let nonce_bytes: [u8; 12] = rand::random();
        let nonce = &Nonce::from(nonce_bytes);
        // The key id is authenticated too, so a value cannot be relabelled to another key.
        let ct = key
            .cipher
            .encrypt(
                nonce,
                Payload {
                    msg: plain.as_bytes(),
                    aad: key.id.as_bytes(),
                },
            )
            .unwrap_or_default();
        let mut blob = Vec::with_capacity(12 + ct.len());
        blob.extend_from_slice(&nonce_bytes);
        blob.extend_from_slice(&ct);
        format!("{PREFIX}{}:{}", key.id, B64.encode(blob))
    }

    /// Decrypts a stored value; a value without the `v1:` prefix is a legacy plaintext.
    pub fn open(&self, stored: &str) -> Result<String, OpenError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_string());
        };
        let (id, body) = rest.split_once(':').ok_or(OpenError::Corrupt)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| OpenError::UnknownKey(id.to_string()))?;
        let blob = B64.decode(body).map_err(|_| OpenError::Corrupt)?;
        if blob.len() < 12 + 16 {
            return Err(OpenError::Corrupt);
        }
        let (nonce, ct) = blob.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| OpenError::Corrupt)?;
        let plain = key
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ct,
                    aad: key.id.as_bytes(),
                },
            )
            .map_err(|_| OpenError::Corrupt)?;
        String::from_utf8(plain).map_err(|_| OpenError::Corrupt)
    }

    /// True when `stored` is sealed under the current key (nothing for rotation to do).
    pub fn is_current(&self, stored: &str) -> bool {
        stored
            .strip_prefix(PREFIX)
            .and_then(|r| r.split_once(':'))
            .is_some_and(|(id, _)| id == self.keys[0].id)
    }

    /// HMAC-SHA256 of `value` under the blind-index key, hex: equal inputs give equal
    /// indexes, and the index reveals nothing else.
    pub fn blind_index(&self, value: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.blind)
            .unwrap_or_else(|_| unreachable_hmac());
        mac.update(value.as_bytes());
        hex_lower(&mac.finalize().into_bytes())
    }
}

fn unreachable_hmac() -> Hmac<Sha256> {
    // HMAC accepts keys of any length; this is never reached.
    <Hmac<Sha256> as Mac>::new_from_slice(&[0u8; 32]).unwrap_or_else(|_| unreachable_hmac())
}

fn hex_lower(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

static KEYRING: RwLock<Option<Arc<Keyring>>> = RwLock::new(None);

/// Makes `ring` the process's keyring (the server does this at start, before any query).
pub fn install(ring: Keyring) {
    let mut slot = KEYRING.write().unwrap_or_else(|p| p.into_inner());
    *slot = Some(Arc::new(ring));
}

/// The installed keyring.
///
/// # Panics
/// When none is installed: writing a sealed field before the server set up its keys is a
/// programming error, and storing it in clear instead would be worse.
pub fn keyring() -> Arc<Keyring> {
    KEYRING
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .unwrap_or_else(|| panic!("field encryption keys are not installed (sealed::install)"))
}

/// The blind index of `value` under the installed keyring.
pub fn blind_index(value: &str) -> String {
    keyring().blind_index(value)
}

/// How a sealed type becomes text and back.
pub trait Plain: Sized {
    /// The text that is encrypted.
    fn to_plain(&self) -> String;
    /// Back from the decrypted text.
    fn from_plain(s: &str) -> Result<Self, String>;
    /// The type's name for errors.
    const NAME: &'static str;
}

impl Plain for String {
    fn to_plain(&self) -> String {
        self.clone()
    }
    fn from_plain(s: &str) -> Result<Self, String> {
        Ok(s.to_string())
    }
    const NAME: &'static str = "String";
}

impl Plain for chrono::NaiveDate {
    fn to_plain(&self) -> String {
        self.format("%Y-%m-%d").to_string()
    }
    fn from_plain(s: &str) -> Result<Self, String> {
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| e.to_string())
    }
    const NAME: &'static str = "NaiveDate";
}

impl Plain for serde_json::Value {
    fn to_plain(&self) -> String {
        self.to_string()
    }
    fn from_plain(s: &str) -> Result<Self, String> {
        serde_json::from_str(s).map_err(|e| e.to_string())
    }
    const NAME: &'static str = "Json";
}

/// A value stored encrypted: see the module documentation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Sealed<T>(pub T);

impl<T> Sealed<T> {
    /// The plain value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: Clone> Sealed<T> {
    /// Wraps an optional value.
    pub fn opt(v: Option<T>) -> Option<Self> {
        v.map(Sealed)
    }

    /// A copy of an optional sealed value's plain value.
    pub fn plain(v: &Option<Self>) -> Option<T> {
        v.as_ref().map(|s| s.0.clone())
    }
}

impl<T> Deref for Sealed<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> From<T> for Sealed<T> {
    fn from(v: T) -> Self {
        Sealed(v)
    }
}

impl<T: Plain> From<Sealed<T>> for Value {
    fn from(v: Sealed<T>) -> Self {
        Value::String(Some(keyring().seal(&v.0.to_plain())))
    }
}

fn open_as<T: Plain>(stored: &str) -> Result<T, String> {
    let plain = keyring().open(stored).map_err(|e| match e {
        OpenError::UnknownKey(id) => format!("sealed value under unknown key {id:?}"),
        OpenError::Corrupt => "sealed value does not verify".to_string(),
    })?;
    T::from_plain(&plain)
}

impl<T: Plain> Sealed<T> {
    /// Opens a value as stored, as reading the column does.
    pub fn open_stored(stored: &str) -> Result<Self, DbErr> {
        open_as::<T>(stored).map(Sealed).map_err(DbErr::Type)
    }
}

impl<T: Plain> TryGetable for Sealed<T> {
    fn try_get_by<I: ColIdx>(res: &QueryResult, idx: I) -> Result<Self, TryGetError> {
        let s = <String as TryGetable>::try_get_by(res, idx)?;
        Self::open_stored(&s).map_err(TryGetError::DbErr)
    }
}

impl<T: Plain> ValueType for Sealed<T> {
    fn try_from(v: Value) -> Result<Self, ValueTypeErr> {
        match v {
            Value::String(Some(s)) => open_as::<T>(&s).map(Sealed).map_err(|_| ValueTypeErr),
            _ => Err(ValueTypeErr),
        }
    }

    fn type_name() -> String {
        format!("Sealed<{}>", T::NAME)
    }

    fn array_type() -> ArrayType {
        ArrayType::String
    }

    fn column_type() -> ColumnType {
        ColumnType::Text
    }
}

impl<T: Plain> Nullable for Sealed<T> {
    fn null() -> Value {
        Value::String(None)
    }
}

impl<T: Plain> sea_orm::IntoActiveValue<Sealed<T>> for Sealed<T> {
    fn into_active_value(self) -> sea_orm::ActiveValue<Sealed<T>> {
        sea_orm::ActiveValue::Set(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(ids: &[&str]) -> Keyring {
        let keys = ids
            .iter()
            .map(|id| FieldKey::new(id, &[id.as_bytes()[1]; 32]).expect("key"))
            .collect();
        Keyring::new(keys, vec![9; 32]).expect("ring")
    }

    #[test]
    fn a_sealed_value_names_its_key_hides_the_text_and_opens_back() {
        let r = ring(&["k1"]);
        let s = r.seal("Asha Rao");
        assert!(s.starts_with("v1:k1:"));
        assert!(!s.contains("Asha"));
        assert_eq!(r.open(&s), Ok("Asha Rao".to_string()));
    }

    #[test]
    fn two_seals_of_one_value_differ_because_each_has_a_fresh_nonce() {
        let r = ring(&["k1"]);
        assert_ne!(r.seal("same"), r.seal("same"));
    }

    #[test]
    fn an_old_key_still_opens_and_the_first_key_encrypts() {
        let old = ring(&["k1"]).seal("x");
        let r = ring(&["k2", "k1"]);
        assert_eq!(r.open(&old), Ok("x".to_string()));
        assert!(!r.is_current(&old));
        assert!(r.is_current(&r.seal("x")));
    }

    #[test]
    fn a_tampered_or_relabelled_value_does_not_open() {
        let r = ring(&["k1", "k2"]);
        let s = r.seal("secret");
        let relabelled = s.replacen("v1:k1:", "v1:k2:", 1);
        assert_eq!(r.open(&relabelled), Err(OpenError::Corrupt));
        assert_eq!(
            ring(&["k3"]).open(&s),
            Err(OpenError::UnknownKey("k1".into()))
        );
    }

    #[test]
    fn a_legacy_plaintext_reads_as_is() {
        assert_eq!(ring(&["k1"]).open("1990-01-02"), Ok("1990-01-02".into()));
    }

    #[test]
    fn the_blind_index_is_deterministic_and_keyed() {
        let r = ring(&["k1"]);
        assert_eq!(r.blind_index("+911"), r.blind_index("+911"));
        assert_ne!(r.blind_index("+911"), r.blind_index("+912"));
        let other = Keyring::new(vec![FieldKey::new("k1", &[1; 32]).expect("k")], vec![8; 32])
            .expect("ring");
        assert_ne!(r.blind_index("+911"), other.blind_index("+911"));
    }
}
