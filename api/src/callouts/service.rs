//! Call-out use cases. The selection is one SQL query (opted in, an account to notify,
//! eligible now, a compatible group, inside a bounding box and then the exact radius) whose
//! rows are locked (`SKIP LOCKED` on Postgres: a donor another call-out is calling now is
//! that call-out's), then one conditional update moves `last_called_at` only where it is
//! older than `CALLOUT_MIN_HOURS`: the database, not this code, keeps a donor from being
//! called twice within the limit.

use crate::{
    alerts::service::{self as alerts, NewNotification},
    audit::Change,
    auth::{Viewer, callouts as rules},
    blood::{compatibility, geo},
    config::Config,
    db::{self, now},
    error::{AppError, AppResult},
    events::Event,
    validation::GeoPoint,
};
use chrono::NaiveDate;
use entity::{
    BloodGroup, CalloutResponse, Component, Eligibility, NotificationKind, OrgKind, Severity,
    blood_request, callout, callout_answer, donor, organization,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;
use uuid::Uuid;

/// A call-out, parsed.
#[derive(Debug, Clone)]
pub struct NewCallout {
    pub organization_id: Uuid,
    pub blood_request_id: Option<Uuid>,
    /// The recipients' groups; empty: the request's.
    pub blood_groups: Vec<BloodGroup>,
    /// Empty: the request's.
    pub component: Option<Component>,
    /// Empty: the request's location.
    pub near: Option<GeoPoint>,
    pub radius_km: f64,
    pub message: String,
}

/// Groups as stored (`,A_POS,O_NEG,`), as camps keep them.
pub use crate::camps::service::{groups_text as group_list, parse_groups as groups_of};

/// The donor groups that may give `component` to any of `recipients`.
pub fn donor_groups(recipients: &[BloodGroup], component: Component) -> Vec<BloodGroup> {
    let mut out: Vec<BloodGroup> = Vec::new();
    for &r in recipients {
        for &d in compatibility::compatible_donors(r, component) {
            if !out.contains(&d) {
                out.push(d);
            }
        }
    }
    out
}

/// Donors eligible on `today` as stored: `ELIGIBLE`, or a dated deferral whose date has come
/// (`donors::service::status_on` in SQL).
fn eligible_on(today: NaiveDate) -> Condition {
    Condition::any()
        .add(donor::Column::EligibilityStatus.eq(Eligibility::Eligible))
        .add(
            Condition::all()
                .add(donor::Column::EligibilityStatus.eq(Eligibility::Deferred))
                .add(donor::Column::NextEligibleDate.lte(today)),
        )
}

/// Starts a call-out by a bank's or NGO's staff (the pipeline checked the role; the kind of
/// organization is checked here, once the organization is read).
pub async fn start<C: ConnectionTrait>(
    db: &C,
    config: &Config,
    started_by: Option<Uuid>,
    new: NewCallout,
) -> AppResult<(callout::Model, Change)> {
    let org = organization::Entity::find_by_id(new.organization_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("organization"))?;
    if !matches!(org.kind, OrgKind::BloodBank | OrgKind::Ngo) {
        return Err(AppError::Forbidden(
            "only blood banks and NGOs call donors out",
        ));
    }
    call(db, config, started_by, new).await
}

/// Calls the donors: the workflow of [`start`] and of the escalation sweep.
pub async fn call<C: ConnectionTrait>(
    db: &C,
    config: &Config,
    started_by: Option<Uuid>,
    new: NewCallout,
) -> AppResult<(callout::Model, Change)> {
    if !(new.radius_km > 0.0 && new.radius_km <= config.callout_max_radius_km) {
        return Err(AppError::bad_input(
            "input.radiusKm",
            format!(
                "must be above 0 and at most {}",
                config.callout_max_radius_km
            ),
        ));
    }
    let request = match new.blood_request_id {
        Some(id) => Some(
            blood_request::Entity::find_by_id(id)
                .one(db)
                .await?
                .ok_or(AppError::NotFound("blood request"))?,
        ),
        None => None,
    };
    let groups = match (&request, new.blood_groups.is_empty()) {
        (_, false) => new.blood_groups.clone(),
        (Some(r), true) => vec![r.blood_group],
        (None, true) => {
            return Err(AppError::bad_input(
                "input.bloodGroups",
                "give the groups needed, or a blood request",
            ));
        }
    };
    let component = match (new.component, &request) {
        (Some(c), _) => c,
        (None, Some(r)) => r.component,
        (None, None) => {
            return Err(AppError::bad_input(
                "input.component",
                "give the component needed, or a blood request",
            ));
        }
    };
    let (lat, lon) = match (new.near, &request) {
        (Some(p), _) => (p.latitude, p.longitude),
        (None, Some(r)) => (r.latitude, r.longitude),
        (None, None) => {
            return Err(AppError::bad_input(
                "input.near",
                "give where blood is needed, or a blood request",
            ));
        }
    };
    let givers = donor_groups(&groups, component);
    let t = now();
    let cutoff = t - chrono::Duration::hours(config.callout_min_hours);
    let never_or_before = || {
        Condition::any()
            .add(donor::Column::LastCalledAt.is_null())
            .add(donor::Column::LastCalledAt.lte(cutoff))
    };
    let b = geo::BoundingBox::around(lat, lon, new.radius_km * 1.01);
    let candidates = donor::Entity::find()
        .filter(donor::Column::AcceptsCallouts.eq(true))
        .filter(donor::Column::UserId.is_not_null())
        .filter(never_or_before())
        .filter(eligible_on(t.date_naive()))
        .filter(donor::Column::BloodGroup.is_in(givers.clone()))
        .filter(donor::Column::Latitude.between(b.min_lat, b.max_lat))
        .filter(donor::Column::Longitude.between(b.min_lon, b.max_lon))
        .filter(geo::within_km_sql(
            donor::Column::Latitude,
            donor::Column::Longitude,
            (lat, lon),
            Expr::val(new.radius_km),
        ))
        .order_by_asc(donor::Column::Id);
    let candidates: Vec<Uuid> = db::skip_locked(db, candidates)
        .select_only()
        .column(donor::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    // The condition again: a row another call-out moved since the select is left alone.
    let mut called: Vec<(Uuid, Uuid)> = Vec::with_capacity(candidates.len());
    for chunk in candidates.chunks(500) {
        let moved = donor::Entity::update_many()
            .col_expr(donor::Column::LastCalledAt, Expr::value(t))
            .filter(donor::Column::Id.is_in(chunk.to_vec()))
            .filter(never_or_before())
            .exec_with_returning(db)
            .await?;
        called.extend(
            moved
                .into_iter()
                .filter_map(|d| d.user_id.map(|u| (d.id, u))),
        );
    }
    called.sort();
    let row = callout::Model {
        id: Uuid::now_v7(),
        organization_id: new.organization_id,
        blood_request_id: new.blood_request_id,
        blood_groups: group_list(&groups),
        donor_groups: group_list(&givers),
        component,
        latitude: lat,
        longitude: lon,
        radius_km: new.radius_km,
        message: new.message,
        started_by,
        notified: i32::try_from(called.len()).unwrap_or(i32::MAX),
        created_at: t,
    };
    let row = callout::ActiveModel::from(row).insert(db).await?;
    for chunk in called.chunks(500) {
        callout_answer::Entity::insert_many(
            chunk
                .iter()
                .map(|&(donor_id, _)| {
                    callout_answer::ActiveModel::from(callout_answer::Model {
                        id: Uuid::now_v7(),
                        callout_id: row.id,
                        donor_id,
                        response: None,
                        eta_minutes: None,
                        notified_at: t,
                        responded_at: None,
                    })
                })
                .collect::<Vec<_>>(),
        )
        .exec(db)
        .await?;
    }
    let name = org_name(db, row.organization_id).await?;
    let events = alerts::notify(
        db,
        called
            .iter()
            .map(|&(_, user_id)| NewNotification {
                user_id,
                kind: NotificationKind::DonorCallout,
                priority: Severity::Warning,
                title: "Blood donors are needed near you".into(),
                body: format!(
                    "{} asks donors of your group to come and give. {}",
                    name, row.message
                ),
                related: Some(("callout", row.id)),
            })
            .collect(),
    )
    .await?;
    let change = Change {
        entity_id: Some(row.id),
        organization_id: Some(row.organization_id),
        new: Some(json!({
            "bloodRequestId": row.blood_request_id,
            "bloodGroups": groups,
            "component": component,
            "radiusKm": row.radius_km,
            "notified": row.notified,
        })),
        events,
        ..Change::default()
    };
    Ok((row, change))
}

async fn org_name<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<String> {
    Ok(organization::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|o| o.name)
        .unwrap_or_default())
}

/// The call-out automatically started when an emergency reaches its NGO escalation step: the
/// requesting hospital calls the donors who may give to its patient, within the request's
/// radius (the hospital then sees who is coming).
pub async fn at_escalation<C: ConnectionTrait>(
    db: &C,
    config: &Config,
    r: &blood_request::Model,
) -> AppResult<Vec<Event>> {
    let radius = r.radius_km.min(config.callout_max_radius_km).max(1.0);
    let (_, change) = call(
        db,
        config,
        None,
        NewCallout {
            organization_id: r.hospital_id,
            blood_request_id: Some(r.id),
            blood_groups: vec![r.blood_group],
            component: Some(r.component),
            near: None,
            radius_km: radius,
            message: "An emergency needs blood now; please come to the hospital if you can.".into(),
        },
    )
    .await?;
    Ok(change.events)
}

/// A donor's answer to a call-out that reached them; they may change it.
pub async fn respond<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    callout_id: Uuid,
    response: CalloutResponse,
    eta_minutes: Option<i32>,
) -> AppResult<(callout_answer::Model, Change)> {
    let user = viewer.user_id().ok_or(AppError::NotFound("callout"))?;
    let donor_ids: Vec<Uuid> = donor::Entity::find()
        .filter(donor::Column::UserId.eq(user))
        .select_only()
        .column(donor::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let answer = callout_answer::Entity::find()
        .filter(callout_answer::Column::CalloutId.eq(callout_id))
        .filter(callout_answer::Column::DonorId.is_in(donor_ids))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("callout"))?;
    let c = callout::Entity::find_by_id(callout_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("callout"))?;
    let mut am: callout_answer::ActiveModel = answer.clone().into();
    am.response = sea_orm::Set(Some(response));
    am.eta_minutes = sea_orm::Set(match response {
        CalloutResponse::Coming => eta_minutes,
        CalloutResponse::Cannot => None,
    });
    am.responded_at = sea_orm::Set(Some(now()));
    let row = am.update(db).await?;
    if response == CalloutResponse::Coming {
        // Once per answer (the ledger's key), so changing one's mind back and forth pays once.
        crate::rewards::service::callout_answered(db, row.donor_id, row.id).await?;
    }
    let change = Change {
        entity_id: Some(row.id),
        organization_id: Some(c.organization_id),
        old: Some(json!({"response": answer.response})),
        new: Some(
            json!({"calloutId": callout_id, "response": row.response, "etaMinutes": row.eta_minutes}),
        ),
        ..Change::default()
    };
    Ok((row, change))
}

/// How the donors a call-out reached have answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub notified: i32,
    pub coming: i32,
    pub cannot: i32,
}

/// The answer counts of a call-out, in one grouped query.
pub async fn counts<C: ConnectionTrait>(db: &C, c: &callout::Model) -> AppResult<Counts> {
    #[derive(FromQueryResult)]
    struct Row {
        response: Option<String>,
        n: i64,
    }
    let rows = callout_answer::Entity::find()
        .select_only()
        .column(callout_answer::Column::Response)
        .column_as(callout_answer::Column::Id.count(), "n")
        .filter(callout_answer::Column::CalloutId.eq(c.id))
        .group_by(callout_answer::Column::Response)
        .into_model::<Row>()
        .all(db)
        .await?;
    let mut out = Counts {
        notified: c.notified,
        ..Counts::default()
    };
    for r in rows {
        let n = i32::try_from(r.n).unwrap_or(i32::MAX);
        match r.response.as_deref() {
            Some("COMING") => out.coming = n,
            Some("CANNOT") => out.cannot = n,
            _ => {}
        }
    }
    Ok(out)
}

/// The donors coming to a call-out with their answers (they consented by answering), in one
/// query.
pub async fn coming<C: ConnectionTrait>(
    db: &C,
    callout_id: Uuid,
) -> AppResult<Vec<(callout_answer::Model, donor::Model)>> {
    let answers = callout_answer::Entity::find()
        .filter(callout_answer::Column::CalloutId.eq(callout_id))
        .filter(callout_answer::Column::Response.eq(CalloutResponse::Coming))
        .order_by_asc(callout_answer::Column::RespondedAt)
        .order_by_asc(callout_answer::Column::Id)
        .all(db)
        .await?;
    if answers.is_empty() {
        return Ok(Vec::new());
    }
    let donors: std::collections::HashMap<Uuid, donor::Model> = donor::Entity::find()
        .filter(donor::Column::Id.is_in(answers.iter().map(|a| a.donor_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|d| (d.id, d))
        .collect();
    Ok(answers
        .into_iter()
        .filter_map(|a| donors.get(&a.donor_id).cloned().map(|d| (a, d)))
        .collect())
}

/// A call-out the caller may read (its organization's members, super admins), else
/// `NOT_FOUND`.
pub async fn find_visible<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    id: Uuid,
) -> AppResult<callout::Model> {
    callout::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|c| rules::sees(viewer, c))
        .ok_or(AppError::NotFound("callout"))
}

/// Whether the donor turned opt-in on or off; the donor themself only.
pub async fn set_accepts<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    donor_id: Uuid,
    accepts: bool,
) -> AppResult<(donor::Model, Change)> {
    let d = donor::Entity::find_by_id(donor_id)
        .one(db)
        .await?
        .filter(|d| rules::is_donor(viewer, d))
        .ok_or(AppError::NotFound("donor"))?;
    let old = d.accepts_callouts;
    let mut am: donor::ActiveModel = d.into();
    am.accepts_callouts = sea_orm::Set(accepts);
    am.updated_at = sea_orm::Set(now());
    let row = am.update(db).await?;
    let change = Change {
        entity_id: Some(row.id),
        old: Some(json!({"acceptsCallouts": old})),
        new: Some(json!({"acceptsCallouts": accepts})),
        ..Change::default()
    };
    Ok((row, change))
}

/// The reminder step of the sweep: each donor with an account whose next eligible date has
/// come (within the last week: older dates are not news) hears it once per date; a
/// conditional update of `reminded_for` claims the reminder, so instances never send two.
pub async fn remind_eligible<C: ConnectionTrait>(db: &C, batch: u64) -> AppResult<Vec<Event>> {
    let today = now().date_naive();
    let due = || {
        Condition::all()
            .add(donor::Column::UserId.is_not_null())
            .add(donor::Column::EligibilityStatus.eq(Eligibility::Deferred))
            .add(donor::Column::NextEligibleDate.lte(today))
            .add(donor::Column::NextEligibleDate.gt(today - chrono::Duration::days(7)))
            .add(
                Condition::any()
                    .add(donor::Column::RemindedFor.is_null())
                    .add(
                        Expr::col(donor::Column::RemindedFor)
                            .lt(Expr::col(donor::Column::NextEligibleDate)),
                    ),
            )
    };
    let q = donor::Entity::find()
        .filter(due())
        .order_by_asc(donor::Column::Id)
        .limit(batch);
    let ids: Vec<Uuid> = db::skip_locked(db, q)
        .select_only()
        .column(donor::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let moved = donor::Entity::update_many()
        .col_expr(
            donor::Column::RemindedFor,
            Expr::col(donor::Column::NextEligibleDate),
        )
        .filter(donor::Column::Id.is_in(ids))
        .filter(due())
        .exec_with_returning(db)
        .await?;
    alerts::notify(
        db,
        moved
            .into_iter()
            .filter_map(|d| {
                d.user_id.map(|user_id| NewNotification {
                    user_id,
                    kind: NotificationKind::EligibilityReminder,
                    priority: Severity::Info,
                    title: "You can give blood again".into(),
                    body: "Your waiting time is over: you may donate again.".into(),
                    related: Some(("donor", d.id)),
                })
            })
            .collect(),
    )
    .await
}
