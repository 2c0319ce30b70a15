//! The [`Viewer`]: who is calling, built once per request from the `Authorization` header.

use super::tokens::{API_TOKEN_PREFIX, TokenKeys, token_hash};
use crate::error::AppResult;
use entity::{
    OrgKind, OrgRole, OrgStatus, PlatformRole, api_client, membership, organization, session, user,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

/// An active membership of the caller, with its organization's state at request time.
#[derive(Debug, Clone)]
pub struct Grant {
    pub organization_id: Uuid,
    /// The caller's role there.
    pub role: OrgRole,
    /// The organization's kind.
    pub org_kind: OrgKind,
    /// The organization's status; only `APPROVED` organizations can be acted for.
    pub org_status: OrgStatus,
}

/// A signed-in, active user.
#[derive(Debug, Clone)]
pub struct UserViewer {
    /// The user's id.
    pub id: Uuid,
    pub platform_role: PlatformRole,
    /// Memberships of organizations that are pending or approved.
    pub grants: Vec<Grant>,
    /// Organizations the user is a member of that are suspended or rejected: the user still
    /// sees their profile (and status), and nothing else of them.
    pub dormant: Vec<Uuid>,
    /// Access tokens issued before this are refused (a password reset ended every session).
    pub tokens_after: Option<chrono::DateTime<chrono::Utc>>,
    /// Whether the account has MFA on (`auth::mfa` holds accounts that must and do not).
    pub mfa: bool,
    /// The session (refresh-token family) the access token belongs to, when it names one.
    pub session: Option<Uuid>,
}

/// A partner system calling with an API token.
#[derive(Debug, Clone)]
pub struct ClientViewer {
    /// The API client's id.
    pub id: Uuid,
    /// The organization it acts for.
    pub organization_id: Uuid,
    /// That organization's kind.
    pub org_kind: OrgKind,
    /// That organization's status.
    pub org_status: OrgStatus,
    pub scopes: Vec<super::scope::Scope>,
}

/// Who is calling.
#[derive(Debug, Clone)]
pub enum Viewer {
    /// No credentials, or credentials that did not check out (`rejected` says so, so that
    /// operations needing a caller answer "invalid token" rather than "sign in").
    Anonymous {
        /// True when a token was presented but refused.
        rejected: bool,
    },
    User(UserViewer),
    Client(ClientViewer),
}

impl Viewer {
    /// Resolves the bearer token of a request. A refused token yields an anonymous viewer
    /// marked `rejected`; database failures are errors.
    pub async fn from_bearer<C: ConnectionTrait>(
        db: &C,
        keys: &TokenKeys,
        bearer: Option<&str>,
    ) -> AppResult<Self> {
        let Some(token) = bearer else {
            return Ok(Self::Anonymous { rejected: false });
        };
        if token.starts_with(API_TOKEN_PREFIX) {
            return Self::load_client(db, token).await;
        }
        match keys.verify_access_claims(token) {
            Ok(access) => Ok(Self::load_session(db, access.user_id, access.session)
                .await?
                .holding(access.issued_at)),
            Err(_) => Ok(Self::Anonymous { rejected: true }),
        }
    }

    /// This viewer as seen through an access token issued at `issued_at`: refused when the
    /// user's credentials changed since (a password reset ends every session).
    pub fn holding(self, issued_at: chrono::DateTime<chrono::Utc>) -> Self {
        match &self {
            Self::User(u) if u.tokens_after.is_some_and(|t| issued_at < t) => {
                Self::Anonymous { rejected: true }
            }
            _ => self,
        }
    }

    /// Loads a user viewer by id: one query for the user, one for memberships with their
    /// organizations. A deactivated user is refused here, so their tokens stop at once.
    pub async fn load_user<C: ConnectionTrait>(db: &C, user_id: Uuid) -> AppResult<Self> {
        Self::load_session(db, user_id, None).await
    }

    /// Loads the viewer of an access token issued for `session`: refused once that session
    /// is revoked (one more query, only when the token names a session).
    pub async fn load_session<C: ConnectionTrait>(
        db: &C,
        user_id: Uuid,
        session: Option<Uuid>,
    ) -> AppResult<Self> {
        if let Some(family) = session {
            let live = session::Entity::find()
                .filter(session::Column::FamilyId.eq(family))
                .filter(session::Column::UserId.eq(user_id))
                .filter(session::Column::RevokedAt.is_null())
                .one(db)
                .await?;
            if live.is_none() {
                return Ok(Self::Anonymous { rejected: true });
            }
        }
        let Some(u) = user::Entity::find_by_id(user_id).one(db).await? else {
            return Ok(Self::Anonymous { rejected: true });
        };
        if !u.is_active {
            return Ok(Self::Anonymous { rejected: true });
        }
        let rows = membership::Entity::find()
            .filter(membership::Column::UserId.eq(user_id))
            .filter(membership::Column::IsActive.eq(true))
            .find_also_related(organization::Entity)
            .all(db)
            .await?;
        let (mut grants, mut dormant) = (Vec::new(), Vec::new());
        for (m, o) in rows {
            let Some(o) = o else { continue };
            if matches!(o.status, OrgStatus::Pending | OrgStatus::Approved) {
                grants.push(Grant {
                    organization_id: m.organization_id,
                    role: m.role,
                    org_kind: o.kind,
                    org_status: o.status,
                });
            } else {
                dormant.push(o.id);
            }
        }
        Ok(Self::User(UserViewer {
            id: u.id,
            platform_role: u.platform_role,
            grants,
            dormant,
            tokens_after: u.credentials_changed_at,
            mfa: u.mfa_enabled_at.is_some(),
            session,
        }))
    }

    async fn load_client<C: ConnectionTrait>(db: &C, token: &str) -> AppResult<Self> {
        Ok(Self::load_client_by_hash(db, &token_hash(token)).await?.0)
    }

    /// Loads an API client's viewer by its token's hash, with when the token expires.
    pub async fn load_client_by_hash<C: ConnectionTrait>(
        db: &C,
        hash: &str,
    ) -> AppResult<(Self, Option<chrono::DateTime<chrono::Utc>>)> {
        let found = api_client::Entity::find()
            .filter(api_client::Column::TokenHash.eq(hash))
            .find_also_related(organization::Entity)
            .one(db)
            .await?;
        let Some((client, Some(org))) = found else {
            return Ok((Self::Anonymous { rejected: true }, None));
        };
        let now = chrono::Utc::now();
        // A suspended organization's partner systems stop with it, reads included.
        if client.revoked_at.is_some()
            || client.expires_at.is_some_and(|e| e <= now)
            || org.status != OrgStatus::Approved
        {
            return Ok((Self::Anonymous { rejected: true }, None));
        }
        let scopes = super::scope::Scope::from_stored(&client.scopes);
        let viewer = Self::Client(ClientViewer {
            id: client.id,
            organization_id: client.organization_id,
            org_kind: org.kind,
            org_status: org.status,
            scopes,
        });
        Ok((viewer, client.expires_at))
    }

    /// The user id, when the caller is a user.
    pub fn user_id(&self) -> Option<Uuid> {
        match self {
            Self::User(u) => Some(u.id),
            _ => None,
        }
    }

    /// True for a super admin.
    pub fn is_super_admin(&self) -> bool {
        matches!(self, Self::User(u) if u.platform_role == PlatformRole::SuperAdmin)
    }

    /// The approved organizations of a kind the caller acts in (its memberships, or an API
    /// client's own organization).
    pub fn approved_orgs(&self, kind: OrgKind) -> Vec<Uuid> {
        match self {
            Self::User(u) => u
                .grants
                .iter()
                .filter(|g| g.org_kind == kind && g.org_status == OrgStatus::Approved)
                .map(|g| g.organization_id)
                .collect(),
            Self::Client(c) if c.org_kind == kind && c.org_status == OrgStatus::Approved => {
                vec![c.organization_id]
            }
            _ => Vec::new(),
        }
    }

    /// True when an API client holds `scope`.
    pub fn client_has(&self, scope: super::scope::Scope) -> bool {
        matches!(self, Self::Client(c) if c.scopes.contains(&scope))
    }

    /// The caller's active grant in an organization, whatever that organization's status.
    pub fn grant(&self, organization_id: Uuid) -> Option<&Grant> {
        match self {
            Self::User(u) => u
                .grants
                .iter()
                .find(|g| g.organization_id == organization_id),
            _ => None,
        }
    }
}
