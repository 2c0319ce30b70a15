//! Medical report use cases: creation, claims for analysis, analyses, reviews (with the
//! critical finding alert), archiving and AI model quality. Each mutation's use case does the
//! whole workflow and returns the audit [`Change`]; it takes a connection (the pipeline's
//! transaction) and the parsed command, so `seed` and tests call it too. Permissions are
//! checked before (see `auth::reports`).

use super::{
    commands::{ClaimReports, CreateMedicalReport, NewAnalysis, NewReview},
    types::ImageMetadata,
};
use crate::{
    alerts::service::{AlertContent, NewAlert, NewNotification, Target, notify, raise},
    audit::Change,
    db::{self, now},
    error::{AppError, AppResult, unique_violation},
    events::Event,
    validation::{ImageSources, ImageUrl, Notes},
};
use chrono::{DateTime, Utc};
use entity::sealed::Sealed;
use entity::{
    AlertKind, ConsultationStatus, NotificationKind, OrgRole, ReportStatus, ReviewUrgency,
    RiskLevel, Severity, WireName, ai_analysis, consultation, medical_report, report_image,
    report_review, user,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect,
    sea_query::{Expr, Func, SimpleExpr},
};
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

/// Most images one report may carry.
pub const MAX_IMAGES: usize = 50;

/// Most reports one claim may take.
pub const MAX_CLAIM: i32 = 50;

/// Largest findings / DICOM metadata JSON accepted, in bytes.
pub const MAX_JSON_BYTES: usize = 64 * 1024;

fn invalid(from: ReportStatus, to: ReportStatus) -> AppError {
    AppError::InvalidTransition {
        from: from.wire_name(),
        to: to.wire_name(),
    }
}

/// The review-queue sort key: the risk rank digit (`0` HIGH, `1` MEDIUM, `2` LOW; `9` before
/// analysis), `|`, and the fixed-width UTC time (microseconds), so that ordering this one
/// text column ascending gives HIGH first, then MEDIUM, then LOW, each oldest first. A
/// stored, indexed column keeps the queue a plain one-key keyset walk.
pub fn queue_key(risk: Option<RiskLevel>, at: DateTime<Utc>) -> String {
    let rank = risk.map_or(9, RiskLevel::rank);
    format!("{rank}|{}", at.format("%Y%m%dT%H%M%S%.6fZ"))
}

/// One image of a new report, its fields checked (its URL is checked by [`create`], against
/// the configured image sources; its DICOM metadata is at most [`MAX_JSON_BYTES`]).
pub type NewImage = ImageMetadata;

/// Checks a JSON value's size.
pub fn bounded_json(v: &serde_json::Value, field: &str) -> AppResult<()> {
    if serde_json::to_vec(v)?.len() > MAX_JSON_BYTES {
        return Err(AppError::bad_input(
            field,
            format!("must be at most {MAX_JSON_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// Creates a report as `PENDING` with its images, uploaded by `uploader`, for a patient of
/// the organization (see [`is_patient_of`]); image URLs must come from `sources`.
pub async fn create<C: ConnectionTrait>(
    db: &C,
    new: CreateMedicalReport,
    uploader: Uuid,
    sources: &ImageSources,
) -> AppResult<(medical_report::Model, Change)> {
    let urls = (new.images.iter().enumerate())
        .map(|(n, i)| ImageUrl::parse(&i.url, &format!("input.images.{n}.url"), sources))
        .collect::<AppResult<Vec<_>>>()?;
    // Whether the account exists stays private: anyone not the organization's patient is
    // NOT_FOUND alike.
    let patient = user::Entity::find_by_id(new.patient_id)
        .one(db)
        .await?
        .filter(|u| u.is_active);
    let patient = match patient {
        Some(p) if is_patient_of(db, p.id, new.organization_id).await? => p,
        _ => return Err(AppError::NotFound("patient")),
    };
    let t = now();
    let report = medical_report::Model {
        id: Uuid::now_v7(),
        organization_id: new.organization_id,
        patient_id: patient.id,
        uploaded_by_user_id: uploader,
        study_type: new.study_type.into_inner(),
        clinical_notes: Sealed::opt(new.clinical_notes.map(Notes::into_inner)),
        status: ReportStatus::Pending,
        risk_level: None,
        confidence: None,
        findings: None,
        queue_key: queue_key(None, t),
        claimed_at: None,
        claimed_by_api_client_id: None,
        analyzed_at: None,
        reviewed_at: None,
        archived_at: None,
        created_at: t,
        updated_at: t,
    };
    medical_report::Entity::insert(medical_report::ActiveModel::from(report.clone()))
        .exec(db)
        .await?;
    let images: Vec<report_image::Model> = (new.images.into_iter().zip(urls))
        .map(|(i, url)| report_image::Model {
            id: Uuid::now_v7(),
            report_id: report.id,
            url: url.into_inner(),
            image_type: i.image_type,
            format: i.format,
            width: i.width,
            height: i.height,
            size_bytes: i.size_bytes,
            display_order: i.display_order,
            dicom_metadata: i.dicom_metadata.map(|j| j.0),
            created_at: t,
        })
        .collect();
    report_image::Entity::insert_many(
        images
            .iter()
            .cloned()
            .map(report_image::ActiveModel::from)
            .collect::<Vec<_>>(),
    )
    .exec(db)
    .await?;
    let change = Change {
        entity_id: Some(report.id),
        new: Some(
            json!({"status": report.status, "studyType": report.study_type,
                         "patientId": report.patient_id, "images": images.len()}),
        ),
        ..Change::default()
    };
    Ok((report, change))
}

/// Whether a user is a patient of an organization: they booked a consultation with one of its
/// doctors (one that was not cancelled). An organization uploads reports only for its
/// patients, so it cannot plant reports in a stranger's record or look up their contacts.
pub async fn is_patient_of<C: ConnectionTrait>(
    db: &C,
    patient: Uuid,
    org: Uuid,
) -> AppResult<bool> {
    let found = consultation::Entity::find()
        .select_only()
        .column(consultation::Column::Id)
        .filter(consultation::Column::PatientId.eq(patient))
        .filter(consultation::Column::OrganizationId.eq(org))
        .filter(consultation::Column::Status.ne(ConsultationStatus::Cancelled))
        .into_tuple::<Uuid>()
        .one(db)
        .await?;
    Ok(found.is_some())
}

/// The organization of a report, if it exists (for the rule of a mutation naming it).
pub async fn report_org<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<Option<Uuid>> {
    Ok(medical_report::Entity::find_by_id(id)
        .select_only()
        .column(medical_report::Column::OrganizationId)
        .into_tuple::<Uuid>()
        .one(db)
        .await?)
}

/// Loads a report; on Postgres the row stays locked until the transaction ends, so two
/// writers of one report queue (SQLite serializes writers with `BEGIN IMMEDIATE`).
pub async fn load_locked<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<medical_report::Model> {
    crate::db::find_locked::<medical_report::Entity, _>(db, id)
        .await?
        .ok_or(AppError::NotFound("medical report"))
}

/// Moves a report from `from` to `to` with a conditional update (`WHERE status = from`), so
/// a concurrent move makes this one fail with `INVALID_TRANSITION` instead of overwriting it.
async fn move_report<C: ConnectionTrait>(
    db: &C,
    current: &medical_report::Model,
    from: &[ReportStatus],
    to: ReportStatus,
    sets: Vec<(medical_report::Column, SimpleExpr)>,
) -> AppResult<medical_report::Model> {
    if !from.contains(&current.status) {
        return Err(invalid(current.status, to));
    }
    let mut u = medical_report::Entity::update_many()
        .col_expr(medical_report::Column::Status, Expr::value(to))
        .col_expr(medical_report::Column::UpdatedAt, Expr::value(now()))
        .filter(medical_report::Column::Id.eq(current.id))
        .filter(medical_report::Column::Status.eq(current.status));
    for (c, v) in sets {
        u = u.col_expr(c, v);
    }
    if u.exec(db).await?.rows_affected != 1 {
        let now_status = medical_report::Entity::find_by_id(current.id)
            .one(db)
            .await?
            .map_or(current.status, |r| r.status);
        return Err(invalid(now_status, to));
    }
    medical_report::Entity::find_by_id(current.id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("medical report"))
}

/// Reports an AI worker may take: `PENDING`, or `ANALYZING` with a claim older than `cutoff`
/// (the worker that took it never answered).
fn claimable(cutoff: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(medical_report::Column::Status.eq(ReportStatus::Pending))
        .add(
            Condition::all()
                .add(medical_report::Column::Status.eq(ReportStatus::Analyzing))
                .add(medical_report::Column::ClaimedAt.lt(cutoff)),
        )
}

/// Claims up to `limit` of an organization's claimable reports for `client`, oldest first,
/// moving them to `ANALYZING`. Two workers never take the same report (see [`db::claim`]: the
/// candidates are skipped by a concurrent claim on Postgres, and the update is conditional on
/// the report still being claimable).
pub async fn claim<C: ConnectionTrait>(
    db: &C,
    cmd: ClaimReports,
    client: Option<Uuid>,
    timeout: Duration,
) -> AppResult<(Vec<medical_report::Model>, Change)> {
    if !(1..=MAX_CLAIM).contains(&cmd.limit) {
        return Err(AppError::bad_input(
            "input.limit",
            format!("must be between 1 and {MAX_CLAIM}"),
        ));
    }
    let t = now();
    let cutoff = t - chrono::Duration::from_std(timeout).unwrap_or(chrono::Duration::zero());
    let candidates = medical_report::Entity::find()
        .filter(medical_report::Column::OrganizationId.eq(cmd.organization_id))
        .filter(claimable(cutoff))
        .order_by_asc(medical_report::Column::CreatedAt)
        .order_by_asc(medical_report::Column::Id)
        .limit(cmd.limit as u64);
    let update = medical_report::Entity::update_many()
        .col_expr(
            medical_report::Column::Status,
            Expr::value(ReportStatus::Analyzing),
        )
        .col_expr(medical_report::Column::ClaimedAt, Expr::value(Some(t)))
        .col_expr(
            medical_report::Column::ClaimedByApiClientId,
            Expr::value(client),
        )
        .col_expr(medical_report::Column::UpdatedAt, Expr::value(t))
        .filter(claimable(cutoff));
    let id_of = |m: &medical_report::Model| m.id;
    let (taken, _) = db::claim(db, candidates, medical_report::Column::Id, id_of, update).await?;
    let mut rows = Vec::new();
    if !taken.is_empty() {
        // Only the rows this claim moved (the conditional update skips any another took).
        let mut q = medical_report::Entity::find()
            .filter(medical_report::Column::Id.is_in(taken.iter().map(id_of)))
            .filter(medical_report::Column::Status.eq(ReportStatus::Analyzing))
            .filter(medical_report::Column::ClaimedAt.eq(t));
        q = match client {
            Some(c) => q.filter(medical_report::Column::ClaimedByApiClientId.eq(c)),
            None => q.filter(medical_report::Column::ClaimedByApiClientId.is_null()),
        };
        rows = q
            .order_by_asc(medical_report::Column::CreatedAt)
            .order_by_asc(medical_report::Column::Id)
            .all(db)
            .await?;
    }
    let change = Change {
        new: Some(json!({"claimed": rows.iter().map(|r| r.id).collect::<Vec<_>>()})),
        ..Change::default()
    };
    Ok((rows, change))
}

/// Checks that the three class probabilities sum to 1 within `tolerance`
/// (`AI_PROBABILITY_TOLERANCE`); each is within 0..1 once parsed.
pub fn probabilities_sum(low: f64, medium: f64, high: f64, tolerance: f64) -> AppResult<()> {
    if ((low + medium + high) - 1.0).abs() > tolerance {
        return Err(AppError::bad_input(
            "input.probabilities",
            format!("must sum to 1 (within {tolerance})"),
        ));
    }
    Ok(())
}

/// Stores the one analysis of a claimed (`ANALYZING`) report and moves it to `ANALYZED`,
/// setting its risk level, its confidence (the probability of the chosen level) and its
/// place in the review queue. A second analysis is `CONFLICT` (also under a race: the unique
/// index on `ai_analyses.report_id`).
pub async fn submit_analysis<C: ConnectionTrait>(
    db: &C,
    report_id: Uuid,
    client: Option<Uuid>,
    new: NewAnalysis,
    tolerance: f64,
) -> AppResult<(medical_report::Model, Change)> {
    probabilities_sum(new.low, new.medium, new.high, tolerance)?;
    let report = load_locked(db, report_id).await?;
    let exists = ai_analysis::Entity::find()
        .filter(ai_analysis::Column::ReportId.eq(report_id))
        .one(db)
        .await?
        .is_some();
    if exists {
        return Err(AppError::Conflict(
            "this report already has an AI analysis".into(),
        ));
    }
    if report.status != ReportStatus::Analyzing {
        return Err(invalid(report.status, ReportStatus::Analyzed));
    }
    let t = now();
    let confidence = match new.risk_level {
        RiskLevel::Low => new.low,
        RiskLevel::Medium => new.medium,
        RiskLevel::High => new.high,
    };
    let a = ai_analysis::Model {
        id: Uuid::now_v7(),
        report_id,
        organization_id: report.organization_id,
        api_client_id: client,
        model_name: new.model_name.into_inner(),
        model_version: new.model_version.into_inner(),
        risk_level: new.risk_level,
        low_probability: new.low,
        medium_probability: new.medium,
        high_probability: new.high,
        findings: new.findings,
        processing_time_ms: new.processing_time_ms,
        image_quality_score: new.image_quality_score,
        created_at: t,
    };
    ai_analysis::Entity::insert(ai_analysis::ActiveModel::from(a.clone()))
        .exec(db)
        .await
        .map_err(unique_violation)?;
    let r = move_report(
        db,
        &report,
        &[ReportStatus::Analyzing],
        ReportStatus::Analyzed,
        vec![
            (
                medical_report::Column::RiskLevel,
                Expr::value(Some(new.risk_level)),
            ),
            (
                medical_report::Column::Confidence,
                Expr::value(Some(confidence)),
            ),
            (medical_report::Column::AnalyzedAt, Expr::value(Some(t))),
            (
                medical_report::Column::QueueKey,
                Expr::value(queue_key(Some(new.risk_level), t)),
            ),
        ],
    )
    .await?;
    let change = Change {
        old: Some(json!({"status": "ANALYZING"})),
        new: Some(json!({"status": r.status, "riskLevel": r.risk_level,
                         "confidence": r.confidence, "analysisId": a.id,
                         "model": a.model_name, "version": a.model_version})),
        ..Change::default()
    };
    Ok((r, change))
}

/// The title of every critical-finding alert and notification: no health data (they show on
/// lock screens and staff screens); the report is named by the related entity.
pub const CRITICAL_TITLE: &str = "A report needs urgent attention";

/// Records a doctor's review of an `ANALYZED` report and moves it to `REVIEWED`. The patient
/// is notified; a `CRITICAL` review also raises a `CRITICAL_FINDING` alert to the
/// organization's doctors and notifies the doctor of the patient's latest consultation.
pub async fn review<C: ConnectionTrait>(
    db: &C,
    report_id: Uuid,
    doctor_user: Uuid,
    new: NewReview,
) -> AppResult<(medical_report::Model, Change)> {
    let report = load_locked(db, report_id).await?;
    if report.status != ReportStatus::Analyzed {
        return Err(invalid(report.status, ReportStatus::Reviewed));
    }
    let analysis = ai_analysis::Entity::find()
        .filter(ai_analysis::Column::ReportId.eq(report_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("analyzed report without an analysis"))?;
    let t = now();
    let clinical_findings = new.clinical_findings.map(Notes::into_inner);
    let rv = report_review::Model {
        id: Uuid::now_v7(),
        report_id,
        organization_id: report.organization_id,
        doctor_user_id: doctor_user,
        notes: Sealed(new.notes.into_inner()),
        clinical_findings: Sealed::opt(clinical_findings.clone()),
        confirms_ai: new.confirms_ai,
        ai_accuracy_rating: new.ai_accuracy_rating,
        doctor_risk_level: new.doctor_risk_level,
        urgency: new.urgency,
        recommended_action: new.recommended_action.map(Notes::into_inner),
        follow_up_date: new.follow_up_date,
        ai_model_name: analysis.model_name,
        ai_risk_level: analysis.risk_level,
        created_at: t,
    };
    report_review::Entity::insert(report_review::ActiveModel::from(rv.clone()))
        .exec(db)
        .await?;
    let r = move_report(
        db,
        &report,
        &[ReportStatus::Analyzed],
        ReportStatus::Reviewed,
        vec![
            (medical_report::Column::ReviewedAt, Expr::value(Some(t))),
            (
                medical_report::Column::Findings,
                Expr::value(Sealed::opt(clinical_findings)),
            ),
        ],
    )
    .await?;
    let related = Some(("medical_report", r.id));
    let mut events = Vec::new();
    let mut notes = Vec::new();
    if new.urgency == ReviewUrgency::Critical {
        events.extend(
            raise(
                db,
                NewAlert {
                    content: AlertContent::new(
                        AlertKind::CriticalFinding,
                        Severity::Critical,
                        CRITICAL_TITLE.into(),
                        "A reviewed imaging report was marked critical.".into(),
                    ),
                    organization_id: Some(r.organization_id),
                    location: None,
                    radius_km: None,
                    related,
                    target: Target::OrgRoles(vec![r.organization_id], &[OrgRole::Doctor]),
                },
            )
            .await?,
        );
        // Whoever the alert already notified (the organization's doctors) is not told twice.
        let alerted: Vec<Uuid> = events
            .iter()
            .filter_map(|e| match e {
                Event::Notification(n) => Some(n.user_id),
                _ => None,
            })
            .collect();
        let mut users = vec![r.patient_id];
        if let Some(d) = latest_consultation_doctor(db, r.patient_id).await? {
            users.push(d);
        }
        users.dedup();
        users.retain(|u| !alerted.contains(u));
        notes.extend(users.into_iter().map(|u| NewNotification {
            user_id: u,
            kind: NotificationKind::CriticalFinding,
            priority: Severity::Critical,
            title: CRITICAL_TITLE.into(),
            body: "Please open the report in LifeFlow.".into(),
            related,
        }));
    } else {
        notes.push(NewNotification {
            user_id: r.patient_id,
            kind: NotificationKind::ReportUpdate,
            priority: Severity::Info,
            title: "Your report was reviewed".into(),
            body: "A doctor reviewed one of your reports.".into(),
            related,
        });
    }
    events.extend(notify(db, notes).await?);
    let change = Change {
        old: Some(json!({"status": "ANALYZED"})),
        new: Some(json!({"status": r.status, "reviewId": rv.id,
                         "urgency": rv.urgency, "confirmsAi": rv.confirms_ai,
                         "doctorRiskLevel": rv.doctor_risk_level})),
        events,
        ..Change::default()
    };
    Ok((r, change))
}

/// The user of the doctor of the patient's latest consultation (newest `scheduled_at`, past
/// or upcoming, cancelled and missed ones left out), if any.
pub async fn latest_consultation_doctor<C: ConnectionTrait>(
    db: &C,
    patient: Uuid,
) -> AppResult<Option<Uuid>> {
    Ok(consultation::Entity::find()
        .select_only()
        .column(consultation::Column::DoctorUserId)
        .filter(consultation::Column::PatientId.eq(patient))
        .filter(
            consultation::Column::Status
                .is_not_in([ConsultationStatus::Cancelled, ConsultationStatus::NoShow]),
        )
        .order_by_desc(consultation::Column::ScheduledAt)
        .into_tuple()
        .one(db)
        .await?)
}

/// Archives an `ANALYZED` or `REVIEWED` report.
pub async fn archive<C: ConnectionTrait>(
    db: &C,
    report_id: Uuid,
) -> AppResult<(medical_report::Model, Change)> {
    let report = load_locked(db, report_id).await?;
    let from = report.status;
    let r = move_report(
        db,
        &report,
        &[ReportStatus::Analyzed, ReportStatus::Reviewed],
        ReportStatus::Archived,
        vec![(medical_report::Column::ArchivedAt, Expr::value(Some(now())))],
    )
    .await?;
    let change = Change {
        old: Some(json!({"status": from})),
        new: Some(json!({"status": r.status, "riskLevel": r.risk_level,
                         "confidence": r.confidence, "studyType": r.study_type,
                         "patientId": r.patient_id})),
        ..Change::default()
    };
    Ok((r, change))
}

/// One cell of the confusion matrix.
#[derive(Debug, Clone, FromQueryResult)]
pub struct ConfusionRow {
    /// The AI's level.
    pub ai_risk_level: RiskLevel,
    /// The doctor's level.
    pub doctor_risk_level: RiskLevel,
    pub reviews: i64,
    /// Of which confirmed the AI.
    pub confirmed: i64,
    /// Sum of the accuracy ratings.
    pub rating_sum: i64,
}

/// Model quality derived from reviews.
#[derive(Debug, Clone, Default)]
pub struct Performance {
    pub reviewed: i64,
    /// Reviews confirming the AI.
    pub confirmed: i64,
    /// Mean accuracy rating (none without reviews).
    pub mean_rating: Option<f64>,
    /// Cells of the confusion matrix that have reviews.
    pub cells: Vec<(RiskLevel, RiskLevel, i64)>,
}

/// Aggregates the reviews of `model_name`'s analyses made in `[from, to)` (of one
/// organization, or all): one `GROUP BY` of the AI's level against the doctor's, the totals
/// summed from its (at most nine) rows.
pub async fn model_performance<C: ConnectionTrait>(
    db: &C,
    model_name: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    org: Option<Uuid>,
) -> AppResult<Performance> {
    use report_review::Column as R;
    let mut q = report_review::Entity::find()
        .select_only()
        .column(R::AiRiskLevel)
        .column(R::DoctorRiskLevel)
        .column_as(Expr::from(Func::count(Expr::col(R::Id))), "reviews")
        .column_as(
            Expr::cust("SUM(CASE WHEN confirms_ai THEN 1 ELSE 0 END)"),
            "confirmed",
        )
        .column_as(
            Expr::from(Func::sum(Expr::col(R::AiAccuracyRating))),
            "rating_sum",
        )
        .filter(R::AiModelName.eq(model_name))
        .group_by(R::AiRiskLevel)
        .group_by(R::DoctorRiskLevel);
    if let Some(f) = from {
        q = q.filter(R::CreatedAt.gte(f));
    }
    if let Some(t) = to {
        q = q.filter(R::CreatedAt.lt(t));
    }
    if let Some(o) = org {
        q = q.filter(R::OrganizationId.eq(o));
    }
    let rows = q.into_model::<ConfusionRow>().all(db).await?;
    let mut p = Performance::default();
    let mut rating_sum = 0i64;
    for r in rows {
        p.reviewed += r.reviews;
        p.confirmed += r.confirmed;
        rating_sum += r.rating_sum;
        p.cells
            .push((r.ai_risk_level, r.doctor_risk_level, r.reviews));
    }
    p.cells
        .sort_by_key(|(a, d, _)| (std::cmp::Reverse(a.rank()), std::cmp::Reverse(d.rank())));
    if p.reviewed > 0 {
        p.mean_rating = Some(rating_sum as f64 / p.reviewed as f64);
    }
    Ok(p)
}
