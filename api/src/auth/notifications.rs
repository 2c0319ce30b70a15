//! Who sees notification deliveries and preferences: the user they belong to, nobody else
//! (not an organization's admin, not a super admin, not an API client).

use super::Viewer;
use crate::error::{AppError, AppResult};
use uuid::Uuid;

/// The signed-in user acting on their own preferences.
pub fn own_user(viewer: &Viewer) -> AppResult<Uuid> {
    viewer.user_id().ok_or(AppError::Forbidden(
        "only a signed-in user has notification preferences",
    ))
}

/// Whether the caller may read the deliveries of a notification addressed to `recipient`.
pub fn sees_deliveries(viewer: &Viewer, recipient: Uuid) -> bool {
    viewer.user_id() == Some(recipient)
}
