//! Invitations (DESIGN §7.5): an organization's admin invites an email; the mailed code is
//! redeemed once, for a new account or for the signed-in owner of an existing one.

use crate::email_flows::{code_in, mail_about};
use lifeflow_tests::{
    fixtures::*,
    mail::{SmtpServer, app_mailing},
    *,
};
use serde_json::json;

const INVITE: &str = "mutation($i: InviteMemberInput!) { inviteMember(input: $i) { invitation { id email role acceptedAt } } }";
const ACCEPT: &str = "mutation($i: AcceptInvitationInput!) { acceptInvitation(input: $i) { user { id email emailVerifiedAt } membership { role isActive } } }";

async fn invite(app: &TestApp, who: &Session, org: &str, email: &str, role: &str) -> Gql {
    app.gql(
        Some(&who.access),
        INVITE,
        json!({"i": {"organizationId": org, "email": email, "role": role}}),
    )
    .await
}

#[tokio::test]
async fn an_invitation_to_a_new_email_creates_a_verified_member_and_cannot_be_redeemed_twice() {
    // Arrange
    let smtp = SmtpServer::start().await;
    let app = app_mailing(&smtp, &[]).await;
    let root = app.super_admin().await;
    let bank = org_north(
        &app,
        &root,
        "BANK-INV",
        "BLOOD_BANK",
        "admin@inv.example",
        1.0,
    )
    .await;
    invite(&app, &bank.admin, &bank.id, "Nurse@Inv.example", "STAFF")
        .await
        .data();
    let mail = mail_about(&smtp, "nurse@inv.example", "invites you", 1).await;
    let code = code_in(&mail);
    let input = json!({"i": {"token": code, "fullName": "New Nurse", "password": PASSWORD}});

    // Act
    let first = app.gql(None, ACCEPT, input.clone()).await;
    let second = app.gql(None, ACCEPT, input).await;

    // Assert: the account exists, verified, a STAFF member; the second redemption fails.
    let accepted = &first.data()["acceptInvitation"];
    assert_eq!(accepted["user"]["email"], "nurse@inv.example");
    assert!(accepted["user"]["emailVerifiedAt"].is_string());
    assert_eq!(accepted["membership"]["role"], "STAFF");
    assert!(mail.body().contains("/invitations/accept?token="));
    assert_eq!(second.code(), Some("BAD_USER_INPUT"));
    assert_eq!(second.field(), Some("input.token"));
    let nurse = app.login("nurse@inv.example", PASSWORD).await;
    let me = app
        .gql(
            Some(&nurse.access),
            "{ me { memberships { role } } }",
            json!({}),
        )
        .await;
    assert_eq!(me.data()["me"]["memberships"][0]["role"], "STAFF");
    let listed = app
        .gql(
            Some(&bank.admin.access),
            "query($o: ID!) { invitations(organizationId: $o) { edges { node { email acceptedAt } } } }",
            json!({"o": bank.id}),
        )
        .await;
    let node = &listed.data()["invitations"]["edges"][0]["node"];
    assert_eq!(node["email"], "nurse@inv.example");
    assert!(node["acceptedAt"].is_string());
}

#[tokio::test]
async fn an_invitation_for_an_existing_account_is_accepted_only_by_that_account_signed_in() {
    // Arrange
    let smtp = SmtpServer::start().await;
    let app = app_mailing(&smtp, &[]).await;
    let root = app.super_admin().await;
    let bank = org_north(
        &app,
        &root,
        "BANK-EX",
        "BLOOD_BANK",
        "admin@ex.example",
        1.0,
    )
    .await;
    let doctor = app.signed_in("doctor@ex.example").await;
    let stranger = app.signed_in("stranger@ex.example").await;
    invite(&app, &root, &bank.id, &doctor.email, "DOCTOR")
        .await
        .data();
    let code = code_in(&mail_about(&smtp, &doctor.email, "invites you", 1).await);
    let input = json!({"i": {"token": code}});

    // Act
    let anonymous = app.gql(None, ACCEPT, input.clone()).await;
    let other = app.gql(Some(&stranger.access), ACCEPT, input.clone()).await;
    let owner = app.gql(Some(&doctor.access), ACCEPT, input.clone()).await;

    // Assert
    assert_eq!(anonymous.code(), Some("UNAUTHENTICATED"));
    assert_eq!(other.code(), Some("FORBIDDEN"));
    let accepted = &owner.data()["acceptInvitation"];
    assert_eq!(accepted["user"]["id"], doctor.user_id.as_str());
    assert_eq!(accepted["membership"]["role"], "DOCTOR");
}

#[tokio::test]
async fn only_the_organizations_admins_and_super_admins_invite() {
    // Arrange
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let bank = org_north(
        &app,
        &root,
        "BANK-NA",
        "BLOOD_BANK",
        "admin@na.example",
        1.0,
    )
    .await;
    let other = org_north(
        &app,
        &root,
        "BANK-OT",
        "BLOOD_BANK",
        "admin@ot.example",
        2.0,
    )
    .await;
    let staff = app.signed_in("staff@na.example").await;
    app.add_member(&bank.admin, &bank.id, &staff.email, "STAFF")
        .await;

    // Act
    let by_staff = invite(&app, &staff, &bank.id, "x@na.example", "STAFF").await;
    let by_other_admin = invite(&app, &other.admin, &bank.id, "y@na.example", "STAFF").await;
    let anonymous = app
        .gql(
            None,
            INVITE,
            json!({"i": {"organizationId": bank.id, "email": "z@na.example", "role": "STAFF"}}),
        )
        .await;
    let by_admin = invite(&app, &bank.admin, &bank.id, "w@na.example", "ADMIN").await;
    let by_root = invite(&app, &root, &bank.id, "v@na.example", "STAFF").await;
    let member_again = invite(&app, &bank.admin, &bank.id, &staff.email, "STAFF").await;
    let list_by_staff = app
        .gql(
            Some(&staff.access),
            "query($o: ID!) { invitations(organizationId: $o) { totalCount } }",
            json!({"o": bank.id}),
        )
        .await;

    // Assert
    assert_eq!(by_staff.code(), Some("FORBIDDEN"));
    assert_eq!(by_other_admin.code(), Some("FORBIDDEN"));
    assert_eq!(anonymous.code(), Some("UNAUTHENTICATED"));
    assert_eq!(
        by_admin.data()["inviteMember"]["invitation"]["role"],
        "ADMIN"
    );
    assert_eq!(
        by_root.data()["inviteMember"]["invitation"]["role"],
        "STAFF"
    );
    assert_eq!(member_again.code(), Some("CONFLICT"));
    assert_eq!(list_by_staff.code(), Some("FORBIDDEN"));
}

#[tokio::test]
async fn an_expired_invitation_is_refused() {
    // Arrange: invitations live zero seconds.
    let smtp = SmtpServer::start().await;
    let app = app_mailing(&smtp, &[("INVITATION_TTL_SECS", "0")]).await;
    let root = app.super_admin().await;
    let bank = org_north(
        &app,
        &root,
        "BANK-EXP",
        "BLOOD_BANK",
        "admin@exp.example",
        1.0,
    )
    .await;
    invite(&app, &bank.admin, &bank.id, "late@exp.example", "STAFF")
        .await
        .data();
    let code = code_in(&mail_about(&smtp, "late@exp.example", "invites you", 1).await);

    // Act
    let r = app
        .gql(
            None,
            ACCEPT,
            json!({"i": {"token": code, "fullName": "Late", "password": PASSWORD}}),
        )
        .await;

    // Assert
    assert_eq!(r.code(), Some("BAD_USER_INPUT"));
    let accounts = app
        .count("SELECT COUNT(*) FROM users WHERE email = 'late@exp.example'")
        .await;
    assert_eq!(accounts, 0);
}
