//! Care-management mutations as typed commands: each input parsed once (`TryFrom`), run by
//! [`crate::pipeline`], its use case in [`super::service`].

use super::{service, types::*};
use crate::{
    audit::Change,
    auth::Rule,
    error::{AppError, AppResult},
    graphql::ids::parse_id,
    pipeline::{Command, Exec},
    validation::Text,
};
use entity::medical_history;
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
