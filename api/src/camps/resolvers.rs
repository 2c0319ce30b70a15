//! Camp resolvers: lists for every signed-in user (registrations behind `auth::camps`),
//! mutations run as commands.

use super::{commands::*, types::*};
use crate::{auth::Rule, blood::geo, graphql::prelude::*, pipeline, validation::GeoPoint};
use entity::camp;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, sea_query::Expr};
use uuid::Uuid;

#[derive(Default)]
pub struct CampQuery;

#[Object]
impl CampQuery {
    /// Camps, soonest first: every signed-in user sees them (donors look for camps near
    /// them). `near` with `radiusKm` keeps those within that distance.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
    async fn camps(
        &self,
        ctx: &Context<'_>,
        filter: Option<CampFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Conn<Camp>> {
        let req = ctx.authorized(Rule::SignedIn)?;
        let f = filter.unwrap_or_default();
        let mut q = camp::Entity::find();
        match (f.near, f.radius_km) {
            (Some(p), Some(r)) => {
                let p = GeoPoint::parse(p.latitude, p.longitude, "filter.near.")?;
                if !(r > 0.0 && r <= 500.0) {
                    return Err(AppError::bad_input(
                        "filter.radiusKm",
                        "must be above 0 and at most 500",
                    ));
                }
                // The box lets the index on latitude narrow the rows; `within_km_sql` is
                // the distance itself (the box has slack, as for alerts' recipients).
                let b = geo::BoundingBox::around(p.latitude, p.longitude, r * 1.01);
                q = q
                    .filter(camp::Column::Latitude.between(b.min_lat, b.max_lat))
                    .filter(camp::Column::Longitude.between(b.min_lon, b.max_lon))
                    .filter(geo::within_km_sql(
                        camp::Column::Latitude,
                        camp::Column::Longitude,
                        (p.latitude, p.longitude),
                        Expr::val(r),
                    ));
            }
            (None, None) => {}
            _ => {
                return Err(AppError::bad_input(
                    "filter.radiusKm",
                    "give near and radiusKm together",
                ));
            }
        }
        if let Some(from) = f.from {
            q = q.filter(camp::Column::EndsAt.gt(from));
        }
        if let Some(to) = f.to {
            q = q.filter(camp::Column::StartsAt.lt(to));
        }
        if let Some(s) = f.status {
            q = q.filter(camp::Column::Status.is_in(s));
        }
        if let Some(o) = &f.organization_id {
            q = q.filter(camp::Column::OrganizationId.eq(parse_id(o, "filter.organizationId")?));
        }
        if let Some(groups) = f.blood_groups {
            let mut any = Condition::any().add(camp::Column::BloodGroupsNeeded.eq(""));
            for g in groups {
                any = any.add(
                    camp::Column::BloodGroupsNeeded
                        .like(format!("%,{},%", entity::WireName::wire_name(&g))),
                );
            }
            q = q.filter(any);
        }
        let keyset = Keyset::<camp::Entity>::new(
            Some((camp::Column::StartsAt, |m: &camp::Model| {
                SortValue::Time(m.starts_at)
            })),
            camp::Column::Id,
            |m| m.id,
            SortDirection::Asc,
        );
        let args = PageArgs::new(first, after, last, before);
        let page = fetch_selected(ctx, q, &keyset, &args).await?;
        prime_camps(ctx, req, page.rows.iter().map(|(_, c)| c)).await?;
        Ok(page.into_connection(Camp::from))
    }

    /// One camp.
    async fn camp(&self, ctx: &Context<'_>, id: ID) -> AppResult<Camp> {
        let req = ctx.authorized(Rule::SignedIn)?;
        camp::Entity::find_by_id(parse_id(&id, "id")?)
            .one(&req.db)
            .await?
            .map(Camp::from)
            .ok_or(AppError::NotFound("camp"))
    }
}

/// Loads the relations a page of camps selects, one query each, and primes the loaders.
pub(crate) async fn prime_camps<'a>(
    ctx: &Context<'_>,
    req: &RequestCtx,
    camps: impl Iterator<Item = &'a camp::Model>,
) -> AppResult<()> {
    let camps: Vec<&camp::Model> = camps.collect();
    let ids = || camps.iter().map(|c| c.id);
    if node_selects(ctx, &["slots"]) {
        prime(&req.loaders.slots_by_camp, ids()).await?;
    }
    let mut orgs: Vec<Uuid> = Vec::new();
    if node_selects(ctx, &["organization"]) {
        orgs.extend(camps.iter().map(|c| c.organization_id));
    }
    if node_selects(ctx, &["bloodBank"]) {
        orgs.extend(camps.iter().map(|c| c.blood_bank_id));
    }
    prime_orgs(req, orgs).await?;
    if node_selects(ctx, &["drive"]) {
        prime(&req.loaders.drives, camps.iter().filter_map(|c| c.drive_id)).await?;
    }
    if node_selects(ctx, &["registrations"]) {
        let shown = camps
            .iter()
            .filter(|c| crate::auth::camps::sees_registrations(&req.viewer, c))
            .map(|c| c.id);
        prime(&req.loaders.registrations_by_camp, shown).await?;
    }
    Ok(())
}

pipeline::command_mutations! {
    CampMutation {
        /// Creates a camp `SCHEDULED` for an NGO (its admins, doctors and staff) with its slots:
        /// every `slotMinutes` from `dailyStart` to `dailyEnd`, wall-clock hours in the camp's
        /// `timeZone`, each day from `startsOn` to `endsOn`.
        create_camp(CreateCampInput) -> CampPayload = CreateCamp;
        /// Updates a scheduled or ongoing camp (its NGO); moving it tells registered donors.
        update_camp(UpdateCampInput) -> CampPayload = UpdateCamp;
        /// The NGO opens a scheduled camp.
        start_camp(CampActionInput) -> CampPayload = MoveCamp<Start>;
        /// The NGO closes an ongoing camp; actual donors and units come from attendance.
        complete_camp(CampActionInput) -> CampPayload = MoveCamp<Complete>;
        /// The NGO cancels a scheduled or ongoing camp; registered donors are told why.
        cancel_camp(CancelCampInput) -> CampPayload = MoveCamp<Cancel>;
        /// Registers a donor for a slot: the donor themself, or the camp's NGO for a donor it
        /// manages. A full slot or a second registration in one camp is `CONFLICT`; a donor
        /// not eligible on the slot's day is refused with `extensions.reason`.
        register_for_camp(RegisterForCampInput) -> CampRegistrationPayload = RegisterForCamp;
        /// Withdraws a registration (the donor or the camp's NGO); the place is given back.
        cancel_camp_registration(CampRegistrationActionInput) -> CampRegistrationPayload = CancelCampRegistration;
        /// Records what came of a registration at an ongoing camp (the NGO's or the partner
        /// bank's admins, doctors and staff). `ATTENDED` with a donation records it at the
        /// partner bank, its units `QUARANTINED`.
        record_camp_attendance(RecordCampAttendanceInput) -> CampAttendancePayload = RecordCampAttendance;
    }
}
