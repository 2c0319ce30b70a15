//! Medical report mutations as typed commands: each input parsed once (`TryFrom`), each
//! command run by [`crate::pipeline`] with its rule from [`crate::auth::reports`] and its use
//! case in [`super::service`].

use super::{
    service::{self, MAX_IMAGES, NewImage, bounded_json},
    types::*,
};
use crate::{
    audit::Change,
    auth::{Rule, reports as rules},
    error::{AppError, AppResult},
    graphql::ids::parse_id,
    pipeline::{Command, Exec},
    validation::{Notes, Text},
};
use chrono::NaiveDate;
use entity::{ReviewUrgency, RiskLevel, medical_report};
use std::future::Future;
use uuid::Uuid;

/// `createMedicalReport`, parsed.
#[derive(Debug, Clone)]
pub struct CreateMedicalReport {
    /// The organization acted for.
    pub organization_id: Uuid,
    /// The patient (a user who is a patient of the organization).
    pub patient_id: Uuid,
    /// Study type, e.g. "Chest X-ray".
    pub study_type: Text,
    /// The uploader's clinical notes.
    pub clinical_notes: Option<Notes>,
    /// 1 to [`MAX_IMAGES`] images.
    pub images: Vec<NewImage>,
}

fn image(n: usize, i: ReportImageInput) -> AppResult<NewImage> {
    let field = |f: &str| format!("input.images.{n}.{f}");
    for (name, v) in [("width", i.width), ("height", i.height)] {
        if v <= 0 || v > 100_000 {
            return Err(AppError::bad_input(
                field(name),
                "must be between 1 and 100000",
            ));
        }
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
        bounded_json(&m.0, &field("dicomMetadata"))?;
    }
    Ok(NewImage {
        url: i.url,
        image_type: i.image_type,
        format: i.format,
        width: i.width,
        height: i.height,
        size_bytes: i.size_bytes,
        display_order,
        dicom_metadata: i.dicom_metadata,
    })
}

impl TryFrom<CreateMedicalReportInput> for CreateMedicalReport {
    type Error = AppError;

    fn try_from(input: CreateMedicalReportInput) -> AppResult<Self> {
        let organization_id = parse_id(&input.organization_id, "input.organizationId")?;
        let patient_id = parse_id(&input.patient_id, "input.patientId")?;
        let study_type = Text::parse(&input.study_type, "input.studyType", 100)?;
        let clinical_notes =
            Notes::parse_opt(input.clinical_notes.as_deref(), "input.clinicalNotes", 5000)?;
        if input.images.is_empty() || input.images.len() > MAX_IMAGES {
            return Err(AppError::bad_input(
                "input.images",
                format!("must hold 1 to {MAX_IMAGES} images"),
            ));
        }
        Ok(Self {
            organization_id,
            patient_id,
            study_type,
            clinical_notes,
            images: (input.images.into_iter().enumerate())
                .map(|(n, i)| image(n, i))
                .collect::<AppResult<_>>()?,
        })
    }
}

impl Command for CreateMedicalReport {
    type Input = CreateMedicalReportInput;
    type Output = medical_report::Model;
    const ACTION: &'static str = "medical_report.create";
    const ENTITY: &'static str = "medical_report";

    fn authority(input: &Self::Input) -> Rule {
        Rule::for_named(&input.organization_id, rules::upload_rule)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        let uploader = rules::acting_member(exec.actor, "only members upload reports")?;
        let sources = exec.app.config.image_sources();
        service::create(exec.txn, self, uploader, &sources).await
    }
}

/// `claimReportsForAnalysis`, parsed.
#[derive(Debug, Clone, Copy)]
pub struct ClaimReports {
    /// The organization acted for.
    pub organization_id: Uuid,
    /// How many reports to take, 1 to [`MAX_CLAIM`](service::MAX_CLAIM).
    pub limit: i32,
}

impl TryFrom<ClaimReportsInput> for ClaimReports {
    type Error = AppError;

    /// The limit is checked by the use case, after authorization (a caller who may not claim
    /// hears `FORBIDDEN` whatever the limit).
    fn try_from(input: ClaimReportsInput) -> AppResult<Self> {
        Ok(Self {
            organization_id: parse_id(&input.organization_id, "input.organizationId")?,
            limit: input.limit,
        })
    }
}

impl Command for ClaimReports {
    type Input = ClaimReportsInput;
    type Output = Vec<medical_report::Model>;
    const ACTION: &'static str = "medical_report.claim";
    const ENTITY: &'static str = "medical_report";

    fn authority(input: &Self::Input) -> Rule {
        Rule::for_named(&input.organization_id, rules::analysis_rule)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        let timeout = exec.app.config.report_claim_timeout;
        service::claim(exec.txn, self, exec.actor.api_client_id, timeout).await
    }
}

/// A mutation of one existing report: the report, its organization (looked up by
/// `locate` before authorization, since the rule depends on it) and the step.
pub struct OnReport<S> {
    /// The report named by the input.
    pub report_id: Uuid,
    /// Its organization; `None` until located, or when no such report exists.
    pub organization_id: Option<Uuid>,
    /// What to do to it.
    pub step: S,
}

impl<S> OnReport<S> {
    fn parse(id: &async_graphql::ID, step: S) -> AppResult<Self> {
        Ok(Self {
            report_id: parse_id(id, "input.reportId")?,
            organization_id: None,
            step,
        })
    }
}

/// One step of a report's life after upload: its audit action, its rule and its use case.
pub trait ReportStep: Send + Sized {
    /// The GraphQL input of the mutation.
    type Input: Send;
    /// The audit action, e.g. `medical_report.review`.
    const ACTION: &'static str;
    /// The rule for the report's organization (from `auth::reports`).
    const ORG_RULE: fn(Uuid) -> Rule;
    fn run(
        self,
        exec: &Exec<'_>,
        report: Uuid,
    ) -> impl Future<Output = AppResult<(medical_report::Model, Change)>> + Send;
}

impl<S: ReportStep> Command for OnReport<S>
where
    OnReport<S>: TryFrom<S::Input, Error = AppError>,
{
    type Input = S::Input;
    type Output = medical_report::Model;
    const ACTION: &'static str = S::ACTION;
    const ENTITY: &'static str = "medical_report";

    fn rule(&self) -> Option<Rule> {
        Some(rules::on_report(self.organization_id, S::ORG_RULE))
    }

    async fn locate(mut self, db: &crate::db::Db) -> AppResult<Self> {
        self.organization_id = service::report_org(db, self.report_id).await?;
        Ok(self)
    }

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.report_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        if self.organization_id.is_none() {
            return Err(AppError::NotFound("medical report"));
        }
        self.step.run(exec, self.report_id).await
    }
}

/// An AI analysis, its fields checked (the probabilities' sum is checked by the use case,
/// against `AI_PROBABILITY_TOLERANCE`).
#[derive(Debug, Clone)]
pub struct NewAnalysis {
    /// The model's name.
    pub model_name: Text,
    /// The model's version.
    pub model_version: Text,
    /// The level the model chose.
    pub risk_level: RiskLevel,
    /// Probability of LOW, 0 to 1.
    pub low: f64,
    /// Probability of MEDIUM, 0 to 1.
    pub medium: f64,
    /// Probability of HIGH, 0 to 1.
    pub high: f64,
    /// Findings as the model reported them (at most 64 KiB of JSON).
    pub findings: serde_json::Value,
    /// Processing time in milliseconds.
    pub processing_time_ms: i32,
    /// Image quality, 0 to 1.
    pub image_quality_score: f64,
}

/// `submitAiAnalysis`, parsed.
pub type SubmitAiAnalysis = OnReport<NewAnalysis>;

impl TryFrom<SubmitAiAnalysisInput> for SubmitAiAnalysis {
    type Error = AppError;

    fn try_from(input: SubmitAiAnalysisInput) -> AppResult<Self> {
        let p = &input.probabilities;
        for (name, p) in [("low", p.low), ("medium", p.medium), ("high", p.high)] {
            if !(0.0..=1.0).contains(&p) {
                return Err(AppError::bad_input(
                    format!("input.probabilities.{name}"),
                    "must be between 0 and 1",
                ));
            }
        }
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
        bounded_json(&input.findings.0, "input.findings")?;
        let step = NewAnalysis {
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
        Self::parse(&input.report_id, step)
    }
}

impl ReportStep for NewAnalysis {
    type Input = SubmitAiAnalysisInput;
    const ACTION: &'static str = "medical_report.analyze";
    const ORG_RULE: fn(Uuid) -> Rule = rules::analysis_rule;

    async fn run(
        self,
        exec: &Exec<'_>,
        report: Uuid,
    ) -> AppResult<(medical_report::Model, Change)> {
        let (client, tolerance) = (
            exec.actor.api_client_id,
            exec.app.config.ai_probability_tolerance,
        );
        service::submit_analysis(exec.txn, report, client, self, tolerance).await
    }
}

/// A doctor's review, its fields checked.
#[derive(Debug, Clone)]
pub struct NewReview {
    /// The review's notes.
    pub notes: Notes,
    /// Clinical findings, shown on the report once reviewed.
    pub clinical_findings: Option<Notes>,
    /// Whether the doctor confirms the AI's assessment.
    pub confirms_ai: bool,
    /// How accurate the AI was, 1 to 5.
    pub ai_accuracy_rating: i32,
    /// The doctor's risk assessment.
    pub doctor_risk_level: RiskLevel,
    /// `CRITICAL` raises the critical-finding alert.
    pub urgency: ReviewUrgency,
    /// What the doctor recommends.
    pub recommended_action: Option<Notes>,
    /// When to follow up.
    pub follow_up_date: Option<NaiveDate>,
}

/// `reviewMedicalReport`, parsed.
pub type ReviewMedicalReport = OnReport<NewReview>;

impl TryFrom<ReviewMedicalReportInput> for ReviewMedicalReport {
    type Error = AppError;

    fn try_from(input: ReviewMedicalReportInput) -> AppResult<Self> {
        if !(1..=5).contains(&input.ai_accuracy_rating) {
            return Err(AppError::bad_input(
                "input.aiAccuracyRating",
                "must be between 1 and 5",
            ));
        }
        let step = NewReview {
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
        Self::parse(&input.report_id, step)
    }
}

impl ReportStep for NewReview {
    type Input = ReviewMedicalReportInput;
    const ACTION: &'static str = "medical_report.review";
    const ORG_RULE: fn(Uuid) -> Rule = rules::review_rule;

    async fn run(
        self,
        exec: &Exec<'_>,
        report: Uuid,
    ) -> AppResult<(medical_report::Model, Change)> {
        let doctor = rules::acting_member(exec.actor, "only doctors review reports")?;
        service::review(exec.txn, report, doctor, self).await
    }
}

/// Archiving: no more than the report.
pub struct Archive;

/// `archiveMedicalReport`, parsed.
pub type ArchiveMedicalReport = OnReport<Archive>;

impl TryFrom<ArchiveMedicalReportInput> for ArchiveMedicalReport {
    type Error = AppError;

    fn try_from(input: ArchiveMedicalReportInput) -> AppResult<Self> {
        Self::parse(&input.report_id, Archive)
    }
}

impl ReportStep for Archive {
    type Input = ArchiveMedicalReportInput;
    const ACTION: &'static str = "medical_report.archive";
    const ORG_RULE: fn(Uuid) -> Rule = rules::archive_rule;

    async fn run(
        self,
        exec: &Exec<'_>,
        report: Uuid,
    ) -> AppResult<(medical_report::Model, Change)> {
        service::archive(exec.txn, report).await
    }
}
