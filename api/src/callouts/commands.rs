//! Call-out mutations as typed commands, run by [`crate::pipeline`] with their use cases in
//! [`super::service`]. Starting one is for the calling organization's staff (its id read from
//! the input); answering and opting in are for the donor themself, decided by the use case
//! once it holds the donor (`auth::callouts`).

use super::{
    service::{self, NewCallout},
    types::*,
};
use crate::{
    audit::Change,
    auth::{Rule, callouts::act_for},
    error::{AppError, AppResult},
    graphql::ids::parse_id,
    pipeline::{Command, Exec},
    validation::{GeoPoint, Text},
};
use entity::{CalloutResponse, callout, callout_answer, donor};
use uuid::Uuid;

/// `startCallout`, parsed.
pub struct StartCallout(pub NewCallout);

impl TryFrom<StartCalloutInput> for StartCallout {
    type Error = AppError;

    fn try_from(i: StartCalloutInput) -> AppResult<Self> {
        if !(i.radius_km.is_finite() && i.radius_km > 0.0) {
            return Err(AppError::bad_input("input.radiusKm", "must be above 0"));
        }
        Ok(Self(NewCallout {
            organization_id: parse_id(&i.organization_id, "input.organizationId")?,
            blood_request_id: i
                .blood_request_id
                .as_ref()
                .map(|r| parse_id(r, "input.bloodRequestId"))
                .transpose()?,
            blood_groups: i.blood_groups.unwrap_or_default(),
            component: i.component,
            near: i
                .near
                .map(|p| GeoPoint::parse(p.latitude, p.longitude, "input.near."))
                .transpose()?,
            radius_km: i.radius_km,
            message: Text::parse(&i.message, "input.message", 500)?.into_inner(),
        }))
    }
}

impl Command for StartCallout {
    type Input = StartCalloutInput;
    type Output = callout::Model;
    const ACTION: &'static str = "callout.start";
    const ENTITY: &'static str = "callout";

    fn authority(input: &Self::Input) -> Rule {
        Rule::for_named(&input.organization_id, act_for)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::start(exec.txn, &exec.app.config, exec.actor.user_id, self.0).await
    }
}

/// `respondToCallout`, parsed.
pub struct RespondToCallout {
    pub callout_id: Uuid,
    pub response: CalloutResponse,
    pub eta_minutes: Option<i32>,
}

impl TryFrom<RespondToCalloutInput> for RespondToCallout {
    type Error = AppError;

    fn try_from(i: RespondToCalloutInput) -> AppResult<Self> {
        if let Some(eta) = i.eta_minutes
            && !(0..=1440).contains(&eta)
        {
            return Err(AppError::bad_input(
                "input.etaMinutes",
                "must be between 0 and 1440",
            ));
        }
        Ok(Self {
            callout_id: parse_id(&i.callout_id, "input.calloutId")?,
            response: i.response,
            eta_minutes: i.eta_minutes,
        })
    }
}

impl Command for RespondToCallout {
    type Input = RespondToCalloutInput;
    type Output = callout_answer::Model;
    const ACTION: &'static str = "callout.respond";
    const ENTITY: &'static str = "callout_answer";
    const RULE: Rule = Rule::SignedIn;

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::respond(
            exec.txn,
            exec.viewer,
            self.callout_id,
            self.response,
            self.eta_minutes,
        )
        .await
    }
}

/// `setCalloutOptIn`, parsed.
pub struct SetCalloutOptIn {
    pub donor_id: Uuid,
    pub accepts: bool,
}

impl TryFrom<SetCalloutOptInInput> for SetCalloutOptIn {
    type Error = AppError;

    fn try_from(i: SetCalloutOptInInput) -> AppResult<Self> {
        Ok(Self {
            donor_id: parse_id(&i.donor_id, "input.donorId")?,
            accepts: i.accepts_callouts,
        })
    }
}

impl Command for SetCalloutOptIn {
    type Input = SetCalloutOptInInput;
    type Output = donor::Model;
    const ACTION: &'static str = "donor.set_callout_opt_in";
    const ENTITY: &'static str = "donor";
    const RULE: Rule = Rule::SignedIn;

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.donor_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        service::set_accepts(exec.txn, exec.viewer, self.donor_id, self.accepts).await
    }
}
