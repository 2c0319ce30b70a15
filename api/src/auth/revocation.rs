//! Whether a viewer established at connect still holds. A websocket authenticates once, so
//! its viewer is a snapshot: these rules say which changes end it (DESIGN §7.2, "streams
//! re-check who they serve"). Revocations travel as events, so deciding one costs no query;
//! [`stale`] is the periodic re-check that catches an event that never arrived.

use super::{Viewer, scope::Scope};
use entity::{
    OrgKind, OrgRole, OrgStatus, PlatformRole, api_client, membership, organization, user,
};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// A change to what a viewer holds. Most withdraw access granted earlier; a few grant it
/// (a membership added, an organization approved or reinstated) and travel the same way so
/// that cached viewers (`auth/viewer_cache.rs`) hear of them on every instance, while
/// streams ([`Revocation::ends`]) are ended only by withdrawals. Each carries the new state,
/// so a viewer loaded after the change (a client that reconnected) is not ended by it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "what")]
pub enum Revocation {
    /// An API client was revoked.
    ApiClient { id: Uuid },
    /// A user was deactivated.
    User { id: Uuid },
    /// A user's membership changed: removed (`role` absent) or given another role.
    Membership {
        user_id: Uuid,
        organization_id: Uuid,
        role: Option<OrgRole>,
    },
    /// An organization changed status; its members' and clients' access changes with it.
    Organization { id: Uuid, status: OrgStatus },
    /// A user became a member (added, re-added, or registered the organization). It
    /// withdraws nothing; it is its own variant so that a stream registered moments later
    /// with another role is not ended by it (sessions remember recent revocations).
    MemberAdded {
        user_id: Uuid,
        organization_id: Uuid,
    },
    /// A user's session was revoked (`family_id`), or all of them (`None`): access tokens
    /// issued for it are refused, and streams opened with them end.
    Session {
        user_id: Uuid,
        family_id: Option<Uuid>,
    },
    /// Something a user's viewer carries changed without withdrawing access (MFA turned on
    /// or off): cached viewers are forgotten, streams go on.
    Account { id: Uuid },
}

impl Revocation {
    /// Whether a live stream's viewer snapshot lost access with this change. A move to
    /// `APPROVED` withdraws nothing: a stream opened while the organization was pending
    /// keeps its (smaller) snapshot, as it did before approvals were published.
    pub fn ends(&self, viewer: &Viewer) -> bool {
        if matches!(
            self,
            Self::Organization {
                status: OrgStatus::Approved,
                ..
            }
        ) {
            return false;
        }
        match (self, viewer) {
            (Self::ApiClient { id }, Viewer::Client(c)) => c.id == *id,
            (Self::User { id }, Viewer::User(u)) => u.id == *id,
            (Self::Session { user_id, family_id }, Viewer::User(u)) => {
                u.id == *user_id
                    && u.session.is_some()
                    && family_id.is_none_or(|f| u.session == Some(f))
            }
            (
                Self::Membership {
                    user_id,
                    organization_id,
                    role,
                },
                Viewer::User(u),
            ) => {
                u.id == *user_id
                    && u.grants
                        .iter()
                        .any(|g| g.organization_id == *organization_id && Some(g.role) != *role)
            }
            (Self::Organization { id, status }, Viewer::User(u)) => u
                .grants
                .iter()
                .any(|g| g.organization_id == *id && g.org_status != *status),
            (Self::Organization { id, status }, Viewer::Client(c)) => {
                c.organization_id == *id && c.org_status != *status
            }
            _ => false,
        }
    }

    /// Whether a viewer loaded before this change may differ from one loaded after it,
    /// whichever way access moved: the cache forgets every viewer this concerns.
    pub fn concerns(&self, viewer: &Viewer) -> bool {
        match (self, viewer) {
            (Self::ApiClient { id }, Viewer::Client(c)) => c.id == *id,
            (Self::User { id }, Viewer::User(u))
            | (Self::Membership { user_id: id, .. }, Viewer::User(u))
            | (Self::MemberAdded { user_id: id, .. }, Viewer::User(u))
            | (Self::Session { user_id: id, .. }, Viewer::User(u))
            | (Self::Account { id }, Viewer::User(u)) => u.id == *id,
            (Self::Organization { id, .. }, Viewer::User(u)) => {
                u.grants.iter().any(|g| g.organization_id == *id) || u.dormant.contains(id)
            }
            (Self::Organization { id, .. }, Viewer::Client(c)) => c.organization_id == *id,
            _ => false,
        }
    }
}

/// Ids per query, well under every backend's limit on bound parameters.
const CHUNK: usize = 500;

/// Which of `viewers` no longer hold (their positions): a user gone, deactivated, with
/// another platform role, or missing one of the grants the snapshot holds as it was; an API
/// client gone, revoked, expired, with other scopes, or whose organization changed status.
/// A grant added since does not end a snapshot. One query per 500 clients and two per 500
/// users, however many connections they hold.
pub async fn stale<C: ConnectionTrait>(db: &C, viewers: &[&Viewer]) -> Result<Vec<usize>, DbErr> {
    let mut user_ids = HashSet::new();
    let mut client_ids = HashSet::new();
    for v in viewers {
        match v {
            Viewer::User(u) => {
                user_ids.insert(u.id);
            }
            Viewer::Client(c) => {
                client_ids.insert(c.id);
            }
            Viewer::Anonymous { .. } => {}
        }
    }
    let user_ids: Vec<Uuid> = user_ids.into_iter().collect();
    let client_ids: Vec<Uuid> = client_ids.into_iter().collect();

    let mut users: HashMap<Uuid, PlatformRole> = HashMap::new();
    let mut grants: HashSet<(Uuid, Uuid, OrgRole, OrgKind, OrgStatus)> = HashSet::new();
    for ids in user_ids.chunks(CHUNK) {
        let rows: Vec<(Uuid, PlatformRole)> = user::Entity::find()
            .select_only()
            .columns([user::Column::Id, user::Column::PlatformRole])
            .filter(user::Column::Id.is_in(ids.iter().copied()))
            .filter(user::Column::IsActive.eq(true))
            .into_tuple()
            .all(db)
            .await?;
        users.extend(rows);
        let rows: Vec<(Uuid, Uuid, OrgRole, OrgKind, OrgStatus)> = membership::Entity::find()
            .select_only()
            .columns([
                membership::Column::UserId,
                membership::Column::OrganizationId,
                membership::Column::Role,
            ])
            .column(organization::Column::Kind)
            .column(organization::Column::Status)
            .inner_join(organization::Entity)
            .filter(membership::Column::UserId.is_in(ids.iter().copied()))
            .filter(membership::Column::IsActive.eq(true))
            .into_tuple()
            .all(db)
            .await?;
        grants.extend(rows);
    }

    type ClientRow = (
        Uuid,
        Option<chrono::DateTime<chrono::Utc>>,
        Option<chrono::DateTime<chrono::Utc>>,
        serde_json::Value,
        OrgStatus,
    );
    let now = chrono::Utc::now();
    let mut clients: HashMap<Uuid, (Vec<Scope>, OrgStatus)> = HashMap::new();
    for ids in client_ids.chunks(CHUNK) {
        let rows: Vec<ClientRow> = api_client::Entity::find()
            .select_only()
            .columns([
                api_client::Column::Id,
                api_client::Column::RevokedAt,
                api_client::Column::ExpiresAt,
                api_client::Column::Scopes,
            ])
            .column(organization::Column::Status)
            .inner_join(organization::Entity)
            .filter(api_client::Column::Id.is_in(ids.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        for (id, revoked_at, expires_at, scopes, status) in rows {
            if revoked_at.is_none() && expires_at.is_none_or(|e| e > now) {
                clients.insert(id, (Scope::from_stored(&scopes), status));
            }
        }
    }

    Ok(viewers
        .iter()
        .enumerate()
        .filter(|(_, v)| match v {
            Viewer::User(u) => {
                users.get(&u.id) != Some(&u.platform_role)
                    || u.grants.iter().any(|g| {
                        !grants.contains(&(
                            u.id,
                            g.organization_id,
                            g.role,
                            g.org_kind,
                            g.org_status,
                        ))
                    })
            }
            Viewer::Client(c) => match clients.get(&c.id) {
                Some((scopes, status)) => *status != c.org_status || *scopes != c.scopes,
                None => true,
            },
            Viewer::Anonymous { .. } => false,
        })
        .map(|(i, _)| i)
        .collect())
}
