//! Who sees which donors, who registers them and who may change them.

use super::{Actor, Viewer};
use crate::error::{AppError, AppResult};
use entity::{OrgKind, donation, donor};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait, Query},
};
use uuid::Uuid;

/// Donors the caller may see: super admins all; an NGO its donors; a bank those it
/// registered or collected from; a user their own record. API clients none.
pub fn visible(viewer: &Viewer) -> Condition {
    if viewer.is_super_admin() {
        return Condition::all();
    }
    let mut any = Condition::any();
    if matches!(viewer, Viewer::User(_)) {
        let ngos = viewer.approved_orgs(OrgKind::Ngo);
        if !ngos.is_empty() {
            any = any.add(donor::Column::NgoId.is_in(ngos));
        }
        let banks = viewer.approved_orgs(OrgKind::BloodBank);
        if !banks.is_empty() {
            any = any
                .add(donor::Column::RegisteredByOrgId.is_in(banks.clone()))
                .add(
                    donor::Column::Id.in_subquery(
                        Query::select()
                            .column(donation::Column::DonorId)
                            .from(donation::Entity)
                            .and_where(Expr::col(donation::Column::BloodBankId).is_in(banks))
                            .to_owned(),
                    ),
                );
        }
        if let Some(me) = viewer.user_id() {
            any = any.add(donor::Column::UserId.eq(me));
        }
    }
    if any.is_empty() {
        any = any.add(donor::Column::Id.is_null());
    }
    any
}

/// One donor, if the caller may see them (`NOT_FOUND` otherwise, as for an unknown id).
pub async fn find_visible<C: ConnectionTrait>(
    viewer: &Viewer,
    db: &C,
    id: Uuid,
) -> AppResult<donor::Model> {
    donor::Entity::find_by_id(id)
        .filter(visible(viewer))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("donor"))
}

/// Whom a new donor belongs to, as `(user, NGO)`: registering for an NGO makes them the
/// NGO's donor, for a blood bank a walk-in donor of nobody's, with no organization the
/// caller themself. Other organizations do not register donors.
pub fn registrant(
    viewer: &Viewer,
    actor: &Actor,
    org: Option<Uuid>,
) -> AppResult<(Option<Uuid>, Option<Uuid>)> {
    let Some(org) = org else {
        return Ok((actor.user_id, None));
    };
    match viewer.grant(org).map(|g| g.org_kind) {
        Some(OrgKind::Ngo) => Ok((None, Some(org))),
        Some(OrgKind::BloodBank) => Ok((None, None)),
        _ => Err(AppError::Forbidden(
            "donors are registered by NGOs, blood banks or themselves",
        )),
    }
}

/// Whether the caller may change a donor: acting for the NGO that manages them or the
/// organization that registered them, or, acting for no organization, the donor themself,
/// who cannot set deferrals or observation (`clinical`). Anyone else hears `NOT_FOUND`.
pub fn may_update(
    actor: &Actor,
    org: Option<Uuid>,
    d: &donor::Model,
    clinical: bool,
) -> AppResult<()> {
    let manages = org.is_some_and(|o| d.ngo_id == Some(o) || d.registered_by_org_id == Some(o));
    let own = org.is_none() && d.user_id.is_some() && d.user_id == actor.user_id;
    if !(manages || own) {
        return Err(AppError::NotFound("donor"));
    }
    if own && clinical {
        return Err(AppError::Forbidden(
            "deferrals and observation are set by the donor's organization",
        ));
    }
    Ok(())
}
