//! Drive resolvers: `drives` for both organizations' members, mutations run as commands.

use super::{commands::*, types::*};
use crate::{
    auth::{Rule, camps::visible_drives},
    graphql::prelude::*,
    pipeline,
};
use entity::drive;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};
use uuid::Uuid;

#[derive(Default)]
pub struct DriveQuery;

#[Object]
impl DriveQuery {
    /// Drives of the hospitals and NGOs the caller is a member of, oldest first.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
    async fn drives(
        &self,
        ctx: &Context<'_>,
        filter: Option<DriveFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Conn<Drive>> {
        let req = ctx.authorized(Rule::SignedIn)?;
        let f = filter.unwrap_or_default();
        let mut q = drive::Entity::find().filter(visible_drives(&req.viewer));
        if let Some(s) = f.status {
            q = q.filter(drive::Column::Status.is_in(s));
        }
        if let Some(t) = f.drive_type {
            q = q.filter(drive::Column::DriveType.eq(t));
        }
        if let Some(o) = &f.organization_id {
            let o = parse_id(o, "filter.organizationId")?;
            q = q.filter(
                Condition::any()
                    .add(drive::Column::HospitalId.eq(o))
                    .add(drive::Column::NgoId.eq(o)),
            );
        }
        let keyset =
            Keyset::<drive::Entity>::new(None, drive::Column::Id, |m| m.id, SortDirection::Asc);
        let args = PageArgs::new(first, after, last, before);
        let page = fetch_selected(ctx, q, &keyset, &args).await?;
        let rows: Vec<&drive::Model> = page.rows.iter().map(|(_, d)| d).collect();
        let mut orgs: Vec<Uuid> = Vec::new();
        for (field, of) in [
            (
                "hospital",
                (|d: &drive::Model| d.hospital_id) as fn(&drive::Model) -> Uuid,
            ),
            ("ngo", |d| d.ngo_id),
            ("proposedBy", |d| d.proposed_by_org_id),
        ] {
            if node_selects(ctx, &[field]) {
                orgs.extend(rows.iter().map(|d| of(d)));
            }
        }
        prime_orgs(req, orgs).await?;
        if node_selects(ctx, &["camps"]) {
            prime(&req.loaders.camps_by_drive, rows.iter().map(|d| d.id)).await?;
        }
        Ok(page.into_connection(Drive::from))
    }
}

pipeline::command_mutations! {
    DriveMutation {
        /// Proposes a drive between a hospital and an NGO, as either side (its admins, doctors
        /// or staff). The other side is notified; an `EMERGENCY` drive raises an alert to the
        /// NGO.
        propose_drive(ProposeDriveInput) -> DrivePayload = ProposeDrive;
        /// The side that did not propose a pending drive accepts it.
        accept_drive(DriveActionInput) -> DrivePayload = AcceptDrive;
        /// The side that did not propose a pending drive rejects it, with a reason.
        reject_drive(RejectDriveInput) -> DrivePayload = RejectDrive;
        /// Either side cancels a pending or accepted drive.
        cancel_drive(CancelDriveInput) -> DrivePayload = CancelDrive;
        /// Either side completes an accepted drive with the units collected.
        complete_drive(CompleteDriveInput) -> DrivePayload = CompleteDrive;
    }
}
