//! GraphQL types of donor call-outs.

use super::service;
use crate::{
    audit::ReadRecord,
    error::AppResult,
    graphql::{context::CtxExt, ids::to_id},
    stock::types::GeoPointInput,
};
use async_graphql::{ComplexObject, Context, ID, InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{BloodGroup, CalloutResponse, Component, callout, callout_answer, donor};

/// An organization's call to nearby donors who accept call-outs.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Callout {
    pub id: ID,
    pub organization_id: ID,
    pub blood_request_id: Option<ID>,
    /// The recipients' groups the call-out is for.
    pub blood_groups: Vec<BloodGroup>,
    /// The donor groups it called (those that may give the component to those groups).
    pub donor_groups: Vec<BloodGroup>,
    pub component: Component,
    pub latitude: f64,
    pub longitude: f64,
    pub radius_km: f64,
    pub message: String,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub row: callout::Model,
}

impl From<callout::Model> for Callout {
    fn from(m: callout::Model) -> Self {
        Self {
            id: to_id(m.id),
            organization_id: to_id(m.organization_id),
            blood_request_id: m.blood_request_id.map(to_id),
            blood_groups: service::groups_of(&m.blood_groups),
            donor_groups: service::groups_of(&m.donor_groups),
            component: m.component,
            latitude: m.latitude,
            longitude: m.longitude,
            radius_km: m.radius_km,
            message: m.message.clone(),
            created_at: m.created_at,
            row: m,
        }
    }
}

/// How the donors a call-out reached have answered.
#[derive(SimpleObject, Clone, Copy)]
pub struct CalloutCounts {
    /// Donors the call-out reached.
    pub notified: i32,
    pub coming: i32,
    pub cannot: i32,
    /// Reached and not answered yet.
    pub unanswered: i32,
}

/// A donor on their way, as they consented to be seen by answering `COMING`.
#[derive(SimpleObject, Clone)]
pub struct CalloutResponder {
    pub donor_id: ID,
    pub full_name: String,
    pub phone: String,
    pub blood_group: BloodGroup,
    /// Minutes until they arrive, as they said.
    pub eta_minutes: Option<i32>,
    pub responded_at: Option<DateTime<Utc>>,
}

#[ComplexObject]
impl Callout {
    /// Answers so far.
    async fn counts(&self, ctx: &Context<'_>) -> AppResult<CalloutCounts> {
        let req = ctx.req()?;
        let c = service::counts(&req.db, &self.row).await?;
        Ok(CalloutCounts {
            notified: c.notified,
            coming: c.coming,
            cannot: c.cannot,
            unanswered: (c.notified - c.coming - c.cannot).max(0),
        })
    }

    /// The donors who answered `COMING`, first answers first; others are never named.
    async fn coming(&self, ctx: &Context<'_>) -> AppResult<Vec<CalloutResponder>> {
        let req = ctx.req()?;
        let rows = service::coming(&req.db, self.row.id).await?;
        Ok(rows
            .into_iter()
            .map(|(a, d)| {
                req.reads.record(ReadRecord {
                    action: "callout.read_responder",
                    entity_type: "donor",
                    entity_id: d.id,
                    organization_id: Some(self.row.organization_id),
                });
                responder(a, d)
            })
            .collect())
    }
}

fn responder(a: callout_answer::Model, d: donor::Model) -> CalloutResponder {
    CalloutResponder {
        donor_id: to_id(d.id),
        full_name: d.full_name,
        phone: d.phone.into_inner(),
        blood_group: d.blood_group,
        eta_minutes: a.eta_minutes,
        responded_at: a.responded_at,
    }
}

/// Input of `startCallout`.
#[derive(InputObject)]
pub struct StartCalloutInput {
    /// The blood bank or NGO calling.
    pub organization_id: ID,
    /// The request the blood is for; its group, component and place are the defaults.
    pub blood_request_id: Option<ID>,
    /// The recipients' groups (default: the request's).
    pub blood_groups: Option<Vec<BloodGroup>>,
    /// Default: the request's.
    pub component: Option<Component>,
    /// Where donors should be near (default: the request's place).
    pub near: Option<GeoPointInput>,
    pub radius_km: f64,
    /// Shown to the donors called: no patient details.
    pub message: String,
}

/// Input of `respondToCallout`.
#[derive(InputObject)]
pub struct RespondToCalloutInput {
    pub callout_id: ID,
    pub response: CalloutResponse,
    /// Minutes until arrival, with `COMING`.
    pub eta_minutes: Option<i32>,
}

/// Input of `setCalloutOptIn`.
#[derive(InputObject)]
pub struct SetCalloutOptInInput {
    pub donor_id: ID,
    pub accepts_callouts: bool,
}

/// Result of `startCallout`.
#[derive(SimpleObject)]
pub struct CalloutPayload {
    pub callout: Callout,
}

impl From<callout::Model> for CalloutPayload {
    fn from(m: callout::Model) -> Self {
        Self { callout: m.into() }
    }
}

/// A donor's answer to a call-out.
#[derive(SimpleObject)]
pub struct CalloutAnswer {
    pub callout_id: ID,
    pub response: Option<CalloutResponse>,
    pub eta_minutes: Option<i32>,
    pub responded_at: Option<DateTime<Utc>>,
}

/// Result of `respondToCallout`.
#[derive(SimpleObject)]
pub struct CalloutAnswerPayload {
    pub answer: CalloutAnswer,
}

impl From<callout_answer::Model> for CalloutAnswerPayload {
    fn from(a: callout_answer::Model) -> Self {
        Self {
            answer: CalloutAnswer {
                callout_id: to_id(a.callout_id),
                response: a.response,
                eta_minutes: a.eta_minutes,
                responded_at: a.responded_at,
            },
        }
    }
}
