//! Organization rules: the status machine, membership invariants, API credentials.

use crate::{
    auth::{
        scope::Scope,
        tokens::{API_TOKEN_PREFIX, random_token, token_hash},
    },
    db::now,
    error::{AppError, AppResult, unique_violation},
    validation::{CountryCode, Email, GeoPoint, OrgCode, Phone, Text},
};
use entity::{OrgKind, OrgRole, OrgStatus, WireName, api_client, membership, organization, user};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter,
};
use uuid::Uuid;

/// A validated registration.
pub struct NewOrganization {
    /// Code.
    pub code: OrgCode,
    /// Name.
    pub name: Text,
    /// Kind.
    pub kind: OrgKind,
    /// Address.
    pub address: Option<Text>,
    /// City.
    pub city: Text,
    /// State.
    pub state: Option<Text>,
    /// Postal code.
    pub postal_code: Option<Text>,
    /// Country.
    pub country: CountryCode,
    /// Location.
    pub location: GeoPoint,
    /// Phone.
    pub phone: Option<Phone>,
    /// Email.
    pub email: Option<Email>,
    /// Licence.
    pub license_number: Option<Text>,
    /// Registration.
    pub registration_number: Option<Text>,
}

/// Registers an organization as `PENDING` with `admin` as its first `ADMIN`.
pub async fn register<C: ConnectionTrait>(
    db: &C,
    new: NewOrganization,
    admin: Uuid,
) -> AppResult<(organization::Model, membership::Model)> {
    let t = now();
    let code = new.code.into_inner();
    let taken = organization::Entity::find()
        .filter(organization::Column::Code.eq(code.clone()))
        .count(db)
        .await?;
    if taken > 0 {
        return Err(AppError::Conflict(
            "an organization with this code exists".into(),
        ));
    }
    let org = organization::ActiveModel {
        id: Set(Uuid::now_v7()),
        code: Set(code),
        name: Set(new.name.into_inner()),
        kind: Set(new.kind),
        address: Set(new.address.map(Text::into_inner)),
        city: Set(new.city.into_inner()),
        state: Set(new.state.map(Text::into_inner)),
        postal_code: Set(new.postal_code.map(Text::into_inner)),
        country: Set(new.country.into_inner()),
        latitude: Set(new.location.latitude),
        longitude: Set(new.location.longitude),
        phone: Set(new.phone.map(Phone::into_inner)),
        email: Set(new.email.map(|e| e.as_str().to_string())),
        license_number: Set(new.license_number.map(Text::into_inner)),
        registration_number: Set(new.registration_number.map(Text::into_inner)),
        status: Set(OrgStatus::Pending),
        approved_at: Set(None),
        suspended_at: Set(None),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(db)
    .await
    .map_err(unique_violation)?;
    let m = insert_membership(db, admin, org.id, OrgRole::Admin).await?;
    Ok((org, m))
}

async fn insert_membership<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    org_id: Uuid,
    role: OrgRole,
) -> AppResult<membership::Model> {
    let t = now();
    membership::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        organization_id: Set(org_id),
        role: Set(role),
        is_active: Set(true),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(db)
    .await
    .map_err(unique_violation)
}

/// The status moves a super admin can make.
#[derive(Debug, Clone, Copy)]
pub enum StatusMove {
    /// PENDING → APPROVED.
    Approve,
    /// PENDING → REJECTED.
    Reject,
    /// APPROVED → SUSPENDED.
    Suspend,
    /// SUSPENDED → APPROVED.
    Reinstate,
}

impl StatusMove {
    fn states(self) -> (OrgStatus, OrgStatus) {
        match self {
            Self::Approve => (OrgStatus::Pending, OrgStatus::Approved),
            Self::Reject => (OrgStatus::Pending, OrgStatus::Rejected),
            Self::Suspend => (OrgStatus::Approved, OrgStatus::Suspended),
            Self::Reinstate => (OrgStatus::Suspended, OrgStatus::Approved),
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
            Self::Suspend => "suspend",
            Self::Reinstate => "reinstate",
        }
    }
}

/// Applies a status move as a conditional update, so two admins acting at once cannot both
/// move the same organization; any other starting state is `INVALID_TRANSITION`.
pub async fn change_status<C: ConnectionTrait>(
    db: &C,
    org_id: Uuid,
    mv: StatusMove,
) -> AppResult<(organization::Model, organization::Model)> {
    let (from, to) = mv.states();
    let before = organization::Entity::find_by_id(org_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("organization"))?;
    let t = now();
    let mut update = organization::Entity::update_many()
        .col_expr(organization::Column::Status, to.into())
        .col_expr(organization::Column::UpdatedAt, t.into())
        .filter(organization::Column::Id.eq(org_id))
        .filter(organization::Column::Status.eq(from));
    match mv {
        StatusMove::Approve => {
            update = update.col_expr(organization::Column::ApprovedAt, Some(t).into())
        }
        StatusMove::Suspend => {
            update = update.col_expr(organization::Column::SuspendedAt, Some(t).into())
        }
        StatusMove::Reinstate => {
            update = update.col_expr(
                organization::Column::SuspendedAt,
                Option::<chrono::DateTime<chrono::Utc>>::None.into(),
            )
        }
        StatusMove::Reject => {}
    }
    let r = update.exec(db).await?;
    if r.rows_affected != 1 {
        return Err(AppError::InvalidTransition {
            from: before.status.wire_name(),
            to: mv.verb().into(),
        });
    }
    let after = organization::Entity::find_by_id(org_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("organization"))?;
    Ok((before, after))
}

/// Serializes membership changes of one organization: on Postgres a row lock on the
/// organization; on SQLite the write transaction already holds the database lock.
async fn lock_org<C: ConnectionTrait>(db: &C, org_id: Uuid) -> AppResult<()> {
    crate::db::find_locked::<organization::Entity, _>(db, org_id)
        .await?
        .ok_or(AppError::NotFound("organization"))?;
    Ok(())
}

async fn active_membership<C: ConnectionTrait>(
    db: &C,
    org_id: Uuid,
    user_id: Uuid,
) -> AppResult<membership::Model> {
    membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(org_id))
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::IsActive.eq(true))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("membership"))
}

/// Refuses a change that would leave the organization with no active admin.
async fn keep_an_admin<C: ConnectionTrait>(
    db: &C,
    org_id: Uuid,
    leaving: &membership::Model,
) -> AppResult<()> {
    if leaving.role != OrgRole::Admin {
        return Ok(());
    }
    let others = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(org_id))
        .filter(membership::Column::Role.eq(OrgRole::Admin))
        .filter(membership::Column::IsActive.eq(true))
        .filter(membership::Column::Id.ne(leaving.id))
        .count(db)
        .await?;
    if others == 0 {
        return Err(AppError::Conflict(
            "an organization must keep at least one admin".into(),
        ));
    }
    Ok(())
}

/// Adds an existing account to an organization (or reactivates a removed membership).
pub async fn add_member<C: ConnectionTrait>(
    db: &C,
    org_id: Uuid,
    email: &Email,
    role: OrgRole,
) -> AppResult<membership::Model> {
    lock_org(db, org_id).await?;
    let u = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    let existing = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(org_id))
        .filter(membership::Column::UserId.eq(u.id))
        .one(db)
        .await?;
    match existing {
        Some(m) if m.is_active => Err(AppError::Conflict("this user is already a member".into())),
        Some(m) => {
            let mut am: membership::ActiveModel = m.into();
            am.is_active = Set(true);
            am.role = Set(role);
            am.updated_at = Set(now());
            Ok(am.update(db).await?)
        }
        None => insert_membership(db, u.id, org_id, role).await,
    }
}

/// Changes a member's role; the last admin cannot be demoted.
pub async fn change_role<C: ConnectionTrait>(
    db: &C,
    org_id: Uuid,
    user_id: Uuid,
    role: OrgRole,
) -> AppResult<(membership::Model, membership::Model)> {
    lock_org(db, org_id).await?;
    let before = active_membership(db, org_id, user_id).await?;
    if role != OrgRole::Admin {
        keep_an_admin(db, org_id, &before).await?;
    }
    let mut am: membership::ActiveModel = before.clone().into();
    am.role = Set(role);
    am.updated_at = Set(now());
    Ok((before, am.update(db).await?))
}

/// Removes a member (the membership is kept, inactive); the last admin cannot leave.
pub async fn remove_member<C: ConnectionTrait>(
    db: &C,
    org_id: Uuid,
    user_id: Uuid,
) -> AppResult<membership::Model> {
    lock_org(db, org_id).await?;
    let before = active_membership(db, org_id, user_id).await?;
    keep_an_admin(db, org_id, &before).await?;
    let mut am: membership::ActiveModel = before.into();
    am.is_active = Set(false);
    am.updated_at = Set(now());
    Ok(am.update(db).await?)
}

/// Creates an API client; returns it with its token, which is stored only as a hash.
pub async fn create_api_client<C: ConnectionTrait>(
    db: &C,
    org_id: Uuid,
    name: Text,
    scopes: Vec<Scope>,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    created_by: Uuid,
) -> AppResult<(api_client::Model, String)> {
    let token = random_token(API_TOKEN_PREFIX);
    let model = api_client::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org_id),
        name: Set(name.into_inner()),
        token_prefix: Set(token.chars().take(10).collect()),
        token_hash: Set(token_hash(&token)),
        scopes: Set(Scope::to_stored(&scopes)),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        created_by: Set(created_by),
        last_used_at: Set(None),
        created_at: Set(now()),
    }
    .insert(db)
    .await?;
    Ok((model, token))
}

/// Revokes an API client of the organization; revoking twice is a `CONFLICT`.
pub async fn revoke_api_client<C: ConnectionTrait>(
    db: &C,
    org_id: Uuid,
    client_id: Uuid,
) -> AppResult<api_client::Model> {
    let c = api_client::Entity::find_by_id(client_id)
        .filter(api_client::Column::OrganizationId.eq(org_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("API client"))?;
    if c.revoked_at.is_some() {
        return Err(AppError::Conflict(
            "the API client is already revoked".into(),
        ));
    }
    let mut am: api_client::ActiveModel = c.into();
    am.revoked_at = Set(Some(now()));
    Ok(am.update(db).await?)
}
