//! GraphQL types of medical reports, kept apart from the database rows. Relations resolve
//! through the request's loaders (primed by the list resolvers). A report is only ever
//! handed out by a resolver that checked `auth::reports` first, so its relations need no
//! further check.

use crate::{
    auth::reports,
    error::AppResult,
    graphql::{
        context::CtxExt,
        ids::to_id,
        loaders::{load_children, load_one},
        pagination::SortDirection,
    },
    identity::types::User,
    organizations::types::Organization,
};
use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Json, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use entity::sealed::Sealed;
use entity::{
    ImageFormat, ImageType, ReportStatus, ReviewUrgency, RiskLevel, ai_analysis, medical_report,
    report_image, report_review,
};
use serde::Serialize;
use std::sync::Arc;

/// An imaging study of a patient.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct MedicalReport {
    pub id: ID,
    /// Study type, e.g. "Chest X-ray".
    pub study_type: String,
    pub status: ReportStatus,
    /// Risk level from the AI analysis (the doctor's own assessment is on the review).
    pub risk_level: Option<RiskLevel>,
    /// The AI's probability of the chosen risk level.
    pub confidence: Option<f64>,
    /// The reviewing doctor's clinical findings.
    pub findings: Option<String>,
    pub uploaded_at: DateTime<Utc>,
    /// When claimed for analysis.
    pub claimed_at: Option<DateTime<Utc>>,
    pub analyzed_at: Option<DateTime<Utc>>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub archived_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    pub row: medical_report::Model,
}

impl From<medical_report::Model> for MedicalReport {
    fn from(m: medical_report::Model) -> Self {
        Self {
            id: to_id(m.id),
            study_type: m.study_type.clone(),
            status: m.status,
            risk_level: m.risk_level,
            confidence: m.confidence,
            findings: Sealed::plain(&m.findings),
            uploaded_at: m.created_at,
            claimed_at: m.claimed_at,
            analyzed_at: m.analyzed_at,
            reviewed_at: m.reviewed_at,
            archived_at: m.archived_at,
            row: m,
        }
    }
}

#[ComplexObject]
impl MedicalReport {
    /// The patient; null for an AI-analysis client.
    async fn patient(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        if !reports::sees_patient(&ctx.req()?.viewer) {
            return Ok(None);
        }
        User::load(ctx, self.row.patient_id).await
    }

    /// Clinical notes of the uploader; null for an AI-analysis client.
    async fn clinical_notes(&self, ctx: &Context<'_>) -> AppResult<Option<String>> {
        let shown = reports::sees_patient(&ctx.req()?.viewer);
        Ok(Sealed::plain(&self.row.clinical_notes).filter(|_| shown))
    }

    /// The member who uploaded it (contact details for the organization's own members).
    async fn uploaded_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        User::load_member(ctx, self.row.uploaded_by_user_id, self.row.organization_id).await
    }

    async fn organization(&self, ctx: &Context<'_>) -> AppResult<Option<Arc<Organization>>> {
        Organization::load(ctx, self.row.organization_id).await
    }

    /// Its images, in display order. An AI-analysis client reads their DICOM metadata
    /// without the attributes that identify the patient.
    async fn images(&self, ctx: &Context<'_>) -> AppResult<Vec<ReportImage>> {
        let req = ctx.req()?;
        let rows = load_children(&req.loaders.images_by_report, self.row.id).await?;
        let shown = reports::sees_patient(&req.viewer);
        Ok(rows
            .into_iter()
            .map(|mut m| {
                if !shown && let Some(d) = m.dicom_metadata.as_mut() {
                    super::deidentify::deidentify(d);
                }
                ReportImage::from(m)
            })
            .collect())
    }

    /// Its AI analysis, once submitted.
    async fn ai_analysis(&self, ctx: &Context<'_>) -> AppResult<Option<AiAnalysis>> {
        let a = load_one(&ctx.req()?.loaders.analysis_by_report, self.row.id).await?;
        Ok(a.map(AiAnalysis::from))
    }

    /// Doctors' reviews, oldest first.
    async fn reviews(&self, ctx: &Context<'_>) -> AppResult<Vec<ReportReview>> {
        let rows = load_children(&ctx.req()?.loaders.reviews_by_report, self.row.id).await?;
        Ok(rows.into_iter().map(ReportReview::from).collect())
    }
}

/// The metadata of one image of a report (the file itself lives in storage).
#[derive(SimpleObject, Clone)]
pub struct ReportImage {
    pub id: ID,
    #[graphql(flatten)]
    pub metadata: ImageMetadata,
}

/// What is recorded of an image: read on a report's images, and written, once checked, for
/// a new report.
#[derive(SimpleObject, Clone, Debug)]
pub struct ImageMetadata {
    /// Where the file is.
    pub url: String,
    pub image_type: ImageType,
    pub format: ImageFormat,
    /// Width in pixels.
    pub width: i32,
    /// Height in pixels.
    pub height: i32,
    /// File size in bytes.
    pub size_bytes: i64,
    /// Position in the report.
    pub display_order: i32,
    pub dicom_metadata: Option<Json<serde_json::Value>>,
}

impl From<report_image::Model> for ReportImage {
    fn from(m: report_image::Model) -> Self {
        Self {
            id: to_id(m.id),
            metadata: ImageMetadata {
                url: m.url,
                image_type: m.image_type,
                format: m.format,
                width: m.width,
                height: m.height,
                size_bytes: m.size_bytes,
                display_order: m.display_order,
                dicom_metadata: m.dicom_metadata.map(Json),
            },
        }
    }
}

/// The AI analysis of a report.
#[derive(SimpleObject, Clone)]
pub struct AiAnalysis {
    pub id: ID,
    pub model_name: String,
    pub model_version: String,
    /// The level the model chose.
    pub risk_level: RiskLevel,
    pub probabilities: RiskProbabilities,
    /// Findings as the model reported them.
    pub findings: Json<serde_json::Value>,
    /// Processing time in milliseconds.
    pub processing_time_ms: i32,
    pub image_quality_score: f64,
    /// The API client that submitted it.
    pub api_client_id: Option<ID>,
    pub created_at: DateTime<Utc>,
}

/// The three class probabilities of an analysis.
#[derive(SimpleObject, Clone)]
pub struct RiskProbabilities {
    /// P(LOW).
    pub low: f64,
    /// P(MEDIUM).
    pub medium: f64,
    /// P(HIGH).
    pub high: f64,
}

/// The three class probabilities an AI service submits.
#[derive(InputObject, Clone, Serialize)]
pub struct RiskProbabilitiesInput {
    /// P(LOW), 0 to 1.
    pub low: f64,
    /// P(MEDIUM), 0 to 1.
    pub medium: f64,
    /// P(HIGH), 0 to 1.
    pub high: f64,
}

impl From<ai_analysis::Model> for AiAnalysis {
    fn from(m: ai_analysis::Model) -> Self {
        Self {
            id: to_id(m.id),
            model_name: m.model_name,
            model_version: m.model_version,
            risk_level: m.risk_level,
            probabilities: RiskProbabilities {
                low: m.low_probability,
                medium: m.medium_probability,
                high: m.high_probability,
            },
            findings: Json(m.findings),
            processing_time_ms: m.processing_time_ms,
            image_quality_score: m.image_quality_score,
            api_client_id: m.api_client_id.map(to_id),
            created_at: m.created_at,
        }
    }
}

/// A doctor's review of a report.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct ReportReview {
    pub id: ID,
    pub notes: String,
    pub clinical_findings: Option<String>,
    /// Whether the doctor confirms the AI's assessment.
    pub confirms_ai: bool,
    /// How accurate the AI was, 1 to 5.
    pub ai_accuracy_rating: i32,
    /// The doctor's risk assessment.
    pub doctor_risk_level: RiskLevel,
    pub urgency: ReviewUrgency,
    pub recommended_action: Option<String>,
    pub follow_up_date: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub row: report_review::Model,
}

impl From<report_review::Model> for ReportReview {
    fn from(m: report_review::Model) -> Self {
        Self {
            id: to_id(m.id),
            notes: m.notes.0.clone(),
            clinical_findings: Sealed::plain(&m.clinical_findings),
            confirms_ai: m.confirms_ai,
            ai_accuracy_rating: m.ai_accuracy_rating,
            doctor_risk_level: m.doctor_risk_level,
            urgency: m.urgency,
            recommended_action: m.recommended_action.clone(),
            follow_up_date: m.follow_up_date,
            created_at: m.created_at,
            row: m,
        }
    }
}

#[ComplexObject]
impl ReportReview {
    /// The reviewing doctor (contact details for the organization's own members).
    async fn doctor(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        User::load_member(ctx, self.row.doctor_user_id, self.row.organization_id).await
    }
}

/// One image of `createMedicalReport`.
#[derive(InputObject, Clone)]
pub struct ReportImageInput {
    /// An `https://` URL on one of the server's image hosts, or an allowed storage location.
    pub url: String,
    pub image_type: ImageType,
    pub format: ImageFormat,
    /// Width in pixels (positive).
    pub width: i32,
    /// Height in pixels (positive).
    pub height: i32,
    /// File size in bytes (positive).
    pub size_bytes: i64,
    /// Position in the report (defaults to its index).
    pub display_order: Option<i32>,
    /// DICOM metadata (JSON, at most 64 KiB).
    pub dicom_metadata: Option<Json<serde_json::Value>>,
}

/// Input of `createMedicalReport`.
#[derive(InputObject)]
pub struct CreateMedicalReportInput {
    /// The organization acted for.
    pub organization_id: ID,
    /// The patient: someone who booked a consultation with one of the organization's doctors
    /// (anyone else is `NOT_FOUND`).
    pub patient_id: ID,
    /// Study type, e.g. "Chest X-ray" (at most 100 characters).
    pub study_type: String,
    /// Clinical notes (at most 5000 characters).
    pub clinical_notes: Option<String>,
    /// Images: 1 to 50.
    pub images: Vec<ReportImageInput>,
}

/// Input of `claimReportsForAnalysis`.
#[derive(InputObject)]
pub struct ClaimReportsInput {
    /// The organization acted for (the API client's own).
    pub organization_id: ID,
    /// How many reports to take: 1 to 50.
    pub limit: i32,
}

/// Input of `submitAiAnalysis`.
#[derive(InputObject)]
pub struct SubmitAiAnalysisInput {
    /// The report (claimed, `ANALYZING`).
    pub report_id: ID,
    /// The model's name (at most 100 characters); `aiModelPerformance` reports by it.
    pub model_name: String,
    /// The model's version (at most 50 characters).
    pub model_version: String,
    /// The level the model chose.
    pub risk_level: RiskLevel,
    /// Class probabilities, each 0 to 1, summing to 1.
    pub probabilities: RiskProbabilitiesInput,
    /// Findings (JSON, at most 64 KiB).
    pub findings: Json<serde_json::Value>,
    /// Processing time in milliseconds (not negative).
    pub processing_time_ms: i32,
    /// Image quality as the model judged it, 0 to 1.
    pub image_quality_score: f64,
}

/// Input of `reviewMedicalReport`.
#[derive(InputObject)]
pub struct ReviewMedicalReportInput {
    /// The report (`ANALYZED`).
    pub report_id: ID,
    /// The review's notes (at most 5000 characters).
    pub notes: String,
    pub clinical_findings: Option<String>,
    /// Whether the doctor confirms the AI's assessment.
    pub confirms_ai: bool,
    /// How accurate the AI was, 1 to 5.
    pub ai_accuracy_rating: i32,
    /// The doctor's risk assessment.
    pub doctor_risk_level: RiskLevel,
    /// Urgency; `CRITICAL` alerts the organization's doctors and the patient's doctor.
    pub urgency: ReviewUrgency,
    pub recommended_action: Option<String>,
    pub follow_up_date: Option<NaiveDate>,
}

/// Input of `archiveMedicalReport`.
#[derive(InputObject)]
pub struct ArchiveMedicalReportInput {
    /// The report (`ANALYZED` or `REVIEWED`).
    pub report_id: ID,
}

/// Result of report mutations.
#[derive(SimpleObject)]
pub struct MedicalReportPayload {
    /// The report after the change.
    pub medical_report: MedicalReport,
}

impl From<medical_report::Model> for MedicalReportPayload {
    fn from(r: medical_report::Model) -> Self {
        Self {
            medical_report: r.into(),
        }
    }
}

/// Result of `claimReportsForAnalysis`.
#[derive(SimpleObject)]
pub struct ClaimReportsPayload {
    /// The reports claimed, oldest first (empty when none is waiting).
    pub medical_reports: Vec<MedicalReport>,
}

impl From<Vec<medical_report::Model>> for ClaimReportsPayload {
    fn from(rows: Vec<medical_report::Model>) -> Self {
        Self {
            medical_reports: rows.into_iter().map(MedicalReport::from).collect(),
        }
    }
}

/// Filter of `medicalReports`.
#[derive(InputObject, Default)]
pub struct MedicalReportFilter {
    pub organization_id: Option<ID>,
    pub patient_id: Option<ID>,
    pub statuses: Option<Vec<ReportStatus>>,
    pub risk_levels: Option<Vec<RiskLevel>>,
    /// Study types (exact).
    pub study_types: Option<Vec<String>>,
    /// Uploaded at or after.
    pub uploaded_after: Option<DateTime<Utc>>,
    pub uploaded_before: Option<DateTime<Utc>>,
}

/// Sort keys of `medicalReports`.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum MedicalReportOrderField {
    /// Upload order (the default).
    #[default]
    UploadedAt,
    /// Queue priority: analysed reports by risk (HIGH first) then analysis time; reports not
    /// yet analysed last.
    Priority,
}

/// Order of `medicalReports`.
#[derive(InputObject, Default)]
pub struct MedicalReportOrder {
    #[graphql(default)]
    pub field: MedicalReportOrderField,
    #[graphql(default)]
    pub direction: SortDirection,
}

/// Filter of `reviewQueue`.
#[derive(InputObject, Default)]
pub struct ReviewQueueFilter {
    pub risk_levels: Option<Vec<RiskLevel>>,
    /// Study types (exact).
    pub study_types: Option<Vec<String>>,
}

/// One cell of the confusion matrix: how often the AI said one level and the doctor another.
#[derive(SimpleObject)]
pub struct ConfusionCell {
    /// The AI's level.
    pub ai_risk_level: RiskLevel,
    /// The doctor's level.
    pub doctor_risk_level: RiskLevel,
    pub count: i64,
}

/// An AI model's quality as doctors' reviews judge it.
#[derive(SimpleObject)]
pub struct AiModelPerformance {
    pub model_name: String,
    pub analyses_reviewed: i64,
    /// Reviews confirming the AI.
    pub confirmed: i64,
    /// Mean accuracy rating, 1 to 5 (null without reviews).
    pub mean_accuracy_rating: Option<f64>,
    /// The non-empty cells of the confusion matrix (AI level against the doctor's).
    pub confusion_matrix: Vec<ConfusionCell>,
}

impl AiModelPerformance {
    /// The figures `service::model_performance` computed for `model_name`.
    pub fn new(model_name: String, p: crate::reports::service::Performance) -> Self {
        Self {
            model_name,
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
        }
    }
}
