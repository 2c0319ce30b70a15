//! Who reads which rewards: a donor reads their own (`myRewards`, and only theirs: points
//! tell when someone gave blood); leaderboards are open to every signed-in user but list
//! only donors who opted in, by the name they chose, and nothing else about them.

use super::Viewer;
use crate::{
    error::{AppError, AppResult},
    rewards::service::Ranked,
};
use entity::donor;
use uuid::Uuid;

/// The signed-in user whose own donor record rewards are about (API clients have none).
pub fn own_donor_user(viewer: &Viewer) -> AppResult<Uuid> {
    viewer
        .user_id()
        .ok_or(AppError::Forbidden("rewards belong to a signed-in donor"))
}

/// Which donors a leaderboard of `scope` ranks: the city or NGO named, else the caller's own
/// (from their donor record).
pub fn ranked(
    scope: crate::rewards::types::LeaderboardScope,
    city: Option<String>,
    ngo: Option<Uuid>,
    me: Option<&donor::Model>,
) -> AppResult<Ranked> {
    use crate::rewards::types::LeaderboardScope as S;
    match scope {
        S::Network => Ok(Ranked::Network),
        S::City => city
            .or_else(|| me.map(|d| d.city.clone()))
            .map(Ranked::City)
            .ok_or_else(|| AppError::bad_input("city", "name the city")),
        S::Ngo => ngo
            .or_else(|| me.and_then(|d| d.ngo_id))
            .map(Ranked::Ngo)
            .ok_or_else(|| AppError::bad_input("organizationId", "name the NGO")),
    }
}
