//! Enums of deliveries, returns and transfusion outcomes (DESIGN §7.7).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

db_enum! {
    /// Where a delivery of issued units stands.
    pub enum BloodDeliveryStatus {
        /// Handed to the courier; no position reported yet.
        Dispatched = "DISPATCHED",
        /// On its way: at least one position reported.
        InTransit = "IN_TRANSIT",
        /// Received by the hospital.
        Delivered = "DELIVERED",
        /// Lost, damaged or turned back.
        Failed = "FAILED",
    }
}

impl BloodDeliveryStatus {
    /// Whether the delivery is over (no more positions, the tracking stream ends).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Delivered | Self::Failed)
    }
}

db_enum! {
    /// What happened to a unit given back by the hospital.
    pub enum ReturnOutcome {
        /// Back in the supplying bank's available stock.
        Restocked = "RESTOCKED",
        /// Outside the return window or the cold chain was broken.
        Discarded = "DISCARDED",
    }
}

db_enum! {
    /// A transfusion reaction, as haemovigilance classifies them.
    pub enum TransfusionReaction {
        None = "NONE",
        /// Febrile non-haemolytic reaction.
        Febrile = "FEBRILE",
        Allergic = "ALLERGIC",
        /// Haemolytic reaction (always serious).
        Hemolytic = "HEMOLYTIC",
        /// Transfusion-related acute lung injury (always serious).
        Trali = "TRALI",
        /// Transfusion-associated circulatory overload.
        Taco = "TACO",
        Other = "OTHER",
    }
}

db_enum! {
    /// How severe a transfusion reaction was.
    pub enum ReactionSeverity {
        Mild = "MILD",
        Moderate = "MODERATE",
        Severe = "SEVERE",
        LifeThreatening = "LIFE_THREATENING",
    }
}

/// Whether a reaction is reported to the supplying bank (haemovigilance): a severe or
/// life-threatening one, or any haemolytic reaction or TRALI.
pub fn is_serious(reaction: TransfusionReaction, severity: ReactionSeverity) -> bool {
    matches!(
        severity,
        ReactionSeverity::Severe | ReactionSeverity::LifeThreatening
    ) || matches!(
        reaction,
        TransfusionReaction::Hemolytic | TransfusionReaction::Trali
    )
}
