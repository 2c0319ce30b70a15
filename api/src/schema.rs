//! The served schema, assembled at the top: one query, mutation and subscription object per
//! domain, merged, with the limits from the config. Nothing below imports this module but
//! the HTTP transport and the command line.

use crate::{
    account_tokens::resolvers::AccountEmailMutation,
    alerts::{
        resolvers::{AlertMutation, AlertQuery},
        subscriptions::AlertSubscription,
    },
    analytics::resolvers::AnalyticsQuery,
    audit::resolvers::AuditQuery,
    callouts::resolvers::{CalloutMutation, CalloutQuery},
    camps::{
        resolvers::{CampMutation, CampQuery},
        subscriptions::CampSubscription,
    },
    care::resolvers::{CareMutation, CareQuery},
    config::Config,
    consultations::resolvers::{ConsultationMutation, ConsultationQuery},
    deliveries::{
        resolvers::{DeliveryMutation, DeliveryQuery},
        subscriptions::DeliverySubscription,
    },
    donors::erasure::ErasureMutation,
    donors::resolvers::{DonorMutation, DonorQuery},
    drives::resolvers::{DriveMutation, DriveQuery},
    identity::resolvers::{IdentityMutation, IdentityQuery},
    insurance::resolvers::{InsuranceMutation, InsuranceQuery},
    mfa::resolvers::MfaMutation,
    notifications::resolvers::{NotificationPreferenceMutation, NotificationPreferenceQuery},
    organizations::invitations::{InvitationMutation, InvitationQuery},
    organizations::resolvers::{OrganizationMutation, OrganizationQuery},
    reports::resolvers::{ReportMutation, ReportQuery},
    requests::resolvers::{RequestMutation, RequestQuery},
    rewards::resolvers::{RewardsMutation, RewardsQuery},
    stock::resolvers::{StockMutation, StockQuery},
    transfusions::resolvers::{TransfusionMutation, TransfusionQuery},
    webhooks::resolvers::{WebhookMutation, WebhookQuery},
};
use async_graphql::{MergedObject, MergedSubscription, Schema, SchemaBuilder};

/// Every query, one object per domain.
#[derive(MergedObject, Default)]
pub struct QueryRoot(
    IdentityQuery,
    OrganizationQuery,
    AuditQuery,
    DonorQuery,
    StockQuery,
    RequestQuery,
    AlertQuery,
    ConsultationQuery,
    ReportQuery,
    CampQuery,
    DriveQuery,
    NotificationPreferenceQuery,
    CalloutQuery,
    WebhookQuery,
    RewardsQuery,
    AnalyticsQuery,
    InvitationQuery,
    DeliveryQuery,
    TransfusionQuery,
    CareQuery,
    InsuranceQuery,
);

/// Every mutation, one object per domain.
#[derive(MergedObject, Default)]
pub struct MutationRoot(
    IdentityMutation,
    MfaMutation,
    OrganizationMutation,
    DonorMutation,
    StockMutation,
    RequestMutation,
    AlertMutation,
    ConsultationMutation,
    ReportMutation,
    CampMutation,
    DriveMutation,
    NotificationPreferenceMutation,
    CalloutMutation,
    WebhookMutation,
    RewardsMutation,
    AccountEmailMutation,
    InvitationMutation,
    ErasureMutation,
    DeliveryMutation,
    TransfusionMutation,
    CareMutation,
    InsuranceMutation,
);

/// Every subscription, one object per domain.
#[derive(MergedSubscription, Default)]
pub struct SubscriptionRoot(AlertSubscription, CampSubscription, DeliverySubscription);

pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// The schema builder with the limits from the config; none of them is on by default in
/// async-graphql. Depth, complexity and the number of fields are counted by
/// [`Limits`](crate::graphql::limits::Limits) rather than async-graphql's own limits, which
/// ignore list sizes and `__typename` and hold introspection to the depth of other queries.
///
/// Websocket operations run on this schema. An HTTP request is only checked on it (parsed,
/// gated, limited and validated; [`CheckOnly`](crate::graphql::observe::CheckOnly) stops it
/// where execution would begin) and then runs on [`runner`].
pub fn builder(config: &Config) -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    base(config)
        .extension(crate::graphql::observe::Observe)
        .extension(crate::auth::mfa::MfaGate)
        .extension(crate::graphql::limits::Limits {
            max_fields: config.max_fields,
            max_depth: config.max_depth,
            max_complexity: config.max_complexity,
            introspection_depth_exempt: !config.is_production(),
        })
}

/// The schema an HTTP operation runs on once [`builder`]'s schema has checked it: the same
/// types and settings without extensions. With any extension installed, async-graphql
/// resolves every field through each extension's `resolve` hook (a boxed future per
/// extension) and looks the field's type up in the registry to describe it to them, even
/// when no extension overrides `resolve`; a page of 50 rows resolves some 500 fields.
pub fn runner(config: &Config) -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    // The checking schema ran every validation rule on the same document and variables.
    base(config).validation_mode(async_graphql::ValidationMode::Fast)
}

fn base(config: &Config) -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    let mut b = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .limit_recursive_depth(config.max_depth.max(32))
    .limit_directives(config.max_directives);
    if config.is_production() {
        b = b.disable_introspection().disable_suggestions();
    }
    b
}

/// The SDL of the schema, as checked in at `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .finish()
    .sdl()
}
