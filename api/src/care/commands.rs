//! Care-management mutations as typed commands: each input parsed once (`TryFrom`), run by
//! [`crate::pipeline`], its use case in [`super::service`].

use super::{service, types::*};
use crate::{
    audit::Change,
    auth::{Rule, care},
    db::Db,
    error::{AppError, AppResult},
    graphql::ids::parse_id,
    pipeline::{Command, Exec},
    validation::{Notes, Text},
};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::{
    CareCallOutcome, CareCallStatus, CareCallType, care_call, medical_history, risk_flag,
};
use uuid::Uuid;

/// Parses one list of history entries: at most 100, each trimmed text of up to 500
/// characters.
fn entries(list: Option<Vec<String>>, field: &str) -> AppResult<Option<Vec<String>>> {
    let Some(list) = list else {
        return Ok(None);
    };
    if list.len() > 100 {
        return Err(AppError::bad_input(field, "at most 100 entries"));
    }
    list.iter()
        .enumerate()
        .map(|(i, e)| Ok(Text::parse(e, &format!("{field}.{i}"), 500)?.into_inner()))
        .collect::<AppResult<Vec<_>>>()
        .map(Some)
}

/// `updateMedicalHistory`, parsed: `None` keeps a list.
pub struct UpdateMedicalHistory {
    pub patient_id: Uuid,
    pub allergies: Option<Vec<String>>,
    pub conditions: Option<Vec<String>>,
    pub medications: Option<Vec<String>>,
    pub surgeries: Option<Vec<String>>,
}

impl TryFrom<UpdateMedicalHistoryInput> for UpdateMedicalHistory {
    type Error = AppError;

    fn try_from(input: UpdateMedicalHistoryInput) -> AppResult<Self> {
        Ok(Self {
            patient_id: parse_id(&input.patient_id, "input.patientId")?,
            allergies: entries(input.allergies, "input.allergies")?,
            conditions: entries(input.conditions, "input.conditions")?,
            medications: entries(input.medications, "input.medications")?,
            surgeries: entries(input.surgeries, "input.surgeries")?,
        })
    }
}

impl Command for UpdateMedicalHistory {
    type Input = UpdateMedicalHistoryInput;
    type Output = medical_history::Model;
    const ACTION: &'static str = "medical_history.update";
    const ENTITY: &'static str = "medical_history";
    const RULE: Rule = Rule::SignedIn;

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.patient_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::update_history(exec.txn, exec.viewer, self).await
    }
}

/// `resolveRiskFlag`, parsed.
pub struct ResolveRiskFlag {
    pub risk_flag_id: Uuid,
    pub note: String,
    /// The flag's organization, found by `locate`: `None` when the flag was not found,
    /// `Some(None)` for a flag of a doctor in no organization.
    pub organization_id: Option<Option<Uuid>>,
}

impl TryFrom<ResolveRiskFlagInput> for ResolveRiskFlag {
    type Error = AppError;

    fn try_from(input: ResolveRiskFlagInput) -> AppResult<Self> {
        let risk_flag_id = parse_id(&input.risk_flag_id, "input.riskFlagId")?;
        let note = Notes::parse_opt(Some(&input.note), "input.note", 2000)?
            .map(Notes::into_inner)
            .ok_or_else(|| AppError::bad_input("input.note", "is required"))?;
        Ok(Self {
            risk_flag_id,
            note,
            organization_id: None,
        })
    }
}

impl Command for ResolveRiskFlag {
    type Input = ResolveRiskFlagInput;
    type Output = risk_flag::Model;
    const ACTION: &'static str = "risk_flag.resolve";
    const ENTITY: &'static str = "risk_flag";
    const RULE: Rule = Rule::SignedIn;

    /// An organization's flag: its worklist's roles. A flag of a doctor in no organization
    /// (or one not found): a signed-in user, and the use case lets only its doctor resolve it.
    fn rule(&self) -> Option<Rule> {
        Some(match self.organization_id {
            Some(Some(org)) => care::risk_worklist(org),
            _ => Rule::SignedIn,
        })
    }

    async fn locate(mut self, db: &Db) -> AppResult<Self> {
        self.organization_id = service::risk_flag_org(db, self.risk_flag_id).await?;
        Ok(self)
    }

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.risk_flag_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::resolve_risk_flag(exec.txn, exec.viewer, self).await
    }
}

fn notes(raw: Option<&str>) -> AppResult<Option<String>> {
    Ok(Notes::parse_opt(raw, "input.notes", 4000)?.map(Notes::into_inner))
}

/// `scheduleCareCall`, parsed.
pub struct ScheduleCareCall {
    pub organization_id: Uuid,
    pub patient_id: Uuid,
    pub call_type: CareCallType,
    pub scheduled_at: DateTime<Utc>,
    pub notes: Option<String>,
}

impl TryFrom<ScheduleCareCallInput> for ScheduleCareCall {
    type Error = AppError;

    fn try_from(input: ScheduleCareCallInput) -> AppResult<Self> {
        Ok(Self {
            organization_id: parse_id(&input.organization_id, "input.organizationId")?,
            patient_id: parse_id(&input.patient_id, "input.patientId")?,
            call_type: input.call_type,
            scheduled_at: input.scheduled_at,
            notes: notes(input.notes.as_deref())?,
        })
    }
}

impl Command for ScheduleCareCall {
    type Input = ScheduleCareCallInput;
    type Output = care_call::Model;
    const ACTION: &'static str = "care_call.schedule";
    const ENTITY: &'static str = "care_call";

    fn authority(input: &Self::Input) -> Rule {
        Rule::for_named(&input.organization_id, care::care_staff)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::schedule_call(exec.txn, exec.actor.user_id, self).await
    }
}

/// `recordCareCall`, parsed: what happened, checked against the status it records.
pub struct RecordCareCall {
    pub care_call_id: Uuid,
    pub status: CareCallStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub duration_seconds: Option<i32>,
    pub notes: Option<String>,
    pub outcome: Option<CareCallOutcome>,
    pub follow_up_date: Option<NaiveDate>,
    /// The call's organization, found by `locate`.
    pub organization_id: Option<Uuid>,
}

impl TryFrom<RecordCareCallInput> for RecordCareCall {
    type Error = AppError;

    fn try_from(input: RecordCareCallInput) -> AppResult<Self> {
        let care_call_id = parse_id(&input.care_call_id, "input.careCallId")?;
        let (start, end) = (input.started_at, input.ended_at);
        match input.status {
            CareCallStatus::Scheduled => {
                return Err(AppError::bad_input(
                    "input.status",
                    "record COMPLETED, NO_ANSWER or CANCELLED",
                ));
            }
            CareCallStatus::Completed if start.is_none() || end.is_none() => {
                return Err(AppError::bad_input(
                    "input.endedAt",
                    "a completed call needs startedAt and endedAt",
                ));
            }
            CareCallStatus::Cancelled if start.is_some() || end.is_some() => {
                return Err(AppError::bad_input(
                    "input.startedAt",
                    "a cancelled call has no start or end",
                ));
            }
            _ => {}
        }
        let soon = Utc::now() + Duration::minutes(2);
        if start.is_some_and(|t| t > soon) || end.is_some_and(|t| t > soon) {
            return Err(AppError::bad_input(
                "input.endedAt",
                "a call is recorded once made: no time in the future",
            ));
        }
        let duration_seconds = match (start, end) {
            (Some(s), Some(e)) if e < s => {
                return Err(AppError::bad_input(
                    "input.endedAt",
                    "must not be before startedAt",
                ));
            }
            (Some(s), Some(e)) => Some(
                i32::try_from((e - s).num_seconds())
                    .map_err(|_| AppError::bad_input("input.endedAt", "the call is too long"))?,
            ),
            (None, Some(_)) => {
                return Err(AppError::bad_input(
                    "input.startedAt",
                    "is required with endedAt",
                ));
            }
            _ => None,
        };
        if input
            .follow_up_date
            .is_some_and(|d| d < Utc::now().date_naive())
        {
            return Err(AppError::bad_input(
                "input.followUpDate",
                "must not be in the past",
            ));
        }
        Ok(Self {
            care_call_id,
            status: input.status,
            started_at: start,
            ended_at: end,
            duration_seconds,
            notes: notes(input.notes.as_deref())?,
            outcome: input.outcome,
            follow_up_date: input.follow_up_date,
            organization_id: None,
        })
    }
}

impl Command for RecordCareCall {
    type Input = RecordCareCallInput;
    type Output = care_call::Model;
    const ACTION: &'static str = "care_call.record";
    const ENTITY: &'static str = "care_call";
    const RULE: Rule = Rule::Authenticated;

    fn rule(&self) -> Option<Rule> {
        Some(
            self.organization_id
                .map_or(Rule::Authenticated, care::care_staff),
        )
    }

    async fn locate(mut self, db: &Db) -> AppResult<Self> {
        self.organization_id = service::call_org(db, self.care_call_id).await?;
        Ok(self)
    }

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.care_call_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        if self.organization_id.is_none() {
            return Err(AppError::NotFound("care call"));
        }
        service::record_call(exec.txn, exec.actor.user_id, self).await
    }
}
