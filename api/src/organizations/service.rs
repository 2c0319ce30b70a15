//! Organization use cases: registration and the status machine, membership invariants, API
//! credentials. Each takes a transaction and a parsed command and returns what changed.

use super::commands::{
    AddMember, ChangeMemberRole, CreateApiClient, Member, RegisterOrganization, RevokeApiClient,
};
use crate::{
    alerts::service::{self as alerts, AlertContent, NewAlert, Target},
    audit::Change,
    auth::{
        Actor,
        scope::Scope,
        tokens::{API_TOKEN_PREFIX, random_token, token_hash},
    },
    consultations::service::detach_doctor,
    db::now,
    error::{AppError, AppResult, unique_violation},
    validation::{Phone, Text},
};
use entity::{
    AlertKind, OrgKind, OrgRole, OrgStatus, Severity, WireName, api_client, membership,
    organization, user,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter,
};
use serde_json::json;
use uuid::Uuid;
// Streams opened with the access a change withdraws end on these events (DESIGN §7.2).
use crate::{auth::revocation::Revocation, events::Event};

fn org_json(o: &organization::Model) -> serde_json::Value {
    json!({"code": o.code, "name": o.name, "kind": o.kind, "status": o.status})
}

/// `registerOrganization`: the organization, `PENDING`, with the caller as its first
/// `ADMIN`, and an alert to the super admins who review it.
pub async fn register<C: ConnectionTrait>(
    db: &C,
    cmd: RegisterOrganization,
    actor: &Actor,
) -> AppResult<(organization::Model, Change)> {
    let admin = actor
        .user_id
        .ok_or(AppError::Unauthenticated("sign in first"))?;
    let (org, _) = create(db, cmd, admin).await?;
    let kind = match org.kind {
        OrgKind::Hospital => "hospital",
        OrgKind::BloodBank => "blood bank",
        OrgKind::Ngo => "NGO",
    };
    let alert = NewAlert {
        content: AlertContent::new(
            AlertKind::OrgPending,
            Severity::Info,
            format!("{} waits for approval", org.name),
            format!(
                "{} ({kind}, {}) registered and is pending review.",
                org.name, org.city
            ),
        ),
        organization_id: Some(org.id),
        location: Some((org.latitude, org.longitude)),
        radius_km: None,
        related: Some(("organization", org.id)),
        target: Target::SuperAdmins,
    };
    let mut events = alerts::raise(db, alert).await?;
    // The creator's cached viewer gains the new organization's grant.
    events.push(Event::Revoked(Revocation::MemberAdded {
        user_id: admin,
        organization_id: org.id,
    }));
    let change = Change {
        entity_id: Some(org.id),
        organization_id: Some(org.id),
        new: Some(org_json(&org)),
        events,
        ..Change::default()
    };
    Ok((org, change))
}

/// Creates an organization as `PENDING` with `admin` as its first `ADMIN` (no alert: the
/// demo seed approves at once).
pub async fn create<C: ConnectionTrait>(
    db: &C,
    new: RegisterOrganization,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// Every move, indexed by its `u8` value.
    pub const ALL: [Self; 4] = [Self::Approve, Self::Reject, Self::Suspend, Self::Reinstate];

    pub const fn action(self) -> &'static str {
        match self {
            Self::Approve => "organization.approve",
            Self::Reject => "organization.reject",
            Self::Suspend => "organization.suspend",
            Self::Reinstate => "organization.reinstate",
        }
    }

    /// Rejecting and suspending need a reason.
    pub fn needs_reason(self) -> bool {
        matches!(self, Self::Reject | Self::Suspend)
    }

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

/// A super admin's status move, with its reason for the audit trail. Approving or rejecting
/// resolves the organization's pending alert.
pub async fn change_status<C: ConnectionTrait>(
    db: &C,
    org_id: Uuid,
    mv: StatusMove,
    reason: Option<Text>,
) -> AppResult<(organization::Model, Change)> {
    let (before, after) = move_status(db, org_id, mv).await?;
    if matches!(mv, StatusMove::Approve | StatusMove::Reject) {
        alerts::resolve_related(db, org_id, &[AlertKind::OrgPending]).await?;
    }
    let mut new = org_json(&after);
    if let Some(r) = reason {
        new["reason"] = json!(r.into_inner());
    }
    let change = Change {
        organization_id: Some(org_id),
        old: Some(org_json(&before)),
        new: Some(new),
        // Every move changes what its members and clients hold: the withdrawals end their
        // streams, and approvals too reach the cached viewers (`Revocation::ends` tells).
        events: vec![Event::Revoked(Revocation::Organization {
            id: org_id,
            status: after.status,
        })],
        ..Change::default()
    };
    Ok((after, change))
}

/// Applies a status move as a conditional update, so two admins acting at once cannot both
/// move the same organization; any other starting state is `INVALID_TRANSITION`.
async fn move_status<C: ConnectionTrait>(
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

/// `addMember`: adds an existing account to an organization (or reactivates a removed
/// membership).
pub async fn add_member<C: ConnectionTrait>(
    db: &C,
    cmd: AddMember,
) -> AppResult<(membership::Model, Change)> {
    let org_id = cmd.organization_id;
    lock_org(db, org_id).await?;
    let u = user::Entity::find()
        .filter(user::Column::Email.eq(cmd.email.as_str()))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    let existing = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(org_id))
        .filter(membership::Column::UserId.eq(u.id))
        .one(db)
        .await?;
    let m = match existing {
        Some(m) if m.is_active => {
            return Err(AppError::Conflict("this user is already a member".into()));
        }
        Some(m) => {
            let mut am: membership::ActiveModel = m.into();
            am.is_active = Set(true);
            am.role = Set(cmd.role);
            am.updated_at = Set(now());
            am.update(db).await?
        }
        None => insert_membership(db, u.id, org_id, cmd.role).await?,
    };
    let change = Change {
        entity_id: Some(m.id),
        new: Some(json!({"userId": m.user_id, "role": m.role})),
        // Grants nothing a stream holds, but the member's cached viewer gains the grant.
        events: vec![Event::Revoked(Revocation::MemberAdded {
            user_id: m.user_id,
            organization_id: m.organization_id,
        })],
        ..Change::default()
    };
    Ok((m, change))
}

/// `changeMemberRole`; the last admin cannot be demoted.
pub async fn change_role<C: ConnectionTrait>(
    db: &C,
    cmd: ChangeMemberRole,
) -> AppResult<(membership::Model, Change)> {
    let before = member_of(db, &cmd.member).await?;
    if cmd.role != OrgRole::Admin {
        keep_an_admin(db, cmd.member.organization_id, &before).await?;
    }
    let mut am: membership::ActiveModel = before.clone().into();
    am.role = Set(cmd.role);
    am.updated_at = Set(now());
    let after = am.update(db).await?;
    if after.role != OrgRole::Doctor {
        detach_doctor(db, after.user_id, after.organization_id).await?;
    }
    let change = Change {
        entity_id: Some(after.id),
        old: Some(json!({"role": before.role})),
        new: Some(json!({"role": after.role})),
        events: vec![Event::Revoked(Revocation::Membership {
            user_id: after.user_id,
            organization_id: after.organization_id,
            role: Some(after.role),
        })],
        ..Change::default()
    };
    Ok((after, change))
}

/// `removeMember` (the membership is kept, inactive); the last admin cannot leave.
pub async fn remove_member<C: ConnectionTrait>(
    db: &C,
    member: Member,
) -> AppResult<(membership::Model, Change)> {
    let before = member_of(db, &member).await?;
    keep_an_admin(db, member.organization_id, &before).await?;
    let mut am: membership::ActiveModel = before.into();
    am.is_active = Set(false);
    am.updated_at = Set(now());
    let m = am.update(db).await?;
    detach_doctor(db, m.user_id, m.organization_id).await?;
    let change = Change {
        entity_id: Some(m.id),
        old: Some(json!({"userId": m.user_id, "role": m.role, "isActive": true})),
        new: Some(json!({"isActive": false})),
        events: vec![Event::Revoked(Revocation::Membership {
            user_id: m.user_id,
            organization_id: m.organization_id,
            role: None,
        })],
        ..Change::default()
    };
    Ok((m, change))
}

/// The active membership of a member, with the organization locked for the change.
async fn member_of<C: ConnectionTrait>(db: &C, member: &Member) -> AppResult<membership::Model> {
    lock_org(db, member.organization_id).await?;
    membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(member.organization_id))
        .filter(membership::Column::UserId.eq(member.user_id))
        .filter(membership::Column::IsActive.eq(true))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("membership"))
}

/// `createApiClient` (by a user): the client and its token, which is stored only as a hash
/// and shown only now.
pub async fn create_api_client<C: ConnectionTrait>(
    db: &C,
    cmd: CreateApiClient,
    actor: &Actor,
) -> AppResult<((api_client::Model, String), Change)> {
    let created_by = actor
        .user_id
        .ok_or(AppError::Forbidden("only users create API clients"))?;
    let token = random_token(API_TOKEN_PREFIX);
    let c = api_client::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(cmd.organization_id),
        name: Set(cmd.name.into_inner()),
        token_prefix: Set(token.chars().take(10).collect()),
        token_hash: Set(token_hash(&token)),
        scopes: Set(Scope::to_stored(&cmd.scopes)),
        expires_at: Set(cmd.expires_at),
        revoked_at: Set(None),
        created_by: Set(created_by),
        last_used_at: Set(None),
        created_at: Set(now()),
    }
    .insert(db)
    .await?;
    let change = Change {
        entity_id: Some(c.id),
        new: Some(json!({"name": c.name, "scopes": c.scopes, "expiresAt": c.expires_at})),
        ..Change::default()
    };
    Ok(((c, token), change))
}

/// `revokeApiClient`: revokes a client of the organization; revoking twice is a `CONFLICT`.
pub async fn revoke_api_client<C: ConnectionTrait>(
    db: &C,
    cmd: RevokeApiClient,
) -> AppResult<(api_client::Model, Change)> {
    let c = api_client::Entity::find_by_id(cmd.api_client_id)
        .filter(api_client::Column::OrganizationId.eq(cmd.organization_id))
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
    let c = am.update(db).await?;
    let change = Change {
        entity_id: Some(c.id),
        new: Some(json!({"revokedAt": c.revoked_at})),
        events: vec![Event::Revoked(Revocation::ApiClient { id: c.id })],
        ..Change::default()
    };
    Ok((c, change))
}

/// `updateOrganization`: the profile fields given. The audit row keeps the old and new
/// value of each changed field (a location change among them); status, code and kind are
/// not edited here.
pub async fn update<C: ConnectionTrait>(
    db: &C,
    cmd: super::commands::UpdateOrganization,
) -> AppResult<(organization::Model, Change)> {
    use sea_orm::ActiveValue::Set;
    let before = organization::Entity::find_by_id(cmd.organization_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("organization"))?;
    let mut am: organization::ActiveModel = before.clone().into();
    let mut old = serde_json::Map::new();
    let mut new = serde_json::Map::new();
    let mut note = |k: &str, o: serde_json::Value, n: serde_json::Value| {
        if o != n {
            old.insert(k.into(), o);
            new.insert(k.into(), n);
        }
    };
    if let Some(v) = cmd.name.map(|t| t.into_inner()) {
        note("name", json!(before.name), json!(v));
        am.name = Set(v);
    }
    if let Some(v) = cmd.address.map(|o| o.map(|t| t.into_inner())) {
        note("address", json!(before.address), json!(v));
        am.address = Set(v);
    }
    if let Some(v) = cmd.city.map(|t| t.into_inner()) {
        note("city", json!(before.city), json!(v));
        am.city = Set(v);
    }
    if let Some(v) = cmd.state.map(|o| o.map(|t| t.into_inner())) {
        note("state", json!(before.state), json!(v));
        am.state = Set(v);
    }
    if let Some(v) = cmd.postal_code.map(|o| o.map(|t| t.into_inner())) {
        note("postalCode", json!(before.postal_code), json!(v));
        am.postal_code = Set(v);
    }
    if let Some(v) = cmd.country.map(|c| c.into_inner()) {
        note("country", json!(before.country), json!(v));
        am.country = Set(v);
    }
    if let Some(p) = cmd.location {
        note(
            "location",
            json!({"latitude": before.latitude, "longitude": before.longitude}),
            json!({"latitude": p.latitude, "longitude": p.longitude}),
        );
        am.latitude = Set(p.latitude);
        am.longitude = Set(p.longitude);
    }
    if let Some(v) = cmd.phone.map(|o| o.map(|p| p.into_inner())) {
        note("phone", json!(before.phone), json!(v));
        am.phone = Set(v);
    }
    if let Some(v) = cmd.email.map(|o| o.map(|e| e.as_str().to_string())) {
        note("email", json!(before.email), json!(v));
        am.email = Set(v);
    }
    let changed = !new.is_empty();
    let after = if changed {
        am.updated_at = Set(now());
        am.update(db).await?
    } else {
        before
    };
    let change = Change {
        entity_id: Some(after.id),
        organization_id: Some(after.id),
        old: changed.then_some(serde_json::Value::Object(old)),
        new: changed.then_some(serde_json::Value::Object(new)),
        ..Change::default()
    };
    Ok((after, change))
}
