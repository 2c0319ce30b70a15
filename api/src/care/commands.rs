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
use entity::{medical_history, risk_flag};
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
