//! Drive use cases: proposing (an `EMERGENCY` drive raises an alert to the NGO) and the drive
//! state machine; every change notifies the other side's members.

use crate::{
    alerts::service::{
        AlertContent, NewAlert, NewNotification, Target, notify, raise, resolve_related,
    },
    audit::Change,
    auth::{
        Actor, Viewer,
        camps::{Side, drive_side},
        policy::ADMIN_DOCTOR_STAFF,
    },
    camps::service::{groups_text, parse_groups},
    db::now,
    error::{AppError, AppResult},
    events::Event,
};
use chrono::NaiveDate;
use entity::{
    AlertKind, BloodGroup, Component, DriveStatus, DriveType, NotificationKind, OrgKind, OrgStatus,
    Severity, WireName, blood_request, drive, membership, organization,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

fn drive_json(d: &drive::Model) -> serde_json::Value {
    json!({"status": d.status, "type": d.drive_type, "hospitalId": d.hospital_id,
           "ngoId": d.ngo_id, "targetUnits": d.target_units, "date": d.drive_date,
           "bloodRequestId": d.blood_request_id, "unitsCollected": d.units_collected})
}

/// A drive to propose, checked.
#[derive(Debug, Clone)]
pub struct NewDrive {
    pub hospital_id: Uuid,
    pub ngo_id: Uuid,
    pub drive_type: DriveType,
    pub blood_groups: Vec<BloodGroup>,
    pub component: Option<Component>,
    pub target_units: i32,
    pub date: NaiveDate,
    pub blood_request_id: Option<Uuid>,
    pub notes: Option<String>,
}

/// An approved organization of a kind, or `BAD_USER_INPUT` on `field`.
async fn partner<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    kind: OrgKind,
    field: &'static str,
) -> AppResult<organization::Model> {
    organization::Entity::find_by_id(id)
        .filter(organization::Column::Kind.eq(kind))
        .filter(organization::Column::Status.eq(OrgStatus::Approved))
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::bad_input(
                field,
                format!(
                    "is not an approved {}",
                    kind.wire_name().to_lowercase().replace('_', " ")
                ),
            )
        })
}

/// Notifies the active admins, doctors and staff of `org` about a drive.
async fn tell_side<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    d: &drive::Model,
    title: String,
    body: String,
) -> AppResult<Vec<Event>> {
    let users: Vec<Uuid> = membership::Entity::find()
        .select_only()
        .column(membership::Column::UserId)
        .filter(membership::Column::OrganizationId.eq(org))
        .filter(membership::Column::IsActive.eq(true))
        .filter(membership::Column::Role.is_in(ADMIN_DOCTOR_STAFF.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    let priority = if d.drive_type == DriveType::Emergency {
        Severity::Critical
    } else {
        Severity::Info
    };
    let notes = users
        .into_iter()
        .map(|u| NewNotification {
            user_id: u,
            kind: NotificationKind::DriveUpdate,
            priority,
            title: title.clone(),
            body: body.clone(),
            related: Some(("drive", d.id)),
        })
        .collect();
    notify(db, notes).await
}

fn acting(actor: &Actor, side: Side, d: &drive::Model) -> Change {
    Change {
        entity_id: Some(d.id),
        organization_id: Some(side.org(d)),
        actor_role: Some(actor.role.clone()),
        ..Change::default()
    }
}

/// Proposes a drive, as the hospital or the NGO the caller acts for (the hospital's side
/// when they belong to both). The other side is notified; an `EMERGENCY` drive also raises
/// an alert to the NGO. A blood request named must be the hospital's.
pub async fn propose<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    new: NewDrive,
) -> AppResult<(drive::Model, Change)> {
    let (side, actor) = drive_side(viewer, new.hospital_id, new.ngo_id)?;
    let hospital = partner(db, new.hospital_id, OrgKind::Hospital, "input.hospitalId").await?;
    let ngo = partner(db, new.ngo_id, OrgKind::Ngo, "input.ngoId").await?;
    if let Some(r) = new.blood_request_id {
        let theirs = blood_request::Entity::find_by_id(r)
            .filter(blood_request::Column::HospitalId.eq(new.hospital_id))
            .one(db)
            .await?;
        if theirs.is_none() {
            return Err(AppError::bad_input(
                "input.bloodRequestId",
                "is not a request of this hospital",
            ));
        }
    }
    let t = now();
    let d = drive::Model {
        id: Uuid::now_v7(),
        hospital_id: new.hospital_id,
        ngo_id: new.ngo_id,
        proposed_by_org_id: side.org_of(new.hospital_id, new.ngo_id),
        proposed_by: actor
            .user_id
            .ok_or(AppError::Forbidden("only users propose drives"))?,
        drive_type: new.drive_type,
        blood_groups: groups_text(&new.blood_groups),
        component: new.component,
        target_units: new.target_units,
        drive_date: new.date,
        blood_request_id: new.blood_request_id,
        notes: new.notes,
        status: DriveStatus::Pending,
        reason: None,
        units_collected: None,
        responded_by: None,
        accepted_at: None,
        rejected_at: None,
        completed_at: None,
        cancelled_at: None,
        created_at: t,
        updated_at: t,
    };
    drive::Entity::insert(drive::ActiveModel::from(d.clone()))
        .exec(db)
        .await?;
    let proposer = if side == Side::Hospital {
        &hospital
    } else {
        &ngo
    };
    let groups: Vec<String> = parse_groups(&d.blood_groups)
        .iter()
        .map(WireName::wire_name)
        .collect();
    let wanted = if groups.is_empty() {
        "any group".to_string()
    } else {
        groups.join(", ")
    };
    let mut events = Vec::new();
    if d.drive_type == DriveType::Emergency {
        events.extend(
            raise(
                db,
                NewAlert {
                    content: AlertContent::new(
                        AlertKind::EmergencyDrive,
                        Severity::Critical,
                        format!(
                            "Emergency drive: {} units for {}",
                            d.target_units, hospital.name
                        ),
                        format!(
                            "{} asks for an emergency drive on {} ({wanted}).",
                            hospital.name, d.drive_date
                        ),
                    ),
                    organization_id: Some(hospital.id),
                    location: Some((hospital.latitude, hospital.longitude)),
                    radius_km: None,
                    related: Some(("drive", d.id)),
                    target: Target::Orgs(vec![ngo.id]),
                },
            )
            .await?,
        );
    }
    events.extend(
        tell_side(
            db,
            side.other().org(&d),
            &d,
            format!("Drive proposed by {}", proposer.name),
            format!(
                "A {} drive on {}: {} units ({wanted}).",
                d.drive_type.wire_name().to_lowercase(),
                d.drive_date,
                d.target_units
            ),
        )
        .await?,
    );
    let change = Change {
        new: Some(drive_json(&d)),
        events,
        ..acting(&actor, side, &d)
    };
    Ok((d, change))
}

/// A move of the drive state machine, with what it writes besides the state.
#[derive(Debug, Clone)]
pub enum DriveMove {
    Accept,
    Reject(String),
    Cancel(Option<String>),
    Complete(i32),
}

impl DriveMove {
    fn to(&self) -> DriveStatus {
        match self {
            Self::Accept => DriveStatus::Accepted,
            Self::Reject(_) => DriveStatus::Rejected,
            Self::Cancel(_) => DriveStatus::Cancelled,
            Self::Complete(_) => DriveStatus::Completed,
        }
    }
}

/// The drive state machine: `PENDING → ACCEPTED | REJECTED | CANCELLED`, `ACCEPTED →
/// COMPLETED | CANCELLED`.
pub fn allowed(from: DriveStatus, to: DriveStatus) -> bool {
    use DriveStatus::*;
    matches!(
        (from, to),
        (Pending, Accepted | Rejected | Cancelled) | (Accepted, Completed | Cancelled)
    )
}

/// Moves a drive, for the side the caller acts for: a proposal is accepted or rejected by the
/// other side; either side cancels or completes. The update is conditional on the state it
/// was read in; the other side is notified.
pub async fn move_drive<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    id: Uuid,
    mv: DriveMove,
) -> AppResult<(drive::Model, Change)> {
    let before = drive::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("drive"))?;
    let (side, actor) = drive_side(viewer, before.hospital_id, before.ngo_id)
        .map_err(|_| AppError::NotFound("drive"))?;
    let to = mv.to();
    let refuse = |from: DriveStatus| AppError::InvalidTransition {
        from: from.wire_name(),
        to: to.wire_name(),
    };
    if !allowed(before.status, to) {
        return Err(refuse(before.status));
    }
    let answers = matches!(mv, DriveMove::Accept | DriveMove::Reject(_));
    if answers && side.org(&before) == before.proposed_by_org_id {
        return Err(AppError::Forbidden("the other side answers a proposal"));
    }
    let t = now();
    let mut d = before.clone();
    d.status = to;
    d.updated_at = t;
    match &mv {
        DriveMove::Accept => {
            d.accepted_at = Some(t);
            d.responded_by = actor.user_id;
        }
        DriveMove::Reject(reason) => {
            d.rejected_at = Some(t);
            d.responded_by = actor.user_id;
            d.reason = Some(reason.clone());
        }
        DriveMove::Cancel(reason) => {
            d.cancelled_at = Some(t);
            d.reason = reason.clone();
        }
        DriveMove::Complete(units) => {
            d.completed_at = Some(t);
            d.units_collected = Some(*units);
        }
    }
    let res = drive::Entity::update_many()
        .set(drive::ActiveModel::from(d.clone()).reset_all())
        .filter(drive::Column::Id.eq(id))
        .filter(drive::Column::Status.eq(before.status))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        let now_status = drive::Entity::find_by_id(id)
            .one(db)
            .await?
            .map_or(before.status, |m| m.status);
        return Err(refuse(now_status));
    }
    // The NGO's emergency alert is answered once the drive is.
    resolve_related(db, d.id, &[AlertKind::EmergencyDrive]).await?;
    let verb = to.wire_name().to_lowercase();
    let mut body = format!("The drive on {} is {verb}", d.drive_date);
    if let Some(r) = &d.reason {
        body.push_str(&format!(": {r}"));
    }
    if let Some(u) = d.units_collected {
        body.push_str(&format!(" with {u} units collected"));
    }
    body.push('.');
    let events = tell_side(db, side.other().org(&d), &d, format!("Drive {verb}"), body).await?;
    let change = Change {
        old: Some(drive_json(&before)),
        new: Some(drive_json(&d)),
        events,
        ..acting(&actor, side, &d)
    };
    Ok((d, change))
}
