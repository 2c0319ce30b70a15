//! Donor resolvers: queries filtered by `auth::donors`, mutations run as commands.

use super::{commands::*, types::*};
use crate::{
    auth::{self, Rule},
    error::{AppError, AppResult},
    graphql::{
        context::CtxExt,
        ids::parse_id,
        loaders::{prime, prime_orgs},
        pagination::{Conn, Keyset, PageArgs, SortKey, SortValue, fetch_selected, node_selects},
    },
    pipeline,
    validation::GeoPoint,
};
use async_graphql::{Context, ID, Object};
use entity::{Eligibility, donor};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, sea_query::Expr};
use uuid::Uuid;

#[derive(Default)]
pub struct DonorQuery;

#[Object]
impl DonorQuery {
    /// Donors the caller may see.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
    async fn donors(
        &self,
        ctx: &Context<'_>,
        filter: Option<DonorFilter>,
        order_by: Option<DonorOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> AppResult<Conn<Donor>> {
        let req = ctx.authorized(Rule::SignedIn)?;
        let f = filter.unwrap_or_default();
        let mut q = donor::Entity::find().filter(auth::donors::visible(&req.viewer));
        if let Some(g) = f.blood_groups {
            q = q.filter(donor::Column::BloodGroup.is_in(g));
        }
        if let Some(c) = f.city {
            q = q.filter(donor::Column::City.eq(c.trim()));
        }
        if let Some(e) = f.eligibility {
            // As `Donor.eligibilityStatus` reads it: a deferral whose date has come is ELIGIBLE.
            let today = chrono::Utc::now().date_naive();
            let deferred = donor::Column::EligibilityStatus.eq(Eligibility::Deferred);
            let mut any = Condition::any();
            for status in e {
                any = match status {
                    Eligibility::Eligible => any
                        .add(donor::Column::EligibilityStatus.eq(Eligibility::Eligible))
                        .add(
                            Condition::all()
                                .add(deferred.clone())
                                .add(donor::Column::NextEligibleDate.lte(today)),
                        ),
                    Eligibility::Deferred => any.add(
                        Condition::all().add(deferred.clone()).add(
                            Condition::any()
                                .add(donor::Column::NextEligibleDate.is_null())
                                .add(donor::Column::NextEligibleDate.gt(today)),
                        ),
                    ),
                    other => any.add(donor::Column::EligibilityStatus.eq(other)),
                };
            }
            q = q.filter(any);
        }
        match (f.near, f.radius_km) {
            (Some(p), Some(r)) => {
                let p = GeoPoint::parse(p.latitude, p.longitude, "filter.near.")?;
                if !(r > 0.0 && r <= 500.0) {
                    return Err(AppError::bad_input(
                        "filter.radiusKm",
                        "must be above 0 and at most 500",
                    ));
                }
                q = q.filter(crate::blood::geo::within_km_sql(
                    donor::Column::Latitude,
                    donor::Column::Longitude,
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
        let order = order_by.unwrap_or_default();
        let key: Option<SortKey<donor::Entity>> = match order.field {
            DonorOrderField::FullName => Some((donor::Column::FullName, |m| {
                SortValue::Text(m.full_name.clone())
            })),
            DonorOrderField::CreatedAt => None,
        };
        let keyset =
            Keyset::<donor::Entity>::new(key, donor::Column::Id, |m| m.id, order.direction);
        let args = PageArgs::new(first, after, last, before);
        let page = fetch_selected(ctx, q, &keyset, &args).await?;
        let ids: Vec<Uuid> = page.rows.iter().map(|(_, m)| m.id).collect();
        if node_selects(ctx, &["donations"]) {
            prime(&req.loaders.donations_by_donor, ids).await?;
        }
        if node_selects(ctx, &["ngo"]) {
            prime_orgs(
                req,
                page.rows.iter().filter_map(|(_, m)| m.ngo_id).collect(),
            )
            .await?;
        }
        Ok(page.into_connection(Donor::from))
    }

    /// One donor, if the caller may see them.
    async fn donor(&self, ctx: &Context<'_>, id: ID) -> AppResult<Donor> {
        let req = ctx.authorized(Rule::SignedIn)?;
        let id = parse_id(&id, "id")?;
        auth::donors::find_visible(&req.viewer, &req.db, id)
            .await
            .map(Donor::from)
    }

    /// The caller's own donor record, if they have one.
    async fn my_donor_profile(&self, ctx: &Context<'_>) -> AppResult<Option<Donor>> {
        let req = ctx.authorized(Rule::SignedIn)?;
        let me = req.viewer.user_id();
        Ok(donor::Entity::find()
            .filter(donor::Column::UserId.eq(me))
            .one(&req.db)
            .await?
            .map(Donor::from))
    }
}

#[derive(Default)]
pub struct DonorMutation;

#[Object]
impl DonorMutation {
    /// Registers a donor: an NGO for itself, a blood bank for a walk-in donor (their admins,
    /// doctors and staff), or a signed-in user for themself.
    async fn register_donor(
        &self,
        ctx: &Context<'_>,
        input: RegisterDonorInput,
    ) -> AppResult<DonorPayload> {
        pipeline::respond::<RegisterDonor, _>(ctx, input).await
    }

    /// Updates a donor: the organization that manages them, or the donor themself (contact
    /// details and weight only).
    async fn update_donor(
        &self,
        ctx: &Context<'_>,
        input: UpdateDonorInput,
    ) -> AppResult<DonorPayload> {
        pipeline::respond::<UpdateDonor, _>(ctx, input).await
    }

    /// Records a donation at a bank (its admins, doctors and staff, or its client with
    /// `stock:write`) for a donor it registered or collected from, or any donor by the code
    /// on their card; any other donor is `NOT_FOUND`. An ineligible donor is refused with
    /// `extensions.reason` (`DEFERRED`, `AGE`, `INTERVAL`, `WEIGHT`, `HEMOGLOBIN`). Updates
    /// the donor and adds the collected units to stock.
    async fn record_donation(
        &self,
        ctx: &Context<'_>,
        input: RecordDonationInput,
    ) -> AppResult<RecordDonationPayload> {
        let (donation, donor, units) = pipeline::run::<RecordDonation>(ctx, input).await?;
        Ok(RecordDonationPayload {
            donation: donation.into(),
            donor: donor.into(),
            units: units.into_iter().map(Into::into).collect(),
        })
    }
}
