//! Medical report resolvers: check the caller (`auth::reports`), call the service, map the
//! result. Every report a query returns is an audited read of health data.

use super::{service, types::*};
use crate::{
    audit::{AuditAction, Change, ReadRecord},
    auth::{
        Rule, authorize,
        reports::{
            analysis_rule, archive_rule, read_model_performance, read_org_reports, review_rule,
            upload_rule, visible_reports,
        },
    },
    error::{AppError, AppResult},
    graphql::{
        context::{CtxExt, RequestCtx},
        ids::parse_id,
        loaders::{prime, prime_orgs, prime_users},
        pagination::{Conn, Keyset, PageArgs, SortValue, fetch_selected, node_selects},
    },
    pipeline::mutate,
    validation::{Notes, Text},
};
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::{ReportStatus, medical_report};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

/// Notes one audited read per report handed out (written as one insert when the request ends).
fn record_reads<'a>(req: &RequestCtx, rows: impl Iterator<Item = &'a medical_report::Model>) {
    for r in rows {
        req.reads.record(ReadRecord {
            action: "medical_report.read",
            entity_type: "medical_report",
            entity_id: r.id,
            organization_id: Some(r.organization_id),
        });
    }
}

/// Loads each relation a page selects in one query and primes the loaders, so the page costs
/// the same statements whatever its length.
async fn prime_relations(
    ctx: &Context<'_>,
    req: &RequestCtx,
    rows: &[&medical_report::Model],
) -> AppResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = rows.iter().map(|m| m.id).collect();
    let mut user_ids = Vec::new();
    if node_selects(ctx, &["patient"]) {
        user_ids.extend(rows.iter().map(|m| m.patient_id));
    }
    if node_selects(ctx, &["uploadedBy"]) {
        user_ids.extend(rows.iter().map(|m| m.uploaded_by_user_id));
    }
    if node_selects(ctx, &["organization"]) {
        prime_orgs(req, rows.iter().map(|m| m.organization_id).collect()).await?;
    }
    if node_selects(ctx, &["images"]) {
        prime(&req.loaders.images_by_report, ids.clone()).await?;
    }
    if node_selects(ctx, &["aiAnalysis"]) {
        prime(&req.loaders.analysis_by_report, ids.clone()).await?;
    }
    if node_selects(ctx, &["reviews"]) {
        let reviews = prime(&req.loaders.reviews_by_report, ids).await?;
        if node_selects(ctx, &["reviews", "doctor"]) {
            user_ids.extend(reviews.values().flatten().map(|r| r.doctor_user_id));
        }
    }
    prime_users(req, user_ids).await
}

/// The review-queue keyset: the stored `queue_key` (see `service::queue_key`) plus id.
fn queue_keyset(
    direction: crate::graphql::pagination::SortDirection,
) -> Keyset<medical_report::Entity> {
    Keyset {
        key: Some((
            medical_report::Column::QueueKey,
            |m: &medical_report::Model| SortValue::Text(m.queue_key.clone()),
        )),
        id: medical_report::Column::Id,
        id_of: |m| m.id,
        direction,
    }
}

/// Medical report queries.
#[derive(Default)]
pub struct ReportQuery;

#[Object]
impl ReportQuery {
    /// Reports the caller may see: a patient their own; an organization's doctors,
    /// radiologists and admins its reports; its API clients as their scopes allow. Each
    /// report returned is an audited read.
    #[allow(clippy::too_many_arguments)]
    async fn medical_reports(
        &self,
        ctx: &Context<'_>,
        filter: Option<MedicalReportFilter>,
        order_by: Option<MedicalReportOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Conn<MedicalReport>> {
        let req = ctx.req()?;
        let f = filter.unwrap_or_default();
        let mut q = medical_report::Entity::find().filter(visible_reports(&req.viewer)?);
        if let Some(o) = &f.organization_id {
            q = q.filter(
                medical_report::Column::OrganizationId.eq(parse_id(o, "filter.organizationId")?),
            );
        }
        if let Some(p) = &f.patient_id {
            q = q.filter(medical_report::Column::PatientId.eq(parse_id(p, "filter.patientId")?));
        }
        if let Some(s) = f.statuses {
            q = q.filter(medical_report::Column::Status.is_in(s));
        }
        if let Some(r) = f.risk_levels {
            q = q.filter(medical_report::Column::RiskLevel.is_in(r));
        }
        if let Some(t) = f.study_types {
            q = q.filter(medical_report::Column::StudyType.is_in(t));
        }
        if let Some(t) = f.uploaded_after {
            q = q.filter(medical_report::Column::CreatedAt.gte(t));
        }
        if let Some(t) = f.uploaded_before {
            q = q.filter(medical_report::Column::CreatedAt.lt(t));
        }
        let order = order_by.unwrap_or_default();
        let keyset = match order.field {
            MedicalReportOrderField::Priority => queue_keyset(order.direction),
            MedicalReportOrderField::UploadedAt => Keyset {
                key: None,
                id: medical_report::Column::Id,
                id_of: |m: &medical_report::Model| m.id,
                direction: order.direction,
            },
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let page = fetch_selected(ctx, q, &keyset, &args).await?;
        let rows: Vec<_> = page.rows.iter().map(|(_, m)| m).collect();
        prime_relations(ctx, req, &rows).await?;
        record_reads(req, rows.into_iter());
        Ok(page.into_connection(MedicalReport::from))
    }

    /// One report, if the caller may see it (`NOT_FOUND` otherwise). The read is audited.
    async fn medical_report(&self, ctx: &Context<'_>, id: ID) -> AppResult<MedicalReport> {
        let req = ctx.req()?;
        authorize(&req.viewer, Rule::Authenticated)?;
        let id = parse_id(&id, "id")?;
        let cond =
            visible_reports(&req.viewer).map_err(|_| AppError::NotFound("medical report"))?;
        let r = medical_report::Entity::find_by_id(id)
            .filter(cond)
            .one(&req.db)
            .await?
            .ok_or(AppError::NotFound("medical report"))?;
        record_reads(req, std::iter::once(&r));
        Ok(r.into())
    }

    /// An organization's analysed reports waiting for review: HIGH risk first, then MEDIUM,
    /// then LOW, each oldest analysis first. For its doctors, radiologists and admins (and its
    /// API client with `reports:read`). Each report returned is an audited read.
    #[allow(clippy::too_many_arguments)]
    async fn review_queue(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
        filter: Option<ReviewQueueFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Conn<MedicalReport>> {
        let req = ctx.req()?;
        authorize(&req.viewer, Rule::Authenticated)?;
        let org = parse_id(&organization_id, "organizationId")?;
        read_org_reports(&req.viewer, org)?;
        let f = filter.unwrap_or_default();
        let mut q = medical_report::Entity::find()
            .filter(medical_report::Column::OrganizationId.eq(org))
            .filter(medical_report::Column::Status.eq(ReportStatus::Analyzed));
        if let Some(r) = f.risk_levels {
            q = q.filter(medical_report::Column::RiskLevel.is_in(r));
        }
        if let Some(t) = f.study_types {
            q = q.filter(medical_report::Column::StudyType.is_in(t));
        }
        let keyset = queue_keyset(crate::graphql::pagination::SortDirection::Asc);
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let page = fetch_selected(ctx, q, &keyset, &args).await?;
        let rows: Vec<_> = page.rows.iter().map(|(_, m)| m).collect();
        prime_relations(ctx, req, &rows).await?;
        record_reads(req, rows.into_iter());
        Ok(page.into_connection(MedicalReport::from))
    }

    /// How an AI model fares against doctors' reviews of its analyses (reviewed in
    /// `[from, to)`): for an organization's doctors, radiologists and admins; super admins
    /// may leave out `organizationId` for the whole platform.
    async fn ai_model_performance(
        &self,
        ctx: &Context<'_>,
        model_name: String,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        organization_id: Option<ID>,
    ) -> AppResult<AiModelPerformance> {
        let req = ctx.req()?;
        authorize(&req.viewer, Rule::Authenticated)?;
        let org = organization_id
            .as_ref()
            .map(|o| parse_id(o, "organizationId"))
            .transpose()?;
        read_model_performance(&req.viewer, org)?;
        let name = Text::parse(&model_name, "modelName", 100)?.into_inner();
        let p = service::model_performance(&req.db, &name, from, to, org).await?;
        Ok(AiModelPerformance {
            model_name: name,
            analyses_reviewed: p.reviewed,
            confirmed: p.confirmed,
            mean_accuracy_rating: p.mean_rating,
            confusion_matrix: p
                .cells
                .into_iter()
                .map(|(a, d, n)| ConfusionCell {
                    ai_risk_level: a,
                    doctor_risk_level: d,
                    count: n,
                })
                .collect(),
        })
    }
}

/// Medical report mutations.
#[derive(Default)]
pub struct ReportMutation;

fn report_json(r: &medical_report::Model) -> serde_json::Value {
    json!({"status": r.status, "riskLevel": r.risk_level, "confidence": r.confidence,
           "studyType": r.study_type, "patientId": r.patient_id})
}

/// The report an input names and its organization (for the mutation's rule).
async fn named_report(req: &RequestCtx, id: &ID) -> (AppResult<Uuid>, AppResult<Uuid>) {
    let id = parse_id(id, "input.reportId");
    let org = match &id {
        Ok(i) => service::report_org(&req.db, *i).await,
        Err(e) => Err(e.clone()),
    };
    (id, org)
}

#[Object]
impl ReportMutation {
    /// Uploads a report for a patient: the organization's radiologists and doctors. Image
    /// URLs must be `https://` (or an allowed storage location); 1 to 50 images.
    async fn create_medical_report(
        &self,
        ctx: &Context<'_>,
        input: CreateMedicalReportInput,
    ) -> AppResult<MedicalReportPayload> {
        let app = ctx.app()?;
        let org = parse_id(&input.organization_id, "input.organizationId");
        let rule = upload_rule(&org);
        let prefixes = app.config.report_storage_prefixes.clone();
        let r = mutate(
            ctx,
            AuditAction::new("medical_report.create", "medical_report"),
            rule,
            move |txn, actor| {
                Box::pin(async move {
                    let org = org?;
                    let new = validate_report(input, org, actor, &prefixes)?;
                    let (r, images) = service::create(txn, new).await?;
                    let change = Change {
                        entity_id: Some(r.id),
                        new: Some(json!({"status": r.status, "studyType": r.study_type,
                                         "patientId": r.patient_id, "images": images.len()})),
                        ..Change::default()
                    };
                    Ok((r, change))
                })
            },
        )
        .await?;
        Ok(MedicalReportPayload {
            medical_report: r.into(),
        })
    }

    /// The AI service takes up to `limit` (1 to 50) of its organization's waiting reports,
    /// oldest first, moving them to `ANALYZING`; two workers never take the same report. A
    /// claim unanswered for `REPORT_CLAIM_TIMEOUT_SECS` can be taken again. API clients with
    /// `reports:analysis:write` only.
    async fn claim_reports_for_analysis(
        &self,
        ctx: &Context<'_>,
        input: ClaimReportsInput,
    ) -> AppResult<ClaimReportsPayload> {
        let app = ctx.app()?;
        let org = parse_id(&input.organization_id, "input.organizationId");
        let rule = analysis_rule(&org);
        let timeout = app.config.report_claim_timeout;
        let rows = mutate(
            ctx,
            AuditAction::new("medical_report.claim", "medical_report"),
            rule,
            move |txn, actor| {
                Box::pin(async move {
                    let rows = service::claim(txn, org?, actor.api_client_id, input.limit, timeout)
                        .await?;
                    let change = Change {
                        new: Some(
                            json!({"claimed": rows.iter().map(|r| r.id).collect::<Vec<_>>()}),
                        ),
                        ..Change::default()
                    };
                    Ok((rows, change))
                })
            },
        )
        .await?;
        Ok(ClaimReportsPayload {
            medical_reports: rows.into_iter().map(MedicalReport::from).collect(),
        })
    }

    /// The AI service submits its analysis of a claimed report, moving it to `ANALYZED` with
    /// its risk level and confidence. API clients with `reports:analysis:write` for the
    /// report's organization only; one analysis per report (a second is `CONFLICT`).
    async fn submit_ai_analysis(
        &self,
        ctx: &Context<'_>,
        input: SubmitAiAnalysisInput,
    ) -> AppResult<MedicalReportPayload> {
        let req = ctx.req()?;
        let tolerance = ctx.app()?.config.ai_probability_tolerance;
        let (id, org) = named_report(req, &input.report_id).await;
        let rule = analysis_rule(&org);
        let r = mutate(
            ctx,
            AuditAction::new("medical_report.analyze", "medical_report").on_parsed(&id),
            rule,
            move |txn, actor| {
                Box::pin(async move {
                    let id = id?;
                    org?;
                    let p = &input.probabilities;
                    service::probabilities(p.low, p.medium, p.high, tolerance)?;
                    if !(0.0..=1.0).contains(&input.image_quality_score) {
                        return Err(AppError::bad_input(
                            "input.imageQualityScore",
                            "must be between 0 and 1",
                        ));
                    }
                    if input.processing_time_ms < 0 {
                        return Err(AppError::bad_input(
                            "input.processingTimeMs",
                            "must not be negative",
                        ));
                    }
                    service::bounded_json(&input.findings.0, "input.findings")?;
                    let new = service::NewAnalysis {
                        model_name: Text::parse(&input.model_name, "input.modelName", 100)?,
                        model_version: Text::parse(&input.model_version, "input.modelVersion", 50)?,
                        risk_level: input.risk_level,
                        low: p.low,
                        medium: p.medium,
                        high: p.high,
                        findings: input.findings.0,
                        processing_time_ms: input.processing_time_ms,
                        image_quality_score: input.image_quality_score,
                    };
                    let (r, a) =
                        service::submit_analysis(txn, id, actor.api_client_id, new).await?;
                    let change = Change {
                        old: Some(json!({"status": "ANALYZING"})),
                        new: Some(json!({"status": r.status, "riskLevel": r.risk_level,
                                         "confidence": r.confidence, "analysisId": a.id,
                                         "model": a.model_name, "version": a.model_version})),
                        ..Change::default()
                    };
                    Ok((r, change))
                })
            },
        )
        .await?;
        Ok(MedicalReportPayload {
            medical_report: r.into(),
        })
    }

    /// A doctor of the report's organization reviews an analysed report, moving it to
    /// `REVIEWED`. A `CRITICAL` review raises a `CRITICAL_FINDING` alert to the organization's
    /// doctors and notifies the patient and the doctor of their latest consultation.
    async fn review_medical_report(
        &self,
        ctx: &Context<'_>,
        input: ReviewMedicalReportInput,
    ) -> AppResult<MedicalReportPayload> {
        let req = ctx.req()?;
        let (id, org) = named_report(req, &input.report_id).await;
        let rule = review_rule(&org);
        let r = mutate(
            ctx,
            AuditAction::new("medical_report.review", "medical_report").on_parsed(&id),
            rule,
            move |txn, actor| {
                Box::pin(async move {
                    let id = id?;
                    org?;
                    let doctor = actor
                        .user_id
                        .ok_or(AppError::Forbidden("only doctors review reports"))?;
                    if !(1..=5).contains(&input.ai_accuracy_rating) {
                        return Err(AppError::bad_input(
                            "input.aiAccuracyRating",
                            "must be between 1 and 5",
                        ));
                    }
                    let new = service::NewReview {
                        notes: Notes::parse(&input.notes, "input.notes", 5000)?,
                        clinical_findings: Notes::parse_opt(
                            input.clinical_findings.as_deref(),
                            "input.clinicalFindings",
                            5000,
                        )?,
                        confirms_ai: input.confirms_ai,
                        ai_accuracy_rating: input.ai_accuracy_rating,
                        doctor_risk_level: input.doctor_risk_level,
                        urgency: input.urgency,
                        recommended_action: Notes::parse_opt(
                            input.recommended_action.as_deref(),
                            "input.recommendedAction",
                            2000,
                        )?,
                        follow_up_date: input.follow_up_date,
                    };
                    let (r, rv, events) = service::review(txn, id, doctor, new).await?;
                    let change = Change {
                        old: Some(json!({"status": "ANALYZED"})),
                        new: Some(json!({"status": r.status, "reviewId": rv.id,
                                         "urgency": rv.urgency, "confirmsAi": rv.confirms_ai,
                                         "doctorRiskLevel": rv.doctor_risk_level})),
                        events,
                        ..Change::default()
                    };
                    Ok((r, change))
                })
            },
        )
        .await?;
        Ok(MedicalReportPayload {
            medical_report: r.into(),
        })
    }

    /// Archives an `ANALYZED` or `REVIEWED` report: the organization's doctors, radiologists
    /// and admins.
    async fn archive_medical_report(
        &self,
        ctx: &Context<'_>,
        input: ArchiveMedicalReportInput,
    ) -> AppResult<MedicalReportPayload> {
        let req = ctx.req()?;
        let (id, org) = named_report(req, &input.report_id).await;
        let rule = archive_rule(&org);
        let r = mutate(
            ctx,
            AuditAction::new("medical_report.archive", "medical_report").on_parsed(&id),
            rule,
            move |txn, _| {
                Box::pin(async move {
                    let id = id?;
                    org?;
                    let (from, r) = service::archive(txn, id).await?;
                    let change = Change {
                        old: Some(json!({"status": from})),
                        new: Some(report_json(&r)),
                        ..Change::default()
                    };
                    Ok((r, change))
                })
            },
        )
        .await?;
        Ok(MedicalReportPayload {
            medical_report: r.into(),
        })
    }
}

/// Validates `createMedicalReport`'s input, naming the failing field.
fn validate_report(
    input: CreateMedicalReportInput,
    org: Uuid,
    actor: &crate::auth::Actor,
    prefixes: &[String],
) -> AppResult<service::NewReport> {
    let uploaded_by = actor
        .user_id
        .ok_or(AppError::Forbidden("only members upload reports"))?;
    let patient_id = parse_id(&input.patient_id, "input.patientId")?;
    let study_type = Text::parse(&input.study_type, "input.studyType", 100)?;
    let clinical_notes =
        Notes::parse_opt(input.clinical_notes.as_deref(), "input.clinicalNotes", 5000)?;
    if input.images.is_empty() || input.images.len() > service::MAX_IMAGES {
        return Err(AppError::bad_input(
            "input.images",
            format!("must hold 1 to {} images", service::MAX_IMAGES),
        ));
    }
    let mut images = Vec::with_capacity(input.images.len());
    for (n, i) in input.images.into_iter().enumerate() {
        let field = |f: &str| format!("input.images.{n}.{f}");
        let url = service::image_url(&i.url, &field("url"), prefixes)?;
        if i.width <= 0 || i.width > 100_000 {
            return Err(AppError::bad_input(
                field("width"),
                "must be between 1 and 100000",
            ));
        }
        if i.height <= 0 || i.height > 100_000 {
            return Err(AppError::bad_input(
                field("height"),
                "must be between 1 and 100000",
            ));
        }
        if i.size_bytes <= 0 {
            return Err(AppError::bad_input(field("sizeBytes"), "must be positive"));
        }
        let display_order = i.display_order.unwrap_or(n as i32);
        if display_order < 0 {
            return Err(AppError::bad_input(
                field("displayOrder"),
                "must not be negative",
            ));
        }
        if let Some(m) = &i.dicom_metadata {
            service::bounded_json(&m.0, &field("dicomMetadata"))?;
        }
        images.push(service::NewImage {
            url,
            image_type: i.image_type,
            format: i.format,
            width: i.width,
            height: i.height,
            size_bytes: i.size_bytes,
            display_order,
            dicom_metadata: i.dicom_metadata.map(|m| m.0),
        });
    }
    Ok(service::NewReport {
        organization_id: org,
        patient_id,
        uploaded_by,
        study_type,
        clinical_notes,
        images,
    })
}
