//! Call-out resolvers: one call-out for its organization, mutations run as commands.

use super::{commands::*, service, types::*};
use crate::{auth::Rule, donors::types::DonorPayload, graphql::prelude::*, pipeline};

#[derive(Default)]
pub struct CalloutQuery;

#[Object]
impl CalloutQuery {
    /// A call-out of the caller's organization, with its counts and the donors coming.
    async fn callout(&self, ctx: &Context<'_>, id: ID) -> AppResult<Callout> {
        let req = ctx.authorized(Rule::SignedIn)?;
        service::find_visible(&req.db, &req.viewer, parse_id(&id, "id")?)
            .await
            .map(Callout::from)
    }
}

pipeline::command_mutations! {
    CalloutMutation {
        /// Calls the opted-in donors who are eligible now, can give the component to the groups
        /// needed and live within `radiusKm` (a blood bank's or NGO's admins, doctors and staff);
        /// a donor is called at most once per `CALLOUT_MIN_HOURS`, whatever the call-out.
        start_callout(StartCalloutInput) -> CalloutPayload = StartCallout;
        /// The donor's answer to a call-out that reached them; `COMING` lets the organization see who they are.
        respond_to_callout(RespondToCalloutInput) -> CalloutAnswerPayload = RespondToCallout;
        /// The donor agrees (or no longer agrees) to be called when blood is needed near them.
        set_callout_opt_in(SetCalloutOptInInput) -> DonorPayload = SetCalloutOptIn;
    }
}
