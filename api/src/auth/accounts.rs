//! Who may invite, accept an invitation and erase a donor (DESIGN §7.5).

use super::{Rule, Viewer};
use crate::error::{AppError, AppResult};
use uuid::Uuid;

/// Inviting members to an organization, and listing its invitations: its admins (active
/// membership, organization approved) and super admins.
pub fn invites_for(org: Uuid) -> Rule {
    Rule::SuperAdminOrOrgAdmin { org: Some(org) }
}

/// Accepting an invitation for an email that already has an account: only that account,
/// signed in. (Whoever holds the token of an invitation to a new email creates the account.)
pub fn may_accept_as(viewer: &Viewer, account: Uuid) -> AppResult<()> {
    match viewer.user_id() {
        Some(id) if id == account => Ok(()),
        Some(_) => Err(AppError::Forbidden(
            "this invitation is for another account; sign in as its email's owner",
        )),
        None => Err(AppError::Unauthenticated(
            "this email has an account: sign in to accept the invitation",
        )),
    }
}

/// Erasing a donor: the donor themself (their own record) or a super admin.
pub fn may_erase_donor(viewer: &Viewer, donor_user: Option<Uuid>) -> AppResult<()> {
    if viewer.is_super_admin() {
        return Ok(());
    }
    match (viewer.user_id(), donor_user) {
        (Some(me), Some(owner)) if me == owner => Ok(()),
        (None, _) if matches!(viewer, Viewer::Anonymous { .. }) => {
            Err(AppError::Unauthenticated("sign in first"))
        }
        _ => Err(AppError::Forbidden(
            "only the donor or a super admin may erase a donor",
        )),
    }
}
