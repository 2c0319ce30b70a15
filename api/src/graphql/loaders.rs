//! Per-request dataloaders for every relation field.
//!
//! Each request gets fresh loaders built on its own counting connection, with a cache, so
//! one viewer's rows never serve another. List resolvers prime them for their page (see
//! [`Loaders`] users), which makes batching deterministic; the 1 ms batching timer is only
//! the fallback for fields reached some other way.

use crate::db::Db;
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entity::{
    ai_analysis, availability_exception, availability_rule, blood_request, blood_transfer_unit,
    blood_unit, blood_unit_test, camp, camp_registration, camp_slot, consultation_rating, delivery,
    delivery_position, doctor, doctor_accepted_plan, donation, donor, drive, insurance_plan,
    membership, organization, outbox_delivery, payment, prescription, report_image, report_review,
    risk_flag, transfusion, unit_return, user,
};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use std::{collections::HashMap, sync::Arc};
use uuid::Uuid;

/// Loads the active memberships of organizations.
pub struct MembersByOrg(pub Db);
/// Loads the active memberships of users.
pub struct MembershipsByUser(pub Db);

impl Loader<Uuid> for MembersByOrg {
    type Value = Vec<membership::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = membership::Entity::find()
            .filter(membership::Column::OrganizationId.is_in(keys.iter().copied()))
            .filter(membership::Column::IsActive.eq(true))
            .order_by_asc(membership::Column::Id)
            .all(&self.0)
            .await?;
        Ok(group(keys, rows, |m| m.organization_id))
    }
}

impl Loader<Uuid> for MembershipsByUser {
    type Value = Vec<membership::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = membership::Entity::find()
            .filter(membership::Column::UserId.is_in(keys.iter().copied()))
            .filter(membership::Column::IsActive.eq(true))
            .order_by_asc(membership::Column::Id)
            .all(&self.0)
            .await?;
        Ok(group(keys, rows, |m| m.user_id))
    }
}

/// Loads the units reserved for (or issued to) requests.
pub struct UnitsByRequest(pub Db);

impl Loader<Uuid> for UnitsByRequest {
    type Value = Vec<blood_unit::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = blood_unit::Entity::find()
            .filter(blood_unit::Column::ReservedForRequestId.is_in(keys.iter().copied()))
            .order_by_asc(blood_unit::Column::Id)
            .all(&self.0)
            .await?;
        Ok(group(keys, rows, |u| {
            u.reserved_for_request_id.unwrap_or_default()
        }))
    }
}

/// Loads the components separated from units.
pub struct UnitsByParent(pub Db);

impl Loader<Uuid> for UnitsByParent {
    type Value = Vec<blood_unit::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = blood_unit::Entity::find()
            .filter(blood_unit::Column::ParentUnitId.is_in(keys.iter().copied()))
            .order_by_asc(blood_unit::Column::Component)
            .order_by_asc(blood_unit::Column::Id)
            .all(&self.0)
            .await?;
        Ok(group(keys, rows, |u| u.parent_unit_id.unwrap_or_default()))
    }
}

/// Loads the units of transfers (one statement: the links joined to the units).
pub struct UnitsByTransfer(pub Db);

impl Loader<Uuid> for UnitsByTransfer {
    type Value = Vec<blood_unit::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows: Vec<(blood_transfer_unit::Model, Option<blood_unit::Model>)> =
            blood_transfer_unit::Entity::find()
                .find_also_related(blood_unit::Entity)
                .filter(blood_transfer_unit::Column::TransferId.is_in(keys.iter().copied()))
                .order_by_asc(blood_transfer_unit::Column::UnitId)
                .all(&self.0)
                .await?;
        let mut map: HashMap<Uuid, Self::Value> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for (link, unit) in rows {
            if let Some(u) = unit {
                map.entry(link.transfer_id).or_default().push(u);
            }
        }
        Ok(map)
    }
}

/// Loads units' screening panels.
pub struct PanelByUnit(pub Db);

impl Loader<Uuid> for PanelByUnit {
    type Value = blood_unit_test::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = blood_unit_test::Entity::find()
            .filter(blood_unit_test::Column::UnitId.is_in(keys.iter().copied()))
            .all(&self.0)
            .await?;
        Ok(rows.into_iter().map(|r| (r.unit_id, r)).collect())
    }
}

/// Loads donors' donations, newest first.
pub struct DonationsByDonor(pub Db);

impl Loader<Uuid> for DonationsByDonor {
    type Value = Vec<donation::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = donation::Entity::find()
            .filter(donation::Column::DonorId.is_in(keys.iter().copied()))
            .order_by_desc(donation::Column::CollectedAt)
            .all(&self.0)
            .await?;
        Ok(group(keys, rows, |d| d.donor_id))
    }
}

/// Declares a loader of rows by their id: of the rows themselves, or of what `map` makes of
/// each (its `Value`).
macro_rules! by_id {
    ($(#[$doc:meta])* $name:ident, $entity:ident) => {
        by_id!($(#[$doc])* $name, $entity, $entity::Model, |r| r);
    };
    ($(#[$doc:meta])* $name:ident, $entity:ident, $value:ty, $map:expr) => {
        by_id!(
            $(#[$doc])* $name,
            $entity,
            $value,
            $map,
            |row| <$entity::Model as sea_orm::FromQueryResult>::from_query_result(row, "")
        );
    };
    // Rows read by `$decode` (an entity's own, `entity::by_position`, or the derive's).
    ($(#[$doc:meta])* $name:ident, $entity:ident, $value:ty, $map:expr, $decode:expr) => {
        $(#[$doc])*
        pub struct $name(pub Db);

        impl Loader<Uuid> for $name {
            type Value = $value;
            type Error = Arc<DbErr>;

            async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
                use sea_orm::{ConnectionTrait as _, QueryTrait as _};
                let select = $entity::Entity::find()
                    .filter($entity::Column::Id.is_in(keys.iter().copied()))
                    .build(self.0.get_database_backend());
                self.0
                    .query_all_raw(select)
                    .await?
                    .iter()
                    .map(|row| ($decode)(row).map(|r: $entity::Model| (r.id, ($map)(r))))
                    .collect::<Result<_, DbErr>>()
                    .map_err(Arc::new)
            }
        }
    };
}

/// Declares a loader of the child rows of parents, grouped by the parent column, in the
/// order given.
macro_rules! children {
    ($(#[$doc:meta])* $name:ident, $entity:ident, $parent:ident / $column:ident, $order:ident) => {
        $(#[$doc])*
        pub struct $name(pub Db);

        impl Loader<Uuid> for $name {
            type Value = Vec<$entity::Model>;
            type Error = Arc<DbErr>;

            async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
                let rows = $entity::Entity::find()
                    .filter($entity::Column::$column.is_in(keys.iter().copied()))
                    .order_by_asc($entity::Column::$order)
                    .order_by_asc($entity::Column::Id)
                    .all(&self.0)
                    .await?;
                Ok(group(keys, rows, |r| r.$parent))
            }
        }
    };
}

by_id!(
    /// Loads users by id.
    UserById,
    user
);
by_id!(
    /// Loads blood requests by id.
    RequestById,
    blood_request
);
by_id!(
    /// Loads blood units by id.
    UnitById,
    blood_unit
);
by_id!(
    /// Loads donations by id.
    DonationById,
    donation
);
children!(
    /// Loads deliveries' reported positions, oldest reading first.
    PositionsByDelivery,
    delivery_position,
    delivery_id / DeliveryId,
    RecordedAt
);
children!(
    /// Loads units' returns, oldest first.
    ReturnsByUnit,
    unit_return,
    unit_id / UnitId,
    CreatedAt
);

/// Declares a loader of the one row per key of a uniquely indexed column.
macro_rules! one_by {
    ($(#[$doc:meta])* $name:ident, $entity:ident, $field:ident / $column:ident) => {
        $(#[$doc])*
        pub struct $name(pub Db);

        impl Loader<Uuid> for $name {
            type Value = $entity::Model;
            type Error = Arc<DbErr>;

            async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
                let rows = $entity::Entity::find()
                    .filter($entity::Column::$column.is_in(keys.iter().copied()))
                    .all(&self.0)
                    .await?;
                Ok(rows.into_iter().map(|r| (r.$field, r)).collect())
            }
        }
    };
}

one_by!(
    /// Loads the delivery of requests (one per request).
    DeliveryByRequest,
    delivery,
    request_id / RequestId
);
one_by!(
    /// Loads the rating of consultations (one per consultation).
    RatingByConsultation,
    consultation_rating,
    consultation_id / ConsultationId
);
one_by!(
    /// Loads the transfusion of units (one per unit).
    TransfusionByUnit,
    transfusion,
    unit_id / UnitId
);
by_id!(
    /// Loads organizations by id, as the API shows them: a page names the same few
    /// organizations from many rows, and each relation field then shares one value instead
    /// of copying the row's strings into a new one.
    OrgById,
    organization,
    Arc<crate::organizations::types::Organization>,
    |r: organization::Model| Arc::new(r.into()),
    organization::decode
);
by_id!(
    /// Loads doctor profiles by id.
    DoctorById,
    doctor
);
by_id!(
    /// Loads insurance plans by id.
    InsurancePlanById,
    insurance_plan
);

/// Loads the plans doctors accept, by code: two statements for any number of doctors (the
/// links, then their plans).
pub struct AcceptedPlansByDoctor(pub Db);

impl Loader<Uuid> for AcceptedPlansByDoctor {
    type Value = Vec<insurance_plan::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let links = doctor_accepted_plan::Entity::find()
            .filter(doctor_accepted_plan::Column::DoctorId.is_in(keys.iter().copied()))
            .all(&self.0)
            .await?;
        let mut map: HashMap<Uuid, Self::Value> = keys.iter().map(|k| (*k, Vec::new())).collect();
        if links.is_empty() {
            return Ok(map);
        }
        let mut plan_ids: Vec<Uuid> = links.iter().map(|l| l.plan_id).collect();
        plan_ids.sort();
        plan_ids.dedup();
        let plans: HashMap<Uuid, insurance_plan::Model> = insurance_plan::Entity::find()
            .filter(insurance_plan::Column::Id.is_in(plan_ids))
            .all(&self.0)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        for l in links {
            if let Some(p) = plans.get(&l.plan_id) {
                map.entry(l.doctor_id).or_default().push(p.clone());
            }
        }
        for v in map.values_mut() {
            v.sort_by(|a, b| a.plan_code.cmp(&b.plan_code));
        }
        Ok(map)
    }
}
children!(
    /// Loads doctors' weekly availability rules.
    AvailabilityByDoctor,
    availability_rule,
    doctor_id / DoctorId,
    StartTime
);
/// Loads doctors' time off and extra hours not yet over, soonest first.
pub struct ExceptionsByDoctor(pub Db);

impl Loader<Uuid> for ExceptionsByDoctor {
    type Value = Vec<availability_exception::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = availability_exception::Entity::find()
            .filter(availability_exception::Column::DoctorId.is_in(keys.iter().copied()))
            .filter(availability_exception::Column::EndsAt.gt(crate::db::now()))
            .order_by_asc(availability_exception::Column::StartsAt)
            .order_by_asc(availability_exception::Column::Id)
            .all(&self.0)
            .await?;
        Ok(group(keys, rows, |r| r.doctor_id))
    }
}

children!(
    /// Loads consultations' prescriptions, oldest first.
    PrescriptionsByConsultation,
    prescription,
    consultation_id / ConsultationId,
    CreatedAt
);
children!(
    /// Loads consultations' payments, oldest first.
    PaymentsByConsultation,
    payment,
    consultation_id / ConsultationId,
    CreatedAt
);
children!(
    /// Loads consultations' risk flags, oldest first.
    RiskFlagsByConsultation,
    risk_flag,
    consultation_id / ConsultationId,
    CreatedAt
);
children!(
    /// Loads reports' images in display order.
    ImagesByReport,
    report_image,
    report_id / ReportId,
    DisplayOrder
);
children!(
    /// Loads reports' reviews, oldest first.
    ReviewsByReport,
    report_review,
    report_id / ReportId,
    Id
);

by_id!(
    /// Loads camps by id.
    CampById,
    camp
);
by_id!(
    /// Loads camp slots by id.
    CampSlotById,
    camp_slot
);
by_id!(
    /// Loads drives by id.
    DriveById,
    drive
);
by_id!(
    /// Loads donors by id (for relations shown only to those who may see them).
    DonorById,
    donor
);
children!(
    /// Loads camps' slots, earliest first.
    SlotsByCamp,
    camp_slot,
    camp_id / CampId,
    StartsAt
);
children!(
    /// Loads camps' registrations, oldest first.
    RegistrationsByCamp,
    camp_registration,
    camp_id / CampId,
    CreatedAt
);

/// Loads the camps that answer drives, soonest first.
pub struct CampsByDrive(pub Db);

impl Loader<Uuid> for CampsByDrive {
    type Value = Vec<camp::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = camp::Entity::find()
            .filter(camp::Column::DriveId.is_in(keys.iter().copied()))
            .order_by_asc(camp::Column::StartsAt)
            .order_by_asc(camp::Column::Id)
            .all(&self.0)
            .await?;
        Ok(group(keys, rows, |c| c.drive_id.unwrap_or_default()))
    }
}

/// Loads notifications' deliveries, oldest first.
pub struct DeliveriesByNotification(pub Db);

impl Loader<Uuid> for DeliveriesByNotification {
    type Value = Vec<outbox_delivery::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = outbox_delivery::Entity::find()
            .filter(outbox_delivery::Column::NotificationId.is_in(keys.iter().copied()))
            .order_by_asc(outbox_delivery::Column::CreatedAt)
            .order_by_asc(outbox_delivery::Column::Id)
            .all(&self.0)
            .await?;
        Ok(group(keys, rows, |d| d.notification_id.unwrap_or_default()))
    }
}

/// Loads reports' AI analyses (at most one each).
pub struct AnalysisByReport(pub Db);

impl Loader<Uuid> for AnalysisByReport {
    type Value = ai_analysis::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = ai_analysis::Entity::find()
            .filter(ai_analysis::Column::ReportId.is_in(keys.iter().copied()))
            .all(&self.0)
            .await?;
        Ok(rows.into_iter().map(|r| (r.report_id, r)).collect())
    }
}

/// Groups rows under their parent key; every asked key gets an entry (empty when it has no
/// rows), so an empty relation is cached too and not fetched again.
pub fn group<M>(keys: &[Uuid], rows: Vec<M>, parent: impl Fn(&M) -> Uuid) -> HashMap<Uuid, Vec<M>> {
    let mut map: HashMap<Uuid, Vec<M>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for r in rows {
        map.entry(parent(&r)).or_default().push(r);
    }
    map
}

pub type Cached<L> = DataLoader<L, HashMapCache>;

fn cached<L: Loader<Uuid>>(l: L) -> Cached<L> {
    DataLoader::with_cache(l, tokio::spawn, HashMapCache::default())
}

/// The loaders of one request.
pub struct Loaders {
    /// Users by id.
    pub users: Cached<UserById>,
    /// Organizations by id.
    pub orgs: Cached<OrgById>,
    /// An organization's active memberships.
    pub members_by_org: Cached<MembersByOrg>,
    /// A user's active memberships.
    pub memberships_by_user: Cached<MembershipsByUser>,
    /// A request's reserved or issued units.
    pub units_by_request: Cached<UnitsByRequest>,
    /// A donor's donations.
    pub donations_by_donor: Cached<DonationsByDonor>,
    /// Doctor profiles by id.
    pub doctors: Cached<DoctorById>,
    /// A doctor's availability rules.
    pub availability_by_doctor: Cached<AvailabilityByDoctor>,
    /// A doctor's exceptions not yet over.
    pub exceptions_by_doctor: Cached<ExceptionsByDoctor>,
    /// Insurance plans by id.
    pub insurance_plans: Cached<InsurancePlanById>,
    /// The plans a doctor accepts.
    pub accepted_plans_by_doctor: Cached<AcceptedPlansByDoctor>,
    /// A consultation's prescriptions.
    pub prescriptions_by_consultation: Cached<PrescriptionsByConsultation>,
    /// A consultation's payments.
    pub payments_by_consultation: Cached<PaymentsByConsultation>,
    /// A consultation's risk flags.
    pub risk_flags_by_consultation: Cached<RiskFlagsByConsultation>,
    /// A report's images.
    pub images_by_report: Cached<ImagesByReport>,
    /// A report's AI analysis.
    pub analysis_by_report: Cached<AnalysisByReport>,
    /// A report's reviews.
    pub reviews_by_report: Cached<ReviewsByReport>,
    /// Camps by id.
    pub camps: Cached<CampById>,
    /// Camp slots by id.
    pub camp_slots: Cached<CampSlotById>,
    /// A camp's slots.
    pub slots_by_camp: Cached<SlotsByCamp>,
    /// A camp's registrations.
    pub registrations_by_camp: Cached<RegistrationsByCamp>,
    /// Drives by id.
    pub drives: Cached<DriveById>,
    /// The camps answering a drive.
    pub camps_by_drive: Cached<CampsByDrive>,
    /// Donors by id.
    pub donors: Cached<DonorById>,
    /// A notification's deliveries.
    pub deliveries_by_notification: Cached<DeliveriesByNotification>,
    /// Blood units by id.
    pub units: Cached<UnitById>,
    /// Components by the unit they were separated from.
    pub units_by_parent: Cached<UnitsByParent>,
    /// Units by the transfer that moves them.
    pub units_by_transfer: Cached<UnitsByTransfer>,
    /// Screening panels by unit.
    pub unit_tests: Cached<PanelByUnit>,
    /// Blood requests by id.
    pub requests: Cached<RequestById>,
    /// Donations by id.
    pub donations: Cached<DonationById>,
    /// A delivery's reported positions.
    pub positions_by_delivery: Cached<PositionsByDelivery>,
    /// A unit's returns.
    pub returns_by_unit: Cached<ReturnsByUnit>,
    /// A request's delivery.
    pub delivery_by_request: Cached<DeliveryByRequest>,
    /// A unit's transfusion.
    pub transfusion_by_unit: Cached<TransfusionByUnit>,
    /// A consultation's rating.
    pub rating_by_consultation: Cached<RatingByConsultation>,
}

impl Loaders {
    /// Fresh loaders on the request's connection.
    pub fn new(db: &Db) -> Self {
        Self {
            users: cached(UserById(db.clone())),
            orgs: cached(OrgById(db.clone())),
            members_by_org: cached(MembersByOrg(db.clone())),
            memberships_by_user: cached(MembershipsByUser(db.clone())),
            units_by_request: cached(UnitsByRequest(db.clone())),
            donations_by_donor: cached(DonationsByDonor(db.clone())),
            doctors: cached(DoctorById(db.clone())),
            availability_by_doctor: cached(AvailabilityByDoctor(db.clone())),
            exceptions_by_doctor: cached(ExceptionsByDoctor(db.clone())),
            insurance_plans: cached(InsurancePlanById(db.clone())),
            accepted_plans_by_doctor: cached(AcceptedPlansByDoctor(db.clone())),
            prescriptions_by_consultation: cached(PrescriptionsByConsultation(db.clone())),
            payments_by_consultation: cached(PaymentsByConsultation(db.clone())),
            risk_flags_by_consultation: cached(RiskFlagsByConsultation(db.clone())),
            images_by_report: cached(ImagesByReport(db.clone())),
            analysis_by_report: cached(AnalysisByReport(db.clone())),
            reviews_by_report: cached(ReviewsByReport(db.clone())),
            camps: cached(CampById(db.clone())),
            camp_slots: cached(CampSlotById(db.clone())),
            slots_by_camp: cached(SlotsByCamp(db.clone())),
            registrations_by_camp: cached(RegistrationsByCamp(db.clone())),
            drives: cached(DriveById(db.clone())),
            camps_by_drive: cached(CampsByDrive(db.clone())),
            donors: cached(DonorById(db.clone())),
            deliveries_by_notification: cached(DeliveriesByNotification(db.clone())),
            units: cached(UnitById(db.clone())),
            units_by_parent: cached(UnitsByParent(db.clone())),
            units_by_transfer: cached(UnitsByTransfer(db.clone())),
            unit_tests: cached(PanelByUnit(db.clone())),
            requests: cached(RequestById(db.clone())),
            donations: cached(DonationById(db.clone())),
            positions_by_delivery: cached(PositionsByDelivery(db.clone())),
            returns_by_unit: cached(ReturnsByUnit(db.clone())),
            delivery_by_request: cached(DeliveryByRequest(db.clone())),
            transfusion_by_unit: cached(TransfusionByUnit(db.clone())),
            rating_by_consultation: cached(RatingByConsultation(db.clone())),
        }
    }
}

/// Runs a loader's own batch query for `keys` now and primes its cache with the result, so
/// a list that looks ahead at its selected relations costs one query per relation, whatever
/// its length; returns what was loaded.
pub async fn prime<L>(
    loader: &Cached<L>,
    keys: impl IntoIterator<Item = Uuid>,
) -> crate::error::AppResult<HashMap<Uuid, L::Value>>
where
    L: Loader<Uuid, Error = Arc<DbErr>>,
{
    let mut keys: Vec<Uuid> = keys.into_iter().collect();
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let loaded = loader.loader().load(&keys).await.map_err(loader_err)?;
    loader.feed_many(loaded.clone()).await;
    Ok(loaded)
}

/// Primes the request's user loader with these users.
pub async fn prime_users(
    req: &crate::graphql::context::RequestCtx,
    ids: impl IntoIterator<Item = Uuid>,
) -> crate::error::AppResult<()> {
    prime(&req.loaders.users, ids).await.map(drop)
}

/// Primes the request's organization loader with these organizations.
pub async fn prime_orgs(
    req: &crate::graphql::context::RequestCtx,
    ids: Vec<Uuid>,
) -> crate::error::AppResult<()> {
    prime(&req.loaders.orgs, ids).await.map(drop)
}

/// Loads one row through a request's loader.
pub async fn load_one<L>(loader: &Cached<L>, key: Uuid) -> crate::error::AppResult<Option<L::Value>>
where
    L: Loader<Uuid, Error = Arc<DbErr>>,
{
    loader.load_one(key).await.map_err(loader_err)
}

/// Loads a parent's child rows through a request's loader (empty when it has none).
pub async fn load_children<L, M>(loader: &Cached<L>, key: Uuid) -> crate::error::AppResult<Vec<M>>
where
    L: Loader<Uuid, Value = Vec<M>, Error = Arc<DbErr>>,
    M: Clone + Send + Sync + 'static,
{
    Ok(loader
        .load_one(key)
        .await
        .map_err(loader_err)?
        .unwrap_or_default())
}

/// Maps a loader error to the API error.
pub fn loader_err(e: Arc<DbErr>) -> crate::error::AppError {
    crate::error::AppError::internal(format!("loader: {e}"))
}
