//! Medical report resolvers: queries filtered by `auth::reports`, mutations run as commands.
//! Every report a query returns is an audited read of health data.

use super::{commands::*, service, types::*};
use crate::{
    audit::ReadRecord,
    auth::{
        Rule,
        reports::{read_model_performance, read_org_reports, visible_reports},
    },
    graphql::prelude::*,
    pipeline,
    validation::Text,
};
use chrono::{DateTime, Utc};
use entity::{ReportStatus, medical_report};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Select};
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
fn queue_keyset(direction: SortDirection) -> Keyset<medical_report::Entity> {
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

/// One page of reports: fetched, its relations primed, each report an audited read.
async fn page(
    ctx: &Context<'_>,
    q: Select<medical_report::Entity>,
    keyset: &Keyset<medical_report::Entity>,
    args: PageArgs,
) -> AppResult<Conn<MedicalReport>> {
    let req = ctx.req()?;
    let page = fetch_selected(ctx, q, keyset, &args).await?;
    let rows: Vec<_> = page.rows.iter().map(|(_, m)| m).collect();
    prime_relations(ctx, req, &rows).await?;
    record_reads(req, rows.into_iter());
    Ok(page.into_connection(MedicalReport::from))
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
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
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
        let args = PageArgs::new(first, after, last, before);
        page(ctx, q, &keyset, args).await
    }

    /// One report, if the caller may see it (`NOT_FOUND` otherwise). The read is audited.
    async fn medical_report(&self, ctx: &Context<'_>, id: ID) -> AppResult<MedicalReport> {
        let req = ctx.authorized(Rule::Authenticated)?;
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
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
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
        let req = ctx.authorized(Rule::Authenticated)?;
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
        let keyset = queue_keyset(SortDirection::Asc);
        let args = PageArgs::new(first, after, last, before);
        page(ctx, q, &keyset, args).await
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
        let req = ctx.authorized(Rule::Authenticated)?;
        let org = organization_id
            .as_ref()
            .map(|o| parse_id(o, "organizationId"))
            .transpose()?;
        read_model_performance(&req.viewer, org)?;
        let name = Text::parse(&model_name, "modelName", 100)?.into_inner();
        let p = service::model_performance(&req.db, &name, from, to, org).await?;
        Ok(AiModelPerformance::new(name, p))
    }
}

pipeline::command_mutations! {
    /// Medical report mutations.
    ReportMutation {
        /// Uploads a report for a patient: the organization's radiologists and doctors. Image
        /// URLs must be `https://` (or an allowed storage location); 1 to 50 images.
        create_medical_report(CreateMedicalReportInput) -> MedicalReportPayload = CreateMedicalReport;
        /// The AI service takes up to `limit` (1 to 50) of its organization's waiting reports,
        /// oldest first, moving them to `ANALYZING`; two workers never take the same report. A
        /// claim unanswered for `REPORT_CLAIM_TIMEOUT_SECS` can be taken again. API clients with
        /// `reports:analysis:write` only.
        claim_reports_for_analysis(ClaimReportsInput) -> ClaimReportsPayload = ClaimReports;
        /// The AI service submits its analysis of a claimed report, moving it to `ANALYZED` with
        /// its risk level and confidence. API clients with `reports:analysis:write` for the
        /// report's organization only; one analysis per report (a second is `CONFLICT`).
        submit_ai_analysis(SubmitAiAnalysisInput) -> MedicalReportPayload = OnReport<NewAnalysis>;
        /// A doctor of the report's organization reviews an analysed report, moving it to
        /// `REVIEWED`. A `CRITICAL` review raises a `CRITICAL_FINDING` alert to the organization's
        /// doctors and notifies the patient and the doctor of their latest consultation.
        review_medical_report(ReviewMedicalReportInput) -> MedicalReportPayload = OnReport<NewReview>;
        /// Archives an `ANALYZED` or `REVIEWED` report: the organization's doctors, radiologists
        /// and admins.
        archive_medical_report(ArchiveMedicalReportInput) -> MedicalReportPayload = OnReport<Archive>;
    }
}
