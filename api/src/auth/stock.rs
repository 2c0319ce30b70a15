//! Who sees which banks' stock: unit rows, unit histories, counts and the compatible-stock
//! search.

use super::{Rule, Scope, Viewer, authorize, policy::ANY_ROLE};
use crate::error::{AppError, AppResult};
use entity::{OrgKind, OrgStatus, blood_transfer, blood_unit, organization};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

/// A bank's unit rows and histories: its members (any role) and super admins, or its API
/// client with `stock:read`.
pub fn reads_units(bank: Uuid) -> Rule {
    Rule::ReadOrg {
        org: bank,
        roles: ANY_ROLE,
        scope: Some(Scope::StockRead),
    }
}

/// Whether the caller sees this unit (and its history).
pub fn sees_unit(viewer: &Viewer, unit: &blood_unit::Model) -> bool {
    authorize(viewer, reads_units(unit.blood_bank_id)).is_ok()
}

/// The units a `bloodUnits` list may show: the named bank's for those who read it; every
/// bank's only for super admins, anyone else must name a bank.
pub fn visible_units(viewer: &Viewer, bank: Option<Uuid>) -> AppResult<Condition> {
    match bank {
        Some(bank) => {
            authorize(viewer, reads_units(bank))?;
            Ok(Condition::all().add(blood_unit::Column::BloodBankId.eq(bank)))
        }
        None => match authorize(viewer, Rule::SuperAdmin) {
            Ok(_) => Ok(Condition::all()),
            Err(AppError::Forbidden(_)) => Err(AppError::bad_input(
                "filter.bloodBankId",
                "name the bank whose units you want",
            )),
            Err(other) => Err(other),
        },
    }
}

/// The transfers a `transfers(bankId)` list may show: those the bank sent or receives, for
/// those who read the bank's units (its members, its API client with `stock:read`, super
/// admins).
pub fn visible_transfers(viewer: &Viewer, bank: Uuid) -> AppResult<Condition> {
    authorize(viewer, reads_units(bank))?;
    Ok(Condition::any()
        .add(blood_transfer::Column::FromBankId.eq(bank))
        .add(blood_transfer::Column::ToBankId.eq(bank)))
}

/// Banks whose counts (`stockLevels`) the caller may see: every approved bank for super
/// admins and for hospitals (the network shares counts with them), else the caller's own
/// banks. API clients need `stock:read`. Anyone else is refused.
pub async fn visible_banks<C: ConnectionTrait>(viewer: &Viewer, db: &C) -> AppResult<Vec<Uuid>> {
    let reads = matches!(viewer, Viewer::User(_)) || viewer.client_has(Scope::StockRead);
    let hospital = reads && !viewer.approved_orgs(OrgKind::Hospital).is_empty();
    let banks = if viewer.is_super_admin() || hospital {
        organization::Entity::find()
            .select_only()
            .column(organization::Column::Id)
            .filter(organization::Column::Kind.eq(OrgKind::BloodBank))
            .filter(organization::Column::Status.eq(OrgStatus::Approved))
            .into_tuple()
            .all(db)
            .await?
    } else if reads {
        viewer.approved_orgs(OrgKind::BloodBank)
    } else {
        Vec::new()
    };
    if banks.is_empty() {
        return Err(AppError::Forbidden(
            "only hospitals, blood banks and super admins see stock levels",
        ));
    }
    Ok(banks)
}

/// `findCompatibleStock`: super admins, and the members of approved hospitals and blood
/// banks (their API clients with `stock:read`).
pub fn searches_stock(viewer: &Viewer) -> AppResult<()> {
    let member = !viewer.approved_orgs(OrgKind::Hospital).is_empty()
        || !viewer.approved_orgs(OrgKind::BloodBank).is_empty();
    let reads = matches!(viewer, Viewer::User(_)) || viewer.client_has(Scope::StockRead);
    if viewer.is_super_admin() || (member && reads) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only hospitals, blood banks and super admins search stock",
        ))
    }
}
