//! Camp mutations as typed commands: each input parsed once (`TryFrom`), each run by
//! [`crate::pipeline`] with its use case in [`super::service`]. Running a camp is for the
//! NGO that organizes it (its id read from the input, or from the camp the input names);
//! registering and attendance are decided by the use case once it holds the camp, slot and
//! donor (`auth::camps`).

use super::{
    service::{self, CampChanges, NewCamp, NewRegistration, Outcome},
    types::*,
};
use crate::{
    audit::Change,
    auth::{Rule, camps::act_for},
    db::Db,
    donors::{commands::new_donation, service::NewDonation},
    error::{AppError, AppResult},
    graphql::ids::parse_id,
    pipeline::{Command, Exec},
    validation::{GeoPoint, IanaZone, Notes, Text},
};
use async_graphql::ID;
use entity::{CampStatus, OrgKind, camp, camp_registration};
use std::marker::PhantomData;
use uuid::Uuid;

/// Acting for a camp's NGO, once it is known; a camp that does not exist leaves only the
/// signed-in check, and its use case answers `NOT_FOUND`.
fn for_camp_ngo(org: Option<Uuid>) -> Rule {
    org.map_or(Rule::SignedIn, |o| act_for(o, OrgKind::Ngo))
}

fn text(raw: &str, field: &str, max: usize) -> AppResult<String> {
    Ok(Text::parse(raw, field, max)?.into_inner())
}

fn text_opt(raw: Option<&str>, field: &str, max: usize) -> AppResult<Option<String>> {
    Ok(Text::parse_opt(raw, field, max)?.map(Text::into_inner))
}

fn expected(n: Option<i32>) -> AppResult<Option<i32>> {
    match n {
        Some(n) if !(0..=100_000).contains(&n) => Err(AppError::bad_input(
            "input.expectedDonors",
            "must be between 0 and 100000",
        )),
        n => Ok(n),
    }
}

/// `createCamp`, parsed: every field checked before anything is written.
pub struct CreateCamp(pub NewCamp);

impl TryFrom<CreateCampInput> for CreateCamp {
    type Error = AppError;

    fn try_from(i: CreateCampInput) -> AppResult<Self> {
        let organization_id = parse_id(&i.organization_id, "input.organizationId")?;
        let blood_bank_id = parse_id(&i.blood_bank_id, "input.bloodBankId")?;
        let zone = IanaZone::parse(&i.time_zone, "input.timeZone")?.0;
        let today = chrono::Utc::now().with_timezone(&zone).date_naive();
        if i.starts_on < today {
            return Err(AppError::bad_input(
                "input.startsOn",
                "must not be in the past",
            ));
        }
        if i.ends_on < i.starts_on {
            return Err(AppError::bad_input(
                "input.endsOn",
                "must not be before startsOn",
            ));
        }
        if (i.ends_on - i.starts_on).num_days() >= service::MAX_DAYS {
            return Err(AppError::bad_input(
                "input.endsOn",
                format!("a camp lasts at most {} days", service::MAX_DAYS),
            ));
        }
        if i.daily_end <= i.daily_start {
            return Err(AppError::bad_input(
                "input.dailyEnd",
                "must be after dailyStart",
            ));
        }
        if !(5..=480).contains(&i.slot_minutes) {
            return Err(AppError::bad_input(
                "input.slotMinutes",
                "must be between 5 and 480",
            ));
        }
        if (i.daily_end - i.daily_start).num_minutes() < i64::from(i.slot_minutes) {
            return Err(AppError::bad_input(
                "input.slotMinutes",
                "no slot fits between dailyStart and dailyEnd",
            ));
        }
        if !(1..=500).contains(&i.slot_capacity) {
            return Err(AppError::bad_input(
                "input.slotCapacity",
                "must be between 1 and 500",
            ));
        }
        Ok(Self(NewCamp {
            organization_id,
            blood_bank_id,
            drive_id: i
                .drive_id
                .as_ref()
                .map(|d| parse_id(d, "input.driveId"))
                .transpose()?,
            name: text(&i.name, "input.name", 200)?,
            description: Notes::parse_opt(i.description.as_deref(), "input.description", 4000)?
                .map(Notes::into_inner),
            venue: text(&i.venue, "input.venue", 200)?,
            address: text_opt(i.address.as_deref(), "input.address", 300)?,
            city: text(&i.city, "input.city", 100)?,
            location: GeoPoint::parse(i.latitude, i.longitude, "input.")?,
            zone,
            starts_on: i.starts_on,
            ends_on: i.ends_on,
            daily_start: i.daily_start,
            daily_end: i.daily_end,
            slot_minutes: i.slot_minutes,
            slot_capacity: i.slot_capacity,
            blood_groups: i.blood_groups_needed,
            expected_donors: expected(i.expected_donors)?,
        }))
    }
}

impl Command for CreateCamp {
    type Input = CreateCampInput;
    type Output = camp::Model;
    const ACTION: &'static str = "camp.create";
    const ENTITY: &'static str = "camp";

    fn authority(input: &Self::Input) -> Rule {
        Rule::for_named(&input.organization_id, |o| act_for(o, OrgKind::Ngo))
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::create_camp(exec.txn, exec.actor, self.0).await
    }
}

/// `updateCamp`, parsed.
pub struct UpdateCamp {
    pub camp_id: Uuid,
    /// The camp's NGO, found by [`Command::locate`].
    pub organization_id: Option<Uuid>,
    pub changes: CampChanges,
}

impl TryFrom<UpdateCampInput> for UpdateCamp {
    type Error = AppError;

    fn try_from(i: UpdateCampInput) -> AppResult<Self> {
        Ok(Self {
            camp_id: parse_id(&i.camp_id, "input.campId")?,
            organization_id: None,
            changes: CampChanges {
                name: i
                    .name
                    .as_deref()
                    .map(|n| text(n, "input.name", 200))
                    .transpose()?,
                description: i
                    .description
                    .as_deref()
                    .map(|d| {
                        Ok::<_, AppError>(
                            Notes::parse_opt(Some(d), "input.description", 4000)?
                                .map(Notes::into_inner),
                        )
                    })
                    .transpose()?,
                venue: i
                    .venue
                    .as_deref()
                    .map(|v| text(v, "input.venue", 200))
                    .transpose()?,
                address: i
                    .address
                    .as_deref()
                    .map(|a| text_opt(Some(a), "input.address", 300))
                    .transpose()?,
                city: i
                    .city
                    .as_deref()
                    .map(|c| text(c, "input.city", 100))
                    .transpose()?,
                location: i
                    .location
                    .map(|p| GeoPoint::parse(p.latitude, p.longitude, "input.location."))
                    .transpose()?,
                blood_groups: i.blood_groups_needed,
                expected_donors: expected(i.expected_donors)?,
            },
        })
    }
}

impl Command for UpdateCamp {
    type Input = UpdateCampInput;
    type Output = camp::Model;
    const ACTION: &'static str = "camp.update";
    const ENTITY: &'static str = "camp";
    const RULE: Rule = Rule::SignedIn;

    fn rule(&self) -> Option<Rule> {
        Some(for_camp_ngo(self.organization_id))
    }

    async fn locate(mut self, db: &Db) -> AppResult<Self> {
        self.organization_id = service::camp_org(db, self.camp_id).await?;
        Ok(self)
    }

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.camp_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::update_camp(exec.txn, self.camp_id, self.changes).await
    }
}

/// A move of the camp state machine: its audit action and the state it moves to.
pub trait CampStep: Send {
    /// The GraphQL input of the move.
    type Input: Send;
    const ACTION: &'static str;
    const TO: CampStatus;
}

macro_rules! camp_steps {
    ($($(#[$doc:meta])* $name:ident => $action:literal, $to:ident, $input:ty;)*) => {$(
        $(#[$doc])*
        pub struct $name;
        impl CampStep for $name {
            type Input = $input;
            const ACTION: &'static str = $action;
            const TO: CampStatus = CampStatus::$to;
        }
    )*};
}

camp_steps! {
    /// `startCamp`: the NGO opens the camp (attendance can be recorded).
    Start => "camp.start", Ongoing, CampActionInput;
    /// `completeCamp`: the NGO closes it; actual donors and units come from attendance.
    Complete => "camp.complete", Completed, CampActionInput;
    /// `cancelCamp`: the NGO calls it off; registered donors are told.
    Cancel => "camp.cancel", Cancelled, CancelCampInput;
}

/// A move of one camp, parsed.
pub struct MoveCamp<S> {
    pub camp_id: Uuid,
    /// The camp's NGO, found by [`Command::locate`].
    pub organization_id: Option<Uuid>,
    pub reason: Option<String>,
    step: PhantomData<S>,
}

impl<S> MoveCamp<S> {
    fn new(id: &ID, reason: Option<String>) -> AppResult<Self> {
        Ok(Self {
            camp_id: parse_id(id, "input.campId")?,
            organization_id: None,
            reason,
            step: PhantomData,
        })
    }
}

impl<S: CampStep<Input = CampActionInput>> TryFrom<CampActionInput> for MoveCamp<S> {
    type Error = AppError;

    fn try_from(i: CampActionInput) -> AppResult<Self> {
        Self::new(&i.camp_id, None)
    }
}

impl TryFrom<CancelCampInput> for MoveCamp<Cancel> {
    type Error = AppError;

    fn try_from(i: CancelCampInput) -> AppResult<Self> {
        let reason = text(&i.reason, "input.reason", 500)?;
        Self::new(&i.camp_id, Some(reason))
    }
}

impl<S: CampStep> Command for MoveCamp<S>
where
    Self: TryFrom<S::Input, Error = AppError>,
{
    type Input = S::Input;
    type Output = camp::Model;
    const ACTION: &'static str = S::ACTION;
    const ENTITY: &'static str = "camp";
    const RULE: Rule = Rule::SignedIn;

    fn rule(&self) -> Option<Rule> {
        Some(for_camp_ngo(self.organization_id))
    }

    async fn locate(mut self, db: &Db) -> AppResult<Self> {
        self.organization_id = service::camp_org(db, self.camp_id).await?;
        Ok(self)
    }

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.camp_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::move_camp(exec.txn, self.camp_id, S::TO, self.reason).await
    }
}

/// `registerForCamp`, parsed.
pub struct RegisterForCamp(pub NewRegistration);

impl TryFrom<RegisterForCampInput> for RegisterForCamp {
    type Error = AppError;

    fn try_from(i: RegisterForCampInput) -> AppResult<Self> {
        Ok(Self(NewRegistration {
            slot_id: parse_id(&i.slot_id, "input.slotId")?,
            donor_id: parse_id(&i.donor_id, "input.donorId")?,
            referred_by: i
                .referred_by
                .as_ref()
                .map(|r| parse_id(r, "input.referredBy"))
                .transpose()?,
        }))
    }
}

impl Command for RegisterForCamp {
    type Input = RegisterForCampInput;
    type Output = camp_registration::Model;
    const ACTION: &'static str = "camp_registration.register";
    const ENTITY: &'static str = "camp_registration";
    const RULE: Rule = Rule::SignedIn;

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        let rules = crate::donors::service::rule_set(&exec.app.config)?;
        service::register(exec.txn, exec.viewer, &rules, self.0).await
    }
}

/// `cancelCampRegistration`, parsed.
pub struct CancelCampRegistration {
    pub registration_id: Uuid,
}

impl TryFrom<CampRegistrationActionInput> for CancelCampRegistration {
    type Error = AppError;

    fn try_from(i: CampRegistrationActionInput) -> AppResult<Self> {
        Ok(Self {
            registration_id: parse_id(&i.registration_id, "input.registrationId")?,
        })
    }
}

impl Command for CancelCampRegistration {
    type Input = CampRegistrationActionInput;
    type Output = camp_registration::Model;
    const ACTION: &'static str = "camp_registration.cancel";
    const ENTITY: &'static str = "camp_registration";
    const RULE: Rule = Rule::SignedIn;

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.registration_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::cancel_registration(exec.txn, exec.viewer, self.registration_id).await
    }
}

/// `recordCampAttendance`, parsed.
pub struct RecordCampAttendance {
    pub registration_id: Uuid,
    pub outcome: Outcome,
    pub donation: Option<NewDonation>,
}

impl TryFrom<RecordCampAttendanceInput> for RecordCampAttendance {
    type Error = AppError;

    fn try_from(i: RecordCampAttendanceInput) -> AppResult<Self> {
        let donation = i
            .donation
            // The donors' own checks of a donation; the bank and donor are the camp's.
            .map(new_donation)
            .transpose()?;
        Ok(Self {
            registration_id: parse_id(&i.registration_id, "input.registrationId")?,
            outcome: match i.outcome {
                AttendanceOutcome::Attended => Outcome::Attended,
                AttendanceOutcome::NotAttended => Outcome::NotAttended,
                AttendanceOutcome::Deferred => Outcome::Deferred,
                AttendanceOutcome::Failed => Outcome::Failed,
            },
            donation,
        })
    }
}

impl Command for RecordCampAttendance {
    type Input = RecordCampAttendanceInput;
    type Output = service::Attendance;
    const ACTION: &'static str = "camp_registration.record_attendance";
    const ENTITY: &'static str = "camp_registration";
    const RULE: Rule = Rule::SignedIn;

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.registration_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        let rules = crate::donors::service::rule_set(&exec.app.config)?;
        service::record_attendance(
            exec.txn,
            exec.viewer,
            &rules,
            self.registration_id,
            self.outcome,
            self.donation,
        )
        .await
    }
}
