//! Transfusion resolvers: `unitTrace` for the supplying bank (audited as a read of health
//! data), `recordTransfusion` run as a command.

use super::{commands::RecordTransfusion, types::*};
use crate::{
    audit::ReadRecord,
    auth::{self, Rule},
    graphql::prelude::*,
    pipeline,
};
use entity::blood_unit;
use sea_orm::EntityTrait;

/// Traceability queries.
#[derive(Default)]
pub struct TransfusionQuery;

#[Object]
impl TransfusionQuery {
    /// A unit's trace: donation and donor, the request it was issued to, the delivery,
    /// returns and transfusion. For the supplying bank's members (its API client with
    /// `stock:read`) and super admins; the read is audited.
    async fn unit_trace(&self, ctx: &Context<'_>, unit_id: ID) -> AppResult<UnitTrace> {
        let req = ctx.authorized(Rule::Authenticated)?;
        let id = parse_id(&unit_id, "unitId")?;
        let unit = blood_unit::Entity::find_by_id(id)
            .one(&req.db)
            .await?
            .filter(|u| auth::transfusions::reads_trace(&req.viewer, u.blood_bank_id))
            .ok_or(AppError::NotFound("blood unit"))?;
        req.reads.record(ReadRecord {
            action: "blood_unit.read_trace",
            entity_type: "blood_unit",
            entity_id: unit.id,
            organization_id: Some(unit.blood_bank_id),
        });
        Ok(UnitTrace::from(unit))
    }
}

pipeline::command_mutations! {
    /// Transfusion mutations.
    TransfusionMutation {
        /// The receiving hospital records a transfusion of an issued unit and the reaction
        /// seen (its admins, doctors and staff, or its API client with
        /// `blood-requests:write`). A serious reaction alerts the supplying bank.
        record_transfusion(RecordTransfusionInput) -> TransfusionPayload = RecordTransfusion;
    }
}
