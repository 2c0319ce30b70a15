//! `recordTransfusion` as a typed command; the hospital acted for is found from the unit
//! (`locate`).

use super::{service, types::*};
use crate::{
    audit::Change,
    auth::{Rule, deliveries::on_located, transfusions as rules},
    db::Db,
    error::{AppError, AppResult},
    graphql::ids::parse_id,
    pipeline::{Command, Exec},
    validation::Text,
};
use entity::{ReactionSeverity, TransfusionReaction, transfusion};
use uuid::Uuid;

/// `recordTransfusion`, parsed.
pub struct RecordTransfusion {
    pub unit_id: Uuid,
    /// The hospital of the request the unit was issued to, found by `locate`.
    pub hospital_id: Option<Uuid>,
    pub patient_reference: Text,
    pub reaction: TransfusionReaction,
    pub severity: ReactionSeverity,
}

impl TryFrom<RecordTransfusionInput> for RecordTransfusion {
    type Error = AppError;

    fn try_from(input: RecordTransfusionInput) -> AppResult<Self> {
        Ok(Self {
            unit_id: parse_id(&input.unit_id, "input.unitId")?,
            hospital_id: None,
            patient_reference: Text::parse(&input.patient_reference, "input.patientReference", 64)?,
            reaction: input.reaction,
            severity: input.severity,
        })
    }
}

impl Command for RecordTransfusion {
    type Input = RecordTransfusionInput;
    type Output = transfusion::Model;
    const ACTION: &'static str = "transfusion.record";
    const ENTITY: &'static str = "transfusion";

    fn rule(&self) -> Option<Rule> {
        Some(on_located(self.hospital_id, rules::record))
    }

    async fn locate(mut self, db: &Db) -> AppResult<Self> {
        self.hospital_id = service::unit_hospital(db, self.unit_id).await?;
        Ok(self)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        if self.hospital_id.is_none() {
            return Err(AppError::NotFound("blood unit"));
        }
        service::record(exec.txn, self, exec.actor).await
    }
}
