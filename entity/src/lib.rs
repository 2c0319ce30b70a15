//! sea-orm entities of LifeFlow: one module per table, plus the enums they share with the API.
//!
//! Enums are stored as strings (`SCREAMING_SNAKE_CASE`) so both SQLite and Postgres hold the
//! same values, and they derive the GraphQL enum too since the wire names are identical.

/// Declares a string-stored enum that is also a GraphQL enum.
macro_rules! db_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:literal,)+ }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum,
            async_graphql::Enum, Serialize, Deserialize,
        )]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
        pub enum $name {
            $($(#[$vmeta])* #[sea_orm(string_value = $value)] $variant,)+
        }
    };
}

// Table modules: the derive macros generate undocumented items (Column, ActiveModel, ...),
// and the fields are documented where the API exposes them.
#[allow(missing_docs)]
pub mod account_token;
#[allow(missing_docs)]
pub mod ai_analysis;
#[allow(missing_docs)]
pub mod alert;
#[allow(missing_docs)]
pub mod alert_recipient;
#[allow(missing_docs)]
pub mod api_client;
#[allow(missing_docs)]
pub mod audit_log;
#[allow(missing_docs)]
pub mod availability_exception;
#[allow(missing_docs)]
pub mod availability_rule;
#[allow(missing_docs)]
pub mod blood_request;
#[allow(missing_docs)]
pub mod blood_request_decline;
#[allow(missing_docs)]
pub mod blood_stock_count;
#[allow(missing_docs)]
pub mod blood_transfer;
#[allow(missing_docs)]
pub mod blood_transfer_unit;
#[allow(missing_docs)]
pub mod blood_unit;
#[allow(missing_docs)]
pub mod blood_unit_event;
#[allow(missing_docs)]
pub mod blood_unit_test;
mod by_position;
#[allow(missing_docs)]
pub mod callout;
#[allow(missing_docs)]
pub mod callout_answer;
#[allow(missing_docs)]
pub mod camp;
pub mod camp_enums;
#[allow(missing_docs)]
pub mod camp_registration;
#[allow(missing_docs)]
pub mod camp_slot;
#[allow(missing_docs)]
pub mod care_call;
pub mod care_enums;
#[allow(missing_docs)]
pub mod consultation;
#[allow(missing_docs)]
pub mod consultation_rating;
#[allow(missing_docs)]
pub mod coverage;
#[allow(missing_docs)]
pub mod delivery;
pub mod delivery_enums;
#[allow(missing_docs)]
pub mod delivery_position;
#[allow(missing_docs)]
pub mod doctor;
#[allow(missing_docs)]
pub mod doctor_accepted_plan;
#[allow(missing_docs)]
pub mod donation;
#[allow(missing_docs)]
pub mod donor;
#[allow(missing_docs)]
pub mod donor_reward_setting;
#[allow(missing_docs)]
pub mod drive;
pub mod enums;
pub mod hook_enums;
#[allow(missing_docs)]
pub mod idempotency_key;
#[allow(missing_docs)]
pub mod insurance_plan;
#[allow(missing_docs)]
pub mod invitation;
#[allow(missing_docs)]
pub mod medical_history;
#[allow(missing_docs)]
pub mod medical_report;
#[allow(missing_docs)]
pub mod membership;
#[allow(missing_docs)]
pub mod mfa_challenge;
#[allow(missing_docs)]
pub mod mfa_recovery_code;
#[allow(missing_docs)]
pub mod notification;
#[allow(missing_docs)]
pub mod notification_preference;
#[allow(missing_docs)]
pub mod organization;
#[allow(missing_docs)]
pub mod outbox_delivery;
pub mod outbox_enums;
#[allow(missing_docs)]
pub mod payment;
#[allow(missing_docs)]
pub mod prescription;
#[allow(missing_docs)]
pub mod report_image;
#[allow(missing_docs)]
pub mod report_review;
pub mod reward_enums;
#[allow(missing_docs)]
pub mod reward_point;
#[allow(missing_docs)]
pub mod risk_flag;
pub mod sealed;
#[allow(missing_docs)]
pub mod session;
#[allow(missing_docs)]
pub mod stock_threshold;
#[allow(missing_docs)]
pub mod transfusion;
#[allow(missing_docs)]
pub mod unit_return;
#[allow(missing_docs)]
pub mod user;
#[allow(missing_docs)]
pub mod webhook_endpoint;
#[allow(missing_docs)]
pub mod webhook_response;

pub use account_token::TokenPurpose;
pub use camp_enums::*;
pub use care_enums::*;
pub use delivery_enums::*;
pub use enums::*;
pub use hook_enums::*;
pub use outbox_enums::*;
pub use reward_enums::*;
