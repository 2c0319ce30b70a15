//! Donor resolvers: check the caller, call the service, map the result.

use super::{service, types::*};
use crate::auth::scope::Scope;
use crate::{
    audit::{AuditAction, Change},
    auth::{Rule, Viewer, authorize, policy::ADMIN_DOCTOR_STAFF},
    blood::{
        eligibility::{Deferral, RuleSet},
        isbt::UnitNumber,
    },
    error::{AppError, AppResult},
    graphql::{
        context::{CtxExt, RequestCtx},
        ids::parse_id,
        pagination::{Conn, Keyset, PageArgs, SortValue, fetch_selected, node_selects},
    },
    pipeline::mutate,
    stock::service::NewUnit,
    validation::{Email, GeoPoint, Phone, Text},
};
use async_graphql::{Context, ID, Object};
use entity::{BloodGroup, Eligibility, OrgKind, donation, donor};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait, Query},
};
use serde_json::json;
use uuid::Uuid;

fn rules(ctx: &Context<'_>) -> AppResult<RuleSet> {
    let name = &ctx.app()?.config.eligibility_rules;
    RuleSet::by_name(name).ok_or_else(|| AppError::internal(format!("unknown rule set {name}")))
}

/// Donors the caller may see: super admins all; an NGO its donors; a bank those it
/// registered or collected from; a user their own record.
fn visible(viewer: &Viewer) -> Condition {
    if viewer.is_super_admin() {
        return Condition::all();
    }
    let mut any = Condition::any();
    if matches!(viewer, Viewer::User(_)) {
        let ngos = viewer.approved_orgs(OrgKind::Ngo);
        if !ngos.is_empty() {
            any = any.add(donor::Column::NgoId.is_in(ngos));
        }
        let banks = viewer.approved_orgs(OrgKind::BloodBank);
        if !banks.is_empty() {
            any = any
                .add(donor::Column::RegisteredByOrgId.is_in(banks.clone()))
                .add(
                    donor::Column::Id.in_subquery(
                        Query::select()
                            .column(donation::Column::DonorId)
                            .from(donation::Entity)
                            .and_where(Expr::col(donation::Column::BloodBankId).is_in(banks))
                            .to_owned(),
                    ),
                );
        }
        if let Some(me) = viewer.user_id() {
            any = any.add(donor::Column::UserId.eq(me));
        }
    }
    if any.is_empty() {
        any = any.add(donor::Column::Id.is_null());
    }
    any
}

/// Donor queries.
#[derive(Default)]
pub struct DonorQuery;

#[Object]
impl DonorQuery {
    /// Donors the caller may see.
    #[allow(clippy::too_many_arguments)]
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
        let req = ctx.req()?;
        authorize(&req.viewer, Rule::SignedIn)?;
        let f = filter.unwrap_or_default();
        let mut q = donor::Entity::find().filter(visible(&req.viewer));
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
        let keyset = Keyset::<donor::Entity> {
            key: match order.field {
                DonorOrderField::FullName => Some((donor::Column::FullName, |m: &donor::Model| {
                    SortValue::Text(m.full_name.clone())
                })),
                DonorOrderField::CreatedAt => None,
            },
            id: donor::Column::Id,
            id_of: |m| m.id,
            direction: order.direction,
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let page = fetch_selected(ctx, q, &keyset, &args).await?;
        let ids: Vec<Uuid> = page.rows.iter().map(|(_, m)| m.id).collect();
        if node_selects(ctx, &["donations"]) {
            crate::graphql::loaders::prime(&req.loaders.donations_by_donor, ids).await?;
        }
        if node_selects(ctx, &["ngo"]) {
            crate::graphql::loaders::prime_orgs(
                req,
                page.rows.iter().filter_map(|(_, m)| m.ngo_id).collect(),
            )
            .await?;
        }
        Ok(page.into_connection(Donor::from))
    }

    /// One donor, if the caller may see them.
    async fn donor(&self, ctx: &Context<'_>, id: ID) -> AppResult<Donor> {
        let req = ctx.req()?;
        authorize(&req.viewer, Rule::SignedIn)?;
        let id = parse_id(&id, "id")?;
        find_visible(req, id).await.map(Donor::from)
    }

    /// The caller's own donor record, if they have one.
    async fn my_donor_profile(&self, ctx: &Context<'_>) -> AppResult<Option<Donor>> {
        let req = ctx.req()?;
        authorize(&req.viewer, Rule::SignedIn)?;
        let me = req.viewer.user_id();
        Ok(donor::Entity::find()
            .filter(donor::Column::UserId.eq(me))
            .one(&req.db)
            .await?
            .map(Donor::from))
    }
}

async fn find_visible(req: &RequestCtx, id: Uuid) -> AppResult<donor::Model> {
    donor::Entity::find_by_id(id)
        .filter(visible(&req.viewer))
        .one(&req.db)
        .await?
        .ok_or(AppError::NotFound("donor"))
}

/// Donor mutations.
#[derive(Default)]
pub struct DonorMutation;

fn donor_json(d: &donor::Model) -> serde_json::Value {
    json!({"bloodGroup": d.blood_group, "city": d.city, "weightKg": d.weight_kg, "eligibilityStatus": d.eligibility_status,
           "totalDonations": d.total_donations, "deferrals": d.deferrals})
}

#[Object]
impl DonorMutation {
    /// Registers a donor: an NGO for itself, a blood bank for a walk-in donor (their admins,
    /// doctors and staff), or a signed-in user for themself.
    async fn register_donor(
        &self,
        ctx: &Context<'_>,
        input: RegisterDonorInput,
    ) -> AppResult<DonorPayload> {
        let rules = rules(ctx)?;
        let org = input
            .organization_id
            .as_ref()
            .map(|o| parse_id(o, "input.organizationId"));
        let rule = match &org {
            None => Rule::SignedIn,
            Some(o) => Rule::act_for(o, ADMIN_DOCTOR_STAFF, None, None),
        };
        let kind = match &org {
            Some(Ok(o)) => ctx.req()?.viewer.grant(*o).map(|g| g.org_kind),
            _ => None,
        };
        let d = mutate(
            ctx,
            AuditAction::new("donor.register", "donor"),
            rule,
            move |txn, actor| {
                Box::pin(async move {
                    let org = org.transpose()?;
                    let (user_id, ngo_id) = match (org, kind) {
                        (None, _) => (actor.user_id, None),
                        (Some(o), Some(OrgKind::Ngo)) => (None, Some(o)),
                        (Some(_), Some(OrgKind::BloodBank)) => (None, None),
                        _ => {
                            return Err(AppError::Forbidden(
                                "donors are registered by NGOs, blood banks or themselves",
                            ));
                        }
                    };
                    let location = input
                        .location
                        .map(|p| GeoPoint::parse(p.latitude, p.longitude, "input.location."))
                        .transpose()?;
                    if !(input.weight_kg.is_finite() && (20.0..=300.0).contains(&input.weight_kg)) {
                        return Err(AppError::bad_input(
                            "input.weightKg",
                            "must be between 20 and 300",
                        ));
                    }
                    let today = chrono::Utc::now().date_naive();
                    if input.date_of_birth >= today
                        || crate::blood::eligibility::age_on(input.date_of_birth, today) > 120
                    {
                        return Err(AppError::bad_input(
                            "input.dateOfBirth",
                            "is not a plausible birth date",
                        ));
                    }
                    let new = service::NewDonor {
                        user_id,
                        ngo_id,
                        registered_by: org,
                        full_name: Text::parse(&input.full_name, "input.fullName", 200)?
                            .into_inner(),
                        date_of_birth: input.date_of_birth,
                        gender: Text::parse_opt(input.gender.as_deref(), "input.gender", 16)?
                            .map(|g| g.into_inner().to_uppercase()),
                        blood_group: input.blood_group,
                        weight_kg: input.weight_kg,
                        phone: Phone::parse(&input.phone, "input.phone")?.into_inner(),
                        email: input
                            .email
                            .as_deref()
                            .map(|e| Email::parse(e, "input.email"))
                            .transpose()?
                            .map(|e| e.as_str().to_string()),
                        address: Text::parse_opt(input.address.as_deref(), "input.address", 300)?
                            .map(Text::into_inner),
                        city: Text::parse(&input.city, "input.city", 100)?.into_inner(),
                        state: Text::parse_opt(input.state.as_deref(), "input.state", 100)?
                            .map(Text::into_inner),
                        location: location.map(|p| (p.latitude, p.longitude)),
                    };
                    let d = service::register(txn, &rules, new).await?;
                    let change = Change {
                        entity_id: Some(d.id),
                        organization_id: org,
                        new: Some(donor_json(&d)),
                        ..Change::default()
                    };
                    Ok((d, change))
                })
            },
        )
        .await?;
        Ok(DonorPayload { donor: d.into() })
    }

    /// Updates a donor: the organization that manages them, or the donor themself (contact
    /// details and weight only).
    async fn update_donor(
        &self,
        ctx: &Context<'_>,
        input: UpdateDonorInput,
    ) -> AppResult<DonorPayload> {
        let rules = rules(ctx)?;
        let org = input
            .organization_id
            .as_ref()
            .map(|o| parse_id(o, "input.organizationId"));
        let rule = match &org {
            None => Rule::SignedIn,
            Some(o) => Rule::act_for(o, ADMIN_DOCTOR_STAFF, None, None),
        };
        let id = parse_id(&input.donor_id, "input.donorId");
        let what = AuditAction::new("donor.update", "donor").on_parsed(&id);
        let d = mutate(ctx, what, rule, move |txn, actor| {
            Box::pin(async move {
                let (id, org) = (id?, org.transpose()?);
                let before = donor::Entity::find_by_id(id)
                    .one(txn)
                    .await?
                    .ok_or(AppError::NotFound("donor"))?;
                let manages = org.is_some_and(|o| {
                    before.ngo_id == Some(o) || before.registered_by_org_id == Some(o)
                });
                let own =
                    org.is_none() && before.user_id.is_some() && before.user_id == actor.user_id;
                if !(manages || own) {
                    return Err(AppError::NotFound("donor"));
                }
                if own && (input.add_deferral.is_some() || input.under_observation.is_some()) {
                    return Err(AppError::Forbidden(
                        "deferrals and observation are set by the donor's organization",
                    ));
                }
                let mut d = before.clone();
                if let Some(p) = &input.phone {
                    d.phone = Phone::parse(p, "input.phone")?.into_inner();
                }
                if let Some(e) = &input.email {
                    d.email = Some(Email::parse(e, "input.email")?.as_str().to_string());
                }
                if let Some(a) = &input.address {
                    d.address =
                        Text::parse_opt(Some(a), "input.address", 300)?.map(Text::into_inner);
                }
                if let Some(c) = &input.city {
                    d.city = Text::parse(c, "input.city", 100)?.into_inner();
                }
                if let Some(w) = input.weight_kg {
                    if !(w.is_finite() && (20.0..=300.0).contains(&w)) {
                        return Err(AppError::bad_input(
                            "input.weightKg",
                            "must be between 20 and 300",
                        ));
                    }
                    d.weight_kg = w;
                }
                if let Some(p) = input.location {
                    let p = GeoPoint::parse(p.latitude, p.longitude, "input.location.")?;
                    d.latitude = Some(p.latitude);
                    d.longitude = Some(p.longitude);
                }
                if let Some(def) = &input.add_deferral {
                    let reason =
                        Text::parse(&def.reason, "input.addDeferral.reason", 300)?.into_inner();
                    service::add_deferral(
                        &mut d,
                        Deferral {
                            reason,
                            until: def.until,
                        },
                    )?;
                }
                if let Some(obs) = input.under_observation {
                    d.eligibility_status = if obs {
                        Eligibility::UnderObservation
                    } else {
                        Eligibility::Eligible
                    };
                }
                let after = service::save(txn, &rules, d).await?;
                let change = Change {
                    old: Some(donor_json(&before)),
                    new: Some(donor_json(&after)),
                    organization_id: org,
                    ..Change::default()
                };
                Ok((after, change))
            })
        })
        .await?;
        Ok(DonorPayload { donor: d.into() })
    }

    /// Records a donation at a bank (its admins, doctors and staff): refused when the donor
    /// is not eligible; updates the donor and adds the collected units to stock.
    async fn record_donation(
        &self,
        ctx: &Context<'_>,
        input: RecordDonationInput,
    ) -> AppResult<RecordDonationPayload> {
        let rules = rules(ctx)?;
        let bank = parse_id(&input.blood_bank_id, "input.bloodBankId");
        let rule = Rule::act_for(
            &bank,
            ADMIN_DOCTOR_STAFF,
            Some(Scope::StockWrite),
            Some(OrgKind::BloodBank),
        );
        let (donation, donor, units) = mutate(ctx, AuditAction::new("donation.record", "donation"), rule, move |txn, actor| {
            Box::pin(async move {
                let bank = bank?;
                let donor_id = parse_id(&input.donor_id, "input.donorId")?;
                if !(50..=700).contains(&input.volume_ml) {
                    return Err(AppError::bad_input("input.volumeMl", "must be between 50 and 700"));
                }
                if !(input.hemoglobin.is_finite() && (3.0..=25.0).contains(&input.hemoglobin)) {
                    return Err(AppError::bad_input("input.hemoglobin", "must be a plausible value in g/dL"));
                }
                let collected_at = input.collected_at.unwrap_or_else(chrono::Utc::now);
                if collected_at > chrono::Utc::now() + chrono::Duration::minutes(5) {
                    return Err(AppError::bad_input("input.collectedAt", "cannot be in the future"));
                }
                let mut units = Vec::with_capacity(input.units.len());
                for (i, u) in input.units.into_iter().enumerate() {
                    units.push(NewUnit {
                        unit_number: UnitNumber::parse(&u.unit_number, u.is_local_barcode, &format!("input.units[{i}].unitNumber"))?,
                        component: u.component,
                        // Replaced by the donor's group in the service.
                        blood_group: BloodGroup::ONeg,
                        volume_ml: u.volume_ml,
                        collected_on: collected_at.date_naive(),
                        expires_at: u.expires_at,
                        status: u.status,
                        donation_id: None,
                    });
                }
                let new = service::NewDonation {
                    donor_id,
                    bank_id: bank,
                    collected_at,
                    donation_type: input.donation_type,
                    volume_ml: input.volume_ml,
                    hemoglobin: input.hemoglobin,
                    blood_pressure: Text::parse_opt(input.blood_pressure.as_deref(), "input.bloodPressure", 16)?.map(Text::into_inner),
                    notes: Text::parse_opt(input.notes.as_deref(), "input.notes", 1000)?.map(Text::into_inner),
                    units,
                };
                let (donation, donor, units) = service::record_donation(txn, &rules, new, actor).await?;
                let change = Change {
                    entity_id: Some(donation.id),
                    new: Some(json!({"donorId": donor.id, "donationType": donation.donation_type, "units": units.len()})),
                    ..Change::default()
                };
                Ok(((donation, donor, units), change))
            })
        })
        .await?;
        Ok(RecordDonationPayload {
            donation: donation.into(),
            donor: donor.into(),
            units: units.into_iter().map(Into::into).collect(),
        })
    }
}
