//! Care-management resolvers: queries filtered by `auth::care`, mutations run as commands.

use super::{commands::*, service, types::*};
use crate::{
    audit::ReadRecord,
    auth::{Rule, care},
    consultations::types::{RiskFlag, RiskFlagPayload},
    graphql::prelude::*,
    pipeline,
};
use entity::{care_call, risk_flag};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryTrait};

/// Care-management queries.
#[derive(Default)]
pub struct CareQuery;

#[Object]
impl CareQuery {
    /// A patient's medical history: the patient's own, or a patient's the caller consults as
    /// a doctor (a consultation not cancelled). Empty before the first write. Every read is
    /// audited.
    async fn medical_history(
        &self,
        ctx: &Context<'_>,
        patient_id: ID,
    ) -> AppResult<MedicalHistory> {
        let req = ctx.authorized(Rule::SignedIn)?;
        let patient = parse_id(&patient_id, "patientId")?;
        care::history_party(&req.db, &req.viewer, patient).await?;
        let row = service::history(&req.db, patient).await?;
        req.reads.record(ReadRecord {
            action: "medical_history.read",
            entity_type: "medical_history",
            entity_id: patient,
            organization_id: None,
        });
        Ok(MedicalHistory::of(patient, row))
    }

    /// An organization's risk-flag worklist (its admins and doctors), newest first; OPEN
    /// flags are the work left.
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
    async fn risk_flags(
        &self,
        ctx: &Context<'_>,
        filter: RiskFlagFilter,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Conn<RiskFlag>> {
        let org = parse_id(&filter.organization_id, "filter.organizationId")?;
        let req = ctx.authorized(care::risk_worklist(org))?;
        let q = risk_flag::Entity::find()
            .filter(risk_flag::Column::OrganizationId.eq(org))
            .apply_if(filter.status, |q, s| {
                q.filter(risk_flag::Column::Status.eq(s))
            })
            .apply_if(filter.severity, |q, s| {
                q.filter(risk_flag::Column::Severity.eq(s))
            });
        let keyset = Keyset::<risk_flag::Entity> {
            key: None,
            id: risk_flag::Column::Id,
            id_of: |m| m.id,
            direction: SortDirection::Desc,
        };
        let args = PageArgs::new(first, after, last, before);
        let page = fetch_selected(ctx, q, &keyset, &args).await?;
        let rows: Vec<&risk_flag::Model> = page.rows.iter().map(|(_, m)| m).collect();
        let mut users = Vec::new();
        if node_selects(ctx, &["doctor"]) {
            let doctors = prime(&req.loaders.doctors, rows.iter().map(|f| f.doctor_id)).await?;
            if node_selects(ctx, &["doctor", "user"]) {
                users.extend(doctors.values().map(|d| d.user_id));
            }
        }
        if node_selects(ctx, &["patient"]) {
            users.extend(rows.iter().map(|f| f.patient_id));
        }
        if node_selects(ctx, &["resolvedBy"]) {
            users.extend(rows.iter().filter_map(|f| f.resolved_by));
        }
        prime_users(req, users).await?;
        Ok(page.into_connection(RiskFlag::from))
    }

    /// An organization's care calls (its admins, doctors and staff), by scheduled time,
    /// soonest first.
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
    async fn care_calls(
        &self,
        ctx: &Context<'_>,
        filter: CareCallFilter,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Conn<CareCall>> {
        let org = parse_id(&filter.organization_id, "filter.organizationId")?;
        let req = ctx.authorized(care::care_staff(org))?;
        let patient = filter
            .patient_id
            .as_ref()
            .map(|p| parse_id(p, "filter.patientId"))
            .transpose()?;
        let q = care_call::Entity::find()
            .filter(care_call::Column::OrganizationId.eq(org))
            .apply_if(patient, |q, p| q.filter(care_call::Column::PatientId.eq(p)))
            .apply_if(filter.status, |q, s| {
                q.filter(care_call::Column::Status.eq(s))
            })
            .apply_if(filter.call_type, |q, t| {
                q.filter(care_call::Column::CallType.eq(t))
            });
        let keyset = Keyset::<care_call::Entity> {
            key: Some((care_call::Column::ScheduledAt, |m: &care_call::Model| {
                SortValue::Time(m.scheduled_at)
            })),
            id: care_call::Column::Id,
            id_of: |m| m.id,
            direction: SortDirection::Asc,
        };
        let args = PageArgs::new(first, after, last, before);
        let page = fetch_selected(ctx, q, &keyset, &args).await?;
        let rows = page.rows.iter().map(|(_, m)| m);
        let mut users = Vec::new();
        if node_selects(ctx, &["patient"]) {
            users.extend(rows.clone().map(|c| c.patient_id));
        }
        if node_selects(ctx, &["scheduledBy"]) {
            users.extend(rows.clone().filter_map(|c| c.scheduled_by));
        }
        if node_selects(ctx, &["recordedBy"]) {
            users.extend(rows.filter_map(|c| c.recorded_by));
        }
        prime_users(req, users).await?;
        Ok(page.into_connection(CareCall::from))
    }
}

pipeline::command_mutations! {
    /// Care-management mutations.
    CareMutation {
        /// Replaces the lists given of a patient's medical history: the patient, or a doctor
        /// they consult.
        update_medical_history(UpdateMedicalHistoryInput) -> MedicalHistoryPayload = UpdateMedicalHistory;
        /// Resolves an open risk flag with a note, once: the organization's admins and
        /// doctors (for a doctor in no organization, the doctor who raised it).
        resolve_risk_flag(ResolveRiskFlagInput) -> RiskFlagPayload = ResolveRiskFlag;
        /// Schedules an outreach or follow-up call to a patient: the organization's admins,
        /// doctors and staff.
        schedule_care_call(ScheduleCareCallInput) -> CareCallPayload = ScheduleCareCall;
        /// Records how a scheduled call went (status, times, notes, outcome, follow-up
        /// date), once: the organization's admins, doctors and staff.
        record_care_call(RecordCareCallInput) -> CareCallPayload = RecordCareCall;
    }
}
