//! The viewers of recent callers, kept in memory so that an authenticated request costs no
//! query before it does its work (issue 14).
//!
//! What keeps an entry right is the event of each change, not its age: every change to what
//! a viewer holds (a membership added, removed or given another role, a user deactivated,
//! an organization's status move, an API client revoked) returns an `Event::Revoked`, which
//! the pipeline applies here right after its commit and before it answers, and which every
//! other instance applies when it arrives through Redis (`jobs/sessions.rs`). The age limit
//! (`VIEWER_CACHE_SECS`) only bounds what a change made outside the application (a
//! `create-admin` run, an edit by hand) leaves behind; an API client's expiry is kept with
//! its entry.
//!
//! Races: a load that read the database before a change committed must not be kept after
//! the change's event was applied. Every invalidation moves an epoch, and a load is kept
//! only if the epoch it started under is still current. One epoch for all keys, because an
//! organization's event concerns members that are not known before they are loaded; changes
//! are rare next to reads, so the loads they waste are few.
//!
//! Only viewers that hold something are kept: a refused token is looked up every time, as
//! before, so a reactivated user or a new client needs no event.
//!
//! With Redis configured, the cache is trusted only while this instance hears the others:
//! while the subscription is down it is bypassed, and a new subscription empties it (what
//! was published in between is lost).

use super::{
    revocation::Revocation,
    tokens::{API_TOKEN_PREFIX, TokenKeys, token_hash},
    viewer::Viewer,
};
use crate::{error::AppResult, events::Event, events::redis_transport::Hearing};
use sea_orm::ConnectionTrait;
use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard},
    time::{Duration, Instant},
};
use uuid::Uuid;

/// Whose viewer an entry is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// A user, by id and the session their access token names.
    User(Uuid, Option<Uuid>),
    /// An API client, by its token's hash (the token itself is not kept).
    Client(String),
}

struct Entry {
    viewer: Viewer,
    until: Instant,
}

#[derive(Default)]
struct Inner {
    /// Moved by every invalidation; a load started under an older epoch is not kept.
    epoch: u64,
    /// The Redis subscription the entries were kept under.
    subscription: u64,
    entries: HashMap<Key, Entry>,
}

impl Inner {
    fn forget_all(&mut self) {
        self.epoch += 1;
        self.entries.clear();
    }
}

/// How often an API client's `last_used_at` is written at most (per instance).
pub const CLIENT_TOUCH_EVERY: Duration = Duration::from_secs(60);

/// Recent viewers of this instance, bounded in number and age.
pub struct ViewerCache {
    inner: Mutex<Inner>,
    /// When each API client's use was last written by this instance.
    touched: Mutex<HashMap<Uuid, Instant>>,
    ttl: Duration,
    cap: usize,
    /// Redis's subscription, when events come from other instances.
    hearing: Option<Hearing>,
}

/// What a lookup found.
enum Found {
    Hit(Viewer),
    /// Not kept: load it, and keep it if the epoch is still this one.
    Miss(u64),
    /// The cache cannot be trusted now: load it and do not keep it.
    Bypass,
}

impl ViewerCache {
    /// A cache of at most `cap` viewers, each kept at most `ttl` (zero turns it off);
    /// `hearing` is the Redis subscription when other instances publish changes.
    pub fn new(ttl: Duration, cap: usize, hearing: Option<Hearing>) -> Self {
        Self {
            inner: Mutex::default(),
            touched: Mutex::default(),
            ttl,
            cap: cap.max(1),
            hearing,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The viewer of a request's bearer token, as [`Viewer::from_bearer`] would load it.
    pub async fn viewer<C: ConnectionTrait>(
        &self,
        db: &C,
        keys: &TokenKeys,
        bearer: Option<&str>,
    ) -> AppResult<Viewer> {
        let Some(token) = bearer else {
            return Ok(Viewer::Anonymous { rejected: false });
        };
        let (key, issued_at) = if token.starts_with(API_TOKEN_PREFIX) {
            (Key::Client(token_hash(token)), None)
        } else {
            match keys.verify_access_claims(token) {
                Ok(a) => (Key::User(a.user_id, a.session), Some(a.issued_at)),
                Err(_) => return Ok(Viewer::Anonymous { rejected: true }),
            }
        };
        let holding = |v: Viewer| match issued_at {
            Some(t) => v.holding(t),
            None => v,
        };
        let found = self.find(&key);
        if let Found::Hit(v) = found {
            return Ok(holding(v));
        }
        let (viewer, expires_at) = match &key {
            Key::User(id, session) => (Viewer::load_session(db, *id, *session).await?, None),
            Key::Client(hash) => Viewer::load_client_by_hash(db, hash).await?,
        };
        if let Found::Miss(epoch) = found
            && !matches!(viewer, Viewer::Anonymous { .. })
        {
            self.keep(key, viewer.clone(), expires_at, epoch);
        }
        Ok(holding(viewer))
    }

    fn find(&self, key: &Key) -> Found {
        if self.ttl.is_zero() {
            return Found::Bypass;
        }
        let mut inner = self.lock();
        if let Some(h) = &self.hearing {
            match h.current() {
                None => {
                    if !inner.entries.is_empty() {
                        inner.forget_all();
                    }
                    return Found::Bypass;
                }
                Some(n) if n != inner.subscription => {
                    inner.forget_all();
                    inner.subscription = n;
                }
                Some(_) => {}
            }
        }
        match inner.entries.get(key) {
            Some(e) if e.until > Instant::now() => Found::Hit(e.viewer.clone()),
            Some(_) => {
                inner.entries.remove(key);
                Found::Miss(inner.epoch)
            }
            None => Found::Miss(inner.epoch),
        }
    }

    fn keep(
        &self,
        key: Key,
        viewer: Viewer,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
        epoch: u64,
    ) {
        let now = Instant::now();
        let mut until = now + self.ttl;
        if let Some(at) = expires_at {
            // A client whose token expires sooner is kept only until then.
            match (at - chrono::Utc::now()).to_std() {
                Ok(left) => until = until.min(now + left),
                Err(_) => return,
            }
        }
        let mut inner = self.lock();
        if inner.epoch != epoch {
            return;
        }
        if inner.entries.len() >= self.cap {
            inner.entries.retain(|_, e| e.until > now);
        }
        if inner.entries.len() >= self.cap {
            // Full of live entries: drop an eighth of them (whichever the map yields first),
            // so that a full cache pays this once per many inserts, not on each.
            let drop: Vec<Key> = inner
                .entries
                .keys()
                .take((self.cap / 8).max(1))
                .cloned()
                .collect();
            for k in drop {
                inner.entries.remove(&k);
            }
        }
        inner.entries.insert(key, Entry { viewer, until });
    }

    /// Whether this request of API client `id` should record its use: at most once per
    /// [`CLIENT_TOUCH_EVERY`] per client on this instance, so a busy client costs no write
    /// per request.
    pub fn client_use_due(&self, id: Uuid) -> bool {
        let now = Instant::now();
        let mut t = self.touched.lock().unwrap_or_else(|p| p.into_inner());
        if t.get(&id)
            .is_some_and(|at| now.duration_since(*at) < CLIENT_TOUCH_EVERY)
        {
            return false;
        }
        if t.len() >= self.cap {
            t.retain(|_, at| now.duration_since(*at) < CLIENT_TOUCH_EVERY);
        }
        t.insert(id, now);
        true
    }

    /// Forgets the viewers a change concerns, and makes loads in flight not kept.
    pub fn revoke(&self, r: &Revocation) {
        let mut inner = self.lock();
        inner.epoch += 1;
        inner.entries.retain(|_, e| !r.concerns(&e.viewer));
    }

    /// Applies the revocations among committed events (the pipeline calls this before it
    /// answers, so the caller's next request on this instance sees the change).
    pub fn revoke_all_in(&self, events: &[Event]) {
        for e in events {
            if let Event::Revoked(r) = e {
                self.revoke(r);
            }
        }
    }

    /// Forgets everything (events may have been missed).
    pub fn clear(&self) {
        self.lock().forget_all();
    }

    /// How many viewers are kept.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// True when none is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::viewer::{Grant, UserViewer};
    use entity::{OrgKind, OrgRole, OrgStatus, PlatformRole};

    fn user(id: Uuid, org: Uuid) -> Viewer {
        Viewer::User(UserViewer {
            id,
            platform_role: PlatformRole::User,
            grants: vec![Grant {
                organization_id: org,
                role: OrgRole::Staff,
                org_kind: OrgKind::BloodBank,
                org_status: OrgStatus::Approved,
            }],
            dormant: vec![],
            tokens_after: None,
            mfa: false,
            session: None,
        })
    }

    fn cache(cap: usize) -> ViewerCache {
        ViewerCache::new(Duration::from_secs(60), cap, None)
    }

    fn epoch_of(c: &ViewerCache, key: &Key) -> u64 {
        match c.find(key) {
            Found::Miss(e) => e,
            _ => panic!("expected a miss"),
        }
    }

    #[test]
    fn a_load_that_started_before_an_invalidation_is_not_kept() {
        let c = cache(10);
        let (id, org) = (Uuid::now_v7(), Uuid::now_v7());
        let key = Key::User(id, None);
        let epoch = epoch_of(&c, &key);
        c.revoke(&Revocation::Membership {
            user_id: id,
            organization_id: org,
            role: None,
        });
        c.keep(key.clone(), user(id, org), None, epoch);
        assert!(c.is_empty());
        let epoch = epoch_of(&c, &key);
        c.keep(key.clone(), user(id, org), None, epoch);
        assert!(matches!(c.find(&key), Found::Hit(_)));
    }

    #[test]
    fn an_organizations_change_forgets_its_members_and_no_one_else() {
        let c = cache(10);
        let (a, b, org, other) = (
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
        );
        for (id, o) in [(a, org), (b, other)] {
            let e = epoch_of(&c, &Key::User(id, None));
            c.keep(Key::User(id, None), user(id, o), None, e);
        }
        c.revoke(&Revocation::Organization {
            id: org,
            status: OrgStatus::Suspended,
        });
        assert!(matches!(c.find(&Key::User(a, None)), Found::Miss(_)));
        assert!(matches!(c.find(&Key::User(b, None)), Found::Hit(_)));
    }

    #[test]
    fn the_cache_never_holds_more_than_its_cap() {
        let c = cache(16);
        for _ in 0..100 {
            let id = Uuid::now_v7();
            let e = epoch_of(&c, &Key::User(id, None));
            c.keep(Key::User(id, None), user(id, Uuid::now_v7()), None, e);
            assert!(c.len() <= 16);
        }
    }

    #[test]
    fn an_expired_client_is_not_kept() {
        let c = cache(4);
        let key = Key::Client("h".into());
        let e = epoch_of(&c, &key);
        let past = chrono::Utc::now() - chrono::Duration::seconds(1);
        c.keep(key, Viewer::Anonymous { rejected: false }, Some(past), e);
        assert!(c.is_empty());
    }
}
