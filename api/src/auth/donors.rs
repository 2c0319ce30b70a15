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
            any = any.add(known_to_banks(banks));
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

/// Donors the banks registered or collected from.
fn known_to_banks(banks: Vec<Uuid>) -> Condition {
    Condition::any()
        .add(donor::Column::RegisteredByOrgId.is_in(banks.clone()))
        .add(
            donor::Column::Id.in_subquery(
                Query::select()
                    .column(donation::Column::DonorId)
                    .from(donation::Entity)
                    .and_where(Expr::col(donation::Column::BloodBankId).is_in(banks))
                    .to_owned(),
            ),
        )
}

/// Donors a bank may name by id when it records a donation: those it registered or
/// collected from, as in [`visible`], whoever acts for it (staff or API client). Any other
/// donor is admitted only by their card code.
pub fn known_to_bank(bank: Uuid) -> Condition {
    known_to_banks(vec![bank])
}

/// Which of a donor's donations the caller sees.
pub enum DonationsShown {
    All,
    /// Only those collected at these banks.
    AtBanks(Vec<Uuid>),
}

/// A donor's donations are the donor's own history: the donor, their NGO and super admins
/// see all of them; a bank sees those it collected, not where else the donor gives.
pub fn donations_shown(viewer: &Viewer, d: &donor::Model) -> DonationsShown {
    let own = d.user_id.is_some() && d.user_id == viewer.user_id();
    let their_ngo = matches!(viewer, Viewer::User(_))
        && d.ngo_id
            .is_some_and(|n| viewer.approved_orgs(OrgKind::Ngo).contains(&n));
    if viewer.is_super_admin() || own || their_ngo {
        DonationsShown::All
    } else {
        DonationsShown::AtBanks(viewer.approved_orgs(OrgKind::BloodBank))
    }
}

/// Whether the caller may read a donor's card code: the donor, to show it, and the members of
/// the organization that registered them or of their NGO, to print it for donors without an
/// account. Not banks that merely collected from them, not super admins, not API clients:
/// the code admits whoever holds it.
pub fn may_read_code(viewer: &Viewer, d: &donor::Model) -> bool {
    let Viewer::User(_) = viewer else {
        return false;
    };
    let own = d.user_id.is_some() && d.user_id == viewer.user_id();
    let member = |org: Option<Uuid>| {
        org.is_some_and(|o| {
            viewer
                .grant(o)
                .is_some_and(|g| g.org_status == entity::OrgStatus::Approved)
        })
    };
    own || member(d.registered_by_org_id) || member(d.ngo_id)
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
