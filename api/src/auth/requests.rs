//! Who sees which blood requests, and which of their fields.

use super::{Rule, Scope, Viewer, authorize, policy::ANY_ROLE};
use crate::{
    blood::geo,
    error::{AppError, AppResult},
};
use entity::{OrgKind, RequestStatus, blood_request, organization};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr};

/// Which requests a caller sees: super admins all; a hospital its own; a bank those
/// addressed to it, those it accepted, and open pending ones whose radius reaches it. API
/// clients need `blood-requests:read` or `:write`. Anyone else is refused.
pub async fn visible<C: ConnectionTrait>(viewer: &Viewer, db: &C) -> AppResult<Condition> {
    if viewer.is_super_admin() {
        return Ok(Condition::all());
    }
    let reads = !matches!(viewer, Viewer::Client(_))
        || viewer.client_has(Scope::BloodRequestsRead)
        || viewer.client_has(Scope::BloodRequestsWrite);
    let (hospitals, banks) = if reads {
        (
            viewer.approved_orgs(OrgKind::Hospital),
            viewer.approved_orgs(OrgKind::BloodBank),
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let mut any = Condition::any();
    if !hospitals.is_empty() {
        any = any.add(blood_request::Column::HospitalId.is_in(hospitals));
    }
    if !banks.is_empty() {
        any = any
            .add(blood_request::Column::TargetBankId.is_in(banks.clone()))
            .add(blood_request::Column::BloodBankId.is_in(banks.clone()));
        let rows = organization::Entity::find()
            .filter(organization::Column::Id.is_in(banks))
            .all(db)
            .await?;
        for b in rows {
            any = any.add(
                Condition::all()
                    .add(blood_request::Column::Status.eq(RequestStatus::Pending))
                    .add(blood_request::Column::TargetBankId.is_null())
                    .add(geo::within_km_sql(
                        blood_request::Column::Latitude,
                        blood_request::Column::Longitude,
                        (b.latitude, b.longitude),
                        Expr::col(blood_request::Column::RadiusKm),
                    )),
            );
        }
    }
    if any.is_empty() {
        return Err(AppError::Forbidden(
            "only hospitals, blood banks and super admins see blood requests",
        ));
    }
    Ok(any)
}

/// `patientName` and `medicalNotes`: the requesting hospital's members and super admins
/// (never an API client). Every read that passes is audited by the caller.
pub fn sees_patient(viewer: &Viewer, r: &blood_request::Model) -> bool {
    authorize(
        viewer,
        Rule::ReadOrg {
            org: r.hospital_id,
            roles: ANY_ROLE,
            scope: None,
        },
    )
    .is_ok()
}

/// The units reserved for or issued to a request: the hospital, the accepting bank and super
/// admins.
pub fn sees_units(viewer: &Viewer, r: &blood_request::Model) -> bool {
    let reads = |org| {
        authorize(
            viewer,
            Rule::ReadOrg {
                org,
                roles: ANY_ROLE,
                scope: Some(Scope::BloodRequestsRead),
            },
        )
        .is_ok()
    };
    reads(r.hospital_id) || r.blood_bank_id.is_some_and(reads)
}
