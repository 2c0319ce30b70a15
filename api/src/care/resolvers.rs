//! Care-management resolvers: queries filtered by `auth::care`, mutations run as commands.

use super::{commands::*, service, types::*};
use crate::{
    audit::ReadRecord,
    auth::{Rule, care},
    graphql::prelude::*,
    pipeline,
};

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
}

pipeline::command_mutations! {
    /// Care-management mutations.
    CareMutation {
        /// Replaces the lists given of a patient's medical history: the patient, or a doctor
        /// they consult.
        update_medical_history(UpdateMedicalHistoryInput) -> MedicalHistoryPayload = UpdateMedicalHistory;
    }
}
