//! Organization resolvers: check the caller, call the service, map the result.

use super::{
    service::{self, StatusMove},
    types::*,
};
use crate::{
    audit::{AuditAction, Change},
    auth::{
        Rule, Viewer, authorize,
        policy::{ADMIN, ANY_ROLE},
    },
    error::{AppError, AppResult},
    graphql::{
        context::{CtxExt, RequestCtx},
        ids::parse_id,
        loaders::{prime, prime_users},
        pagination::{Conn, Keyset, PageArgs, SortValue, fetch_selected, node_selects},
    },
    pipeline::mutate,
    validation::{CountryCode, Email, GeoPoint, OrgCode, Phone, Text},
};
use async_graphql::{Context, ID, Object};
use entity::{OrgStatus, organization};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

/// Organization queries.
#[derive(Default)]
pub struct OrganizationQuery;

/// Who sees which organizations' profiles: super admins all; everyone else approved ones and
/// those they belong to (a pending registration stays private to its applicants).
fn visible(viewer: &Viewer) -> Condition {
    match viewer {
        _ if viewer.is_super_admin() => Condition::all(),
        Viewer::User(u) => Condition::any()
            .add(organization::Column::Status.eq(OrgStatus::Approved))
            .add(organization::Column::Id.is_in(u.grants.iter().map(|g| g.organization_id))),
        Viewer::Client(c) => Condition::any()
            .add(organization::Column::Status.eq(OrgStatus::Approved))
            .add(organization::Column::Id.eq(c.organization_id)),
        Viewer::Anonymous { .. } => Condition::all().add(organization::Column::Id.is_null()),
    }
}

#[Object]
impl OrganizationQuery {
    /// Organizations, as a cursor connection.
    #[allow(clippy::too_many_arguments)]
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        filter: Option<OrganizationFilter>,
        order_by: Option<OrganizationOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Conn<Organization>> {
        let req = ctx.req()?;
        authorize(&req.viewer, Rule::Authenticated)?;
        let f = filter.unwrap_or_default();
        let mut q = organization::Entity::find().filter(visible(&req.viewer));
        if let Some(kinds) = f.kinds {
            q = q.filter(organization::Column::Kind.is_in(kinds));
        }
        if let Some(statuses) = f.statuses {
            q = q.filter(organization::Column::Status.is_in(statuses));
        }
        if let Some(city) = f.city {
            q = q.filter(organization::Column::City.eq(city.trim()));
        }
        if let Some(n) = f.name_contains {
            q = q.filter(organization::Column::Name.contains(n.trim()));
        }
        let order = order_by.unwrap_or_default();
        let keyset = Keyset::<organization::Entity> {
            key: match order.field {
                OrganizationOrderField::Name => {
                    Some((organization::Column::Name, |m: &organization::Model| {
                        SortValue::Text(m.name.clone())
                    }))
                }
                OrganizationOrderField::Code => {
                    Some((organization::Column::Code, |m: &organization::Model| {
                        SortValue::Text(m.code.clone())
                    }))
                }
                OrganizationOrderField::CreatedAt => None,
            },
            id: organization::Column::Id,
            id_of: |m| m.id,
            direction: order.direction,
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let page = fetch_selected(ctx, q, &keyset, &args).await?;
        let ids: Vec<Uuid> = page.rows.iter().map(|(_, m)| m.id).collect();
        prime_members(ctx, req, &ids).await?;
        Ok(page.into_connection(Organization::from))
    }

    /// One organization by id; `NOT_FOUND` when it does not exist or is not visible.
    async fn organization(&self, ctx: &Context<'_>, id: ID) -> AppResult<Organization> {
        let req = ctx.req()?;
        authorize(&req.viewer, Rule::Authenticated)?;
        let id = parse_id(&id, "id")?;
        organization::Entity::find_by_id(id)
            .filter(visible(&req.viewer))
            .one(&req.db)
            .await?
            .map(Organization::from)
            .ok_or(AppError::NotFound("organization"))
    }
}

/// Loads the members (and their users, when selected) of a page of organizations in one
/// query each and primes the request's loaders, so the page costs the same number of
/// statements whatever its length.
async fn prime_members(ctx: &Context<'_>, req: &RequestCtx, org_ids: &[Uuid]) -> AppResult<()> {
    if !node_selects(ctx, &["members"]) {
        return Ok(());
    }
    // Only organizations whose members the caller may see; the field refuses the rest.
    let readable: Vec<Uuid> = org_ids
        .iter()
        .copied()
        .filter(|id| {
            authorize(
                &req.viewer,
                Rule::ReadOrg {
                    org: *id,
                    roles: ANY_ROLE,
                    scope: None,
                },
            )
            .is_ok()
        })
        .collect();
    let members = prime(&req.loaders.members_by_org, readable).await?;
    if node_selects(ctx, &["members", "user"]) {
        prime_users(req, members.values().flatten().map(|m| m.user_id)).await?;
    }
    Ok(())
}

/// Organization mutations.
#[derive(Default)]
pub struct OrganizationMutation;

fn parse_registration(i: RegisterOrganizationInput) -> AppResult<service::NewOrganization> {
    Ok(service::NewOrganization {
        code: OrgCode::parse(&i.code, "input.code")?,
        name: Text::parse(&i.name, "input.name", 200)?,
        kind: i.kind,
        address: Text::parse_opt(i.address.as_deref(), "input.address", 300)?,
        city: Text::parse(&i.city, "input.city", 100)?,
        state: Text::parse_opt(i.state.as_deref(), "input.state", 100)?,
        postal_code: Text::parse_opt(i.postal_code.as_deref(), "input.postalCode", 20)?,
        country: CountryCode::parse(&i.country, "input.country")?,
        location: GeoPoint::parse(i.latitude, i.longitude, "input.")?,
        phone: Phone::parse_opt(i.phone.as_deref(), "input.phone")?,
        email: i
            .email
            .as_deref()
            .map(|e| Email::parse(e, "input.email"))
            .transpose()?,
        license_number: Text::parse_opt(i.license_number.as_deref(), "input.licenseNumber", 64)?,
        registration_number: Text::parse_opt(
            i.registration_number.as_deref(),
            "input.registrationNumber",
            64,
        )?,
    })
}

fn org_json(o: &entity::organization::Model) -> serde_json::Value {
    json!({"code": o.code, "name": o.name, "kind": o.kind, "status": o.status})
}

fn org_rule(id: &AppResult<Uuid>, roles: &'static [entity::OrgRole]) -> Rule {
    Rule::act_for(id, roles, None, None)
}

async fn status_move(
    ctx: &Context<'_>,
    input: OrganizationStatusInput,
    mv: StatusMove,
    action: &'static str,
) -> AppResult<OrganizationPayload> {
    let id = parse_id(&input.organization_id, "input.organizationId");
    let what = AuditAction::new(action, "organization").on_parsed(&id);
    let needs_reason = matches!(mv, StatusMove::Reject | StatusMove::Suspend);
    let reason = input.reason;
    let org = mutate(ctx, what, Rule::SuperAdmin, move |txn, _| {
        Box::pin(async move {
            let id = id?;
            let reason = Text::parse_opt(reason.as_deref(), "input.reason", 500)?;
            if needs_reason && reason.is_none() {
                return Err(AppError::bad_input("input.reason", "is required"));
            }
            let (before, after) = service::change_status(txn, id, mv).await?;
            if matches!(mv, StatusMove::Approve | StatusMove::Reject) {
                crate::alerts::service::resolve_related(txn, id, &[entity::AlertKind::OrgPending])
                    .await?;
            }
            let mut new = org_json(&after);
            if let Some(r) = reason {
                new["reason"] = json!(r.into_inner());
            }
            let change = Change {
                organization_id: Some(id),
                old: Some(org_json(&before)),
                new: Some(new),
                ..Change::default()
            };
            Ok((after, change))
        })
    })
    .await?;
    Ok(OrganizationPayload {
        organization: org.into(),
    })
}

#[Object]
impl OrganizationMutation {
    /// Registers an organization as `PENDING`; the caller becomes its `ADMIN`.
    async fn register_organization(
        &self,
        ctx: &Context<'_>,
        input: RegisterOrganizationInput,
    ) -> AppResult<OrganizationPayload> {
        let parsed = parse_registration(input);
        let org = mutate(
            ctx,
            AuditAction::new("organization.register", "organization"),
            Rule::SignedIn,
            move |txn, actor| {
                Box::pin(async move {
                    let new = parsed?;
                    let admin = actor
                        .user_id
                        .ok_or(AppError::Unauthenticated("sign in first"))?;
                    let (org, _) = service::register(txn, new, admin).await?;
                    let events = crate::alerts::service::raise(
                        txn,
                        crate::alerts::service::NewAlert {
                            kind: entity::AlertKind::OrgPending,
                            severity: entity::Severity::Info,
                            title: format!("{} waits for approval", org.name),
                            message: format!(
                                "{} ({}, {}) registered and is pending review.",
                                org.name,
                                match org.kind {
                                    entity::OrgKind::Hospital => "hospital",
                                    entity::OrgKind::BloodBank => "blood bank",
                                    entity::OrgKind::Ngo => "NGO",
                                },
                                org.city
                            ),
                            blood_group: None,
                            component: None,
                            organization_id: Some(org.id),
                            location: Some((org.latitude, org.longitude)),
                            radius_km: None,
                            related: Some(("organization", org.id)),
                            target: crate::alerts::service::Target::SuperAdmins,
                        },
                    )
                    .await?;
                    let change = Change {
                        entity_id: Some(org.id),
                        organization_id: Some(org.id),
                        new: Some(org_json(&org)),
                        events,
                        ..Change::default()
                    };
                    Ok((org, change))
                })
            },
        )
        .await?;
        Ok(OrganizationPayload {
            organization: org.into(),
        })
    }

    /// PENDING → APPROVED (super admins).
    async fn approve_organization(
        &self,
        ctx: &Context<'_>,
        input: OrganizationStatusInput,
    ) -> AppResult<OrganizationPayload> {
        status_move(ctx, input, StatusMove::Approve, "organization.approve").await
    }

    /// PENDING → REJECTED, with a reason (super admins).
    async fn reject_organization(
        &self,
        ctx: &Context<'_>,
        input: OrganizationStatusInput,
    ) -> AppResult<OrganizationPayload> {
        status_move(ctx, input, StatusMove::Reject, "organization.reject").await
    }

    /// APPROVED → SUSPENDED, with a reason (super admins). Members can no longer act for it.
    async fn suspend_organization(
        &self,
        ctx: &Context<'_>,
        input: OrganizationStatusInput,
    ) -> AppResult<OrganizationPayload> {
        status_move(ctx, input, StatusMove::Suspend, "organization.suspend").await
    }

    /// SUSPENDED → APPROVED (super admins).
    async fn reinstate_organization(
        &self,
        ctx: &Context<'_>,
        input: OrganizationStatusInput,
    ) -> AppResult<OrganizationPayload> {
        status_move(ctx, input, StatusMove::Reinstate, "organization.reinstate").await
    }

    /// Adds an existing account to the organization (its admins).
    async fn add_member(
        &self,
        ctx: &Context<'_>,
        input: AddMemberInput,
    ) -> AppResult<MembershipPayload> {
        let org = parse_id(&input.organization_id, "input.organizationId");
        let rule = org_rule(&org, ADMIN);
        let email = input.email;
        let role = input.role;
        let m = mutate(
            ctx,
            AuditAction::new("membership.add", "membership"),
            rule,
            move |txn, _| {
                Box::pin(async move {
                    let org = org?;
                    let email = Email::parse(&email, "input.email")?;
                    let m = service::add_member(txn, org, &email, role).await?;
                    let change = Change {
                        entity_id: Some(m.id),
                        new: Some(json!({"userId": m.user_id, "role": m.role})),
                        ..Change::default()
                    };
                    Ok((m, change))
                })
            },
        )
        .await?;
        Ok(MembershipPayload {
            membership: m.into(),
        })
    }

    /// Changes a member's role (its admins); the last admin cannot be demoted.
    async fn change_member_role(
        &self,
        ctx: &Context<'_>,
        input: ChangeMemberRoleInput,
    ) -> AppResult<MembershipPayload> {
        let org = parse_id(&input.organization_id, "input.organizationId");
        let rule = org_rule(&org, ADMIN);
        let user = parse_id(&input.user_id, "input.userId");
        let role = input.role;
        let m = mutate(
            ctx,
            AuditAction::new("membership.change_role", "membership"),
            rule,
            move |txn, _| {
                Box::pin(async move {
                    let (before, after) = service::change_role(txn, org?, user?, role).await?;
                    let change = Change {
                        entity_id: Some(after.id),
                        old: Some(json!({"role": before.role})),
                        new: Some(json!({"role": after.role})),
                        ..Change::default()
                    };
                    Ok((after, change))
                })
            },
        )
        .await?;
        Ok(MembershipPayload {
            membership: m.into(),
        })
    }

    /// Removes a member (its admins); the last admin cannot be removed.
    async fn remove_member(
        &self,
        ctx: &Context<'_>,
        input: RemoveMemberInput,
    ) -> AppResult<MembershipPayload> {
        let org = parse_id(&input.organization_id, "input.organizationId");
        let rule = org_rule(&org, ADMIN);
        let user = parse_id(&input.user_id, "input.userId");
        let m = mutate(
            ctx,
            AuditAction::new("membership.remove", "membership"),
            rule,
            move |txn, _| {
                Box::pin(async move {
                    let m = service::remove_member(txn, org?, user?).await?;
                    let change = Change {
                        entity_id: Some(m.id),
                        old: Some(json!({"userId": m.user_id, "role": m.role, "isActive": true})),
                        new: Some(json!({"isActive": false})),
                        ..Change::default()
                    };
                    Ok((m, change))
                })
            },
        )
        .await?;
        Ok(MembershipPayload {
            membership: m.into(),
        })
    }

    /// Creates an API client for the organization (its admins). The token is in the
    /// payload and nowhere else.
    async fn create_api_client(
        &self,
        ctx: &Context<'_>,
        input: CreateApiClientInput,
    ) -> AppResult<CreateApiClientPayload> {
        let org = parse_id(&input.organization_id, "input.organizationId");
        let rule = org_rule(&org, ADMIN);
        let (client, token) = mutate(
            ctx,
            AuditAction::new("api_client.create", "api_client"),
            rule,
            move |txn, actor| {
                Box::pin(async move {
                    let org = org?;
                    let name = Text::parse(&input.name, "input.name", 200)?;
                    let scopes = crate::auth::Scope::parse_list(&input.scopes, "input.scopes")?;
                    if input.expires_at.is_some_and(|e| e <= chrono::Utc::now()) {
                        return Err(AppError::bad_input(
                            "input.expiresAt",
                            "must be in the future",
                        ));
                    }
                    let by = actor
                        .user_id
                        .ok_or(AppError::Forbidden("only users create API clients"))?;
                    let (c, token) =
                        service::create_api_client(txn, org, name, scopes, input.expires_at, by)
                            .await?;
                    let change = Change {
                        entity_id: Some(c.id),
                        new: Some(
                            json!({"name": c.name, "scopes": c.scopes, "expiresAt": c.expires_at}),
                        ),
                        ..Change::default()
                    };
                    Ok(((c, token), change))
                })
            },
        )
        .await?;
        Ok(CreateApiClientPayload {
            api_client: client.into(),
            token,
        })
    }

    /// Revokes an API client (its organization's admins); its token stops working at once.
    async fn revoke_api_client(
        &self,
        ctx: &Context<'_>,
        input: RevokeApiClientInput,
    ) -> AppResult<ApiClientPayload> {
        let org = parse_id(&input.organization_id, "input.organizationId");
        let rule = org_rule(&org, ADMIN);
        let client = parse_id(&input.api_client_id, "input.apiClientId");
        let c = mutate(
            ctx,
            AuditAction::new("api_client.revoke", "api_client"),
            rule,
            move |txn, _| {
                Box::pin(async move {
                    let c = service::revoke_api_client(txn, org?, client?).await?;
                    let change = Change {
                        entity_id: Some(c.id),
                        new: Some(json!({"revokedAt": c.revoked_at})),
                        ..Change::default()
                    };
                    Ok((c, change))
                })
            },
        )
        .await?;
        Ok(ApiClientPayload {
            api_client: c.into(),
        })
    }
}
