//! The permission matrix of the foundation operations: every kind of caller against every
//! operation, including what must be refused. "Allowed" means the caller got past the
//! permission layer: the inputs are chosen so that allowed calls then fail harmlessly on a
//! business rule (an invalid transition, an unknown user), leaving the state unchanged for
//! the next row.

use lifeflow_tests::{
    fixtures::{
        api_client,
        donors::{donor_input, register_donor},
        mfa::enrol_mfa,
    },
    matrix::{Matrix, Outcome::*, Row},
    *,
};
use serde_json::json;

const CALLERS: [&str; 11] = [
    "anonymous",
    "user",
    "donor",
    "other org admin",
    "ADMIN",
    "DOCTOR",
    "STAFF",
    "RADIOLOGIST",
    "super admin",
    "API client",
    "API client without the scope",
];

const ERASE: &str = "mutation($i: EraseDonorInput!) { eraseDonor(input: $i) { donorId erasedAt } }";

#[tokio::test]
async fn every_caller_against_every_foundation_operation() {
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let admin = app.signed_in("admin@a.example").await;
    let org = app.approved_org(&root, &admin, "HOSP-A", "HOSPITAL").await;
    let other = app.signed_in("admin@b.example").await;
    app.approved_org(&root, &other, "HOSP-B", "HOSPITAL").await;
    let applicant = app.signed_in("admin@p.example").await;
    let pending = app.pending_org(&applicant, "HOSP-P", "HOSPITAL").await;
    // A donor with an account (a column), and another whose record is already erased (so an
    // allowed `eraseDonor` then fails on the business rule, erasing nothing).
    let donor = app.signed_in("donor@x.example").await;
    register_donor(
        &app,
        &donor,
        donor_input(None, "Column Donor", "+919800000001"),
    )
    .await;
    let gone = app.signed_in("gone@x.example").await;
    let erased = register_donor(
        &app,
        &gone,
        donor_input(None, "Gone Donor", "+919800000002"),
    )
    .await;
    app.gql(Some(&root.access), ERASE, json!({"i": {"donorId": erased}}))
        .await
        .data();
    // A login halfway through its MFA step: `verifyMfa` with a malformed code is then refused
    // on the code alone.
    let enrolled = app.signed_in("mfa@x.example").await;
    enrol_mfa(&app, &enrolled).await;
    let mfa_token = app
        .gql(
            None,
            "mutation($i: LoginInput!) { login(input: $i) { mfaToken } }",
            json!({"i": {"email": enrolled.email, "password": PASSWORD}}),
        )
        .await
        .data()["login"]["mfaToken"]
        .as_str()
        .expect("mfaToken")
        .to_string();
    let mut tokens: Vec<Option<String>> = vec![
        None,
        Some(app.signed_in("plain@x.example").await.access),
        Some(donor.access.clone()),
        Some(other.access.clone()),
        Some(admin.access.clone()),
    ];
    for role in ["DOCTOR", "STAFF", "RADIOLOGIST"] {
        let s = app
            .signed_in(&format!("{}@a.example", role.to_lowercase()))
            .await;
        app.add_member(&admin, &org, &s.email, role).await;
        tokens.push(Some(s.access));
    }
    tokens.push(Some(root.access.clone()));
    let all_scopes = lifeflow::auth::Scope::ALL.map(lifeflow::auth::Scope::wire_name);
    tokens.push(Some(
        api_client(&app, &admin, &org, "HIS", &all_scopes)
            .await
            .token,
    ));
    tokens.push(Some(
        api_client(&app, &admin, &org, "LIS", &["stock:read"])
            .await
            .token,
    ));
    let nobody = uuid::Uuid::new_v4().to_string();

    // Columns: anon, user, donor, other org admin, ADMIN, DOCTOR, STAFF, RADIOLOGIST, super admin,
    // API client (every scope), API client without the scope (`stock:read` only).
    let matrix: Vec<Row<11>> = vec![
        ("me", "{ me { id } }".into(), json!({}), [U, A, A, A, A, A, A, A, A, F, F]),
        ("users", "{ users(first: 1) { totalCount } }".into(), json!({}), [U, F, F, F, F, F, F, F, A, F, F]),
        ("organizations", "{ organizations { totalCount } }".into(), json!({}), [U, A, A, A, A, A, A, A, A, A, F]),
        ("organization", "query($o: ID!) { organization(id: $o) { code } }".into(), json!({"o": org}), [U, A, A, A, A, A, A, A, A, A, F]),
        ("organization.members", "query($o: ID!) { organization(id: $o) { members { role } } }".into(), json!({"o": org}), [U, F, F, F, A, A, A, A, A, A, F]),
        ("auditLogs", "query($o: ID!) { auditLogs(filter: {organizationId: $o}) { totalCount } }".into(), json!({"o": org}), [U, F, F, F, A, F, F, F, A, F, F]),
        ("registerOrganization", "mutation($i: RegisterOrganizationInput!) { registerOrganization(input: $i) { organization { id } } }".into(),
            json!({"i": org_input("x", "NGO")}), [U, A, A, A, A, A, A, A, A, F, F]),
        ("approveOrganization", status("approveOrganization"), json!({"i": {"organizationId": org}}), [U, F, F, F, F, F, F, F, A, F, F]),
        ("rejectOrganization", status("rejectOrganization"), json!({"i": {"organizationId": org, "reason": "r"}}), [U, F, F, F, F, F, F, F, A, F, F]),
        ("suspendOrganization", status("suspendOrganization"), json!({"i": {"organizationId": pending, "reason": "r"}}), [U, F, F, F, F, F, F, F, A, F, F]),
        ("reinstateOrganization", status("reinstateOrganization"), json!({"i": {"organizationId": org}}), [U, F, F, F, F, F, F, F, A, F, F]),
        ("addMember", "mutation($i: AddMemberInput!) { addMember(input: $i) { membership { id } } }".into(),
            json!({"i": {"organizationId": org, "email": "nobody@nowhere.example", "role": "STAFF"}}), [U, F, F, F, A, F, F, F, F, F, F]),
        ("changeMemberRole", "mutation($i: ChangeMemberRoleInput!) { changeMemberRole(input: $i) { membership { id } } }".into(),
            json!({"i": {"organizationId": org, "userId": nobody, "role": "STAFF"}}), [U, F, F, F, A, F, F, F, F, F, F]),
        ("removeMember", "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { membership { id } } }".into(),
            json!({"i": {"organizationId": org, "userId": nobody}}), [U, F, F, F, A, F, F, F, F, F, F]),
        ("createApiClient", "mutation($i: CreateApiClientInput!) { createApiClient(input: $i) { token } }".into(),
            json!({"i": {"organizationId": org, "name": "x", "scopes": ["not-a-scope"]}}), [U, F, F, F, A, F, F, F, F, F, F]),
        ("revokeApiClient", "mutation($i: RevokeApiClientInput!) { revokeApiClient(input: $i) { apiClient { id } } }".into(),
            json!({"i": {"organizationId": org, "apiClientId": nobody}}), [U, F, F, F, A, F, F, F, F, F, F]),
        ("setUserActive", "mutation($i: SetUserActiveInput!) { setUserActive(input: $i) { user { id } } }".into(),
            json!({"i": {"userId": nobody, "isActive": true}}), [U, F, F, F, F, F, F, F, A, F, F]),
        ("changePassword", "mutation($i: ChangePasswordInput!) { changePassword(input: $i) { revokedSessions } }".into(),
            json!({"i": {"currentPassword": "not the password", "newPassword": "another long password"}}), [U, A, A, A, A, A, A, A, A, F, F]),
        ("mySessions", "{ mySessions { id } }".into(), json!({}), [U, A, A, A, A, A, A, A, A, F, F]),
        ("apiClients", "query($o: ID!) { apiClients(organizationId: $o) { totalCount } }".into(), json!({"o": org}), [U, F, F, F, A, F, F, F, A, F, F]),
        ("updateOrganization", "mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) { organization { id } } }".into(),
            json!({"i": {"organizationId": org, "latitude": 1.0}}), [U, F, F, F, A, F, F, F, A, F, F]),
        ("updateMe", "mutation($i: UpdateMeInput!) { updateMe(input: $i) { user { id } } }".into(),
            json!({"i": {"timeZone": "Not/AZone"}}), [U, A, A, A, A, A, A, A, A, F, F]),
        ("revokeSession", "mutation($i: RevokeSessionInput!) { revokeSession(input: $i) { revoked } }".into(),
            json!({"i": {"sessionId": nobody}}), [U, A, A, A, A, A, A, A, A, F, F]),
        ("revokeOtherSessions", "mutation { revokeOtherSessions { revoked } }".into(), json!({}), [U, A, A, A, A, A, A, A, A, F, F]),
        ("enableMfa", "mutation { enableMfa { otpauthUri } }".into(), json!({}), [U, A, A, A, A, A, A, A, A, F, F]),
        ("confirmMfa", "mutation($i: ConfirmMfaInput!) { confirmMfa(input: $i) { recoveryCodes } }".into(),
            json!({"i": {"code": "not-a-code"}}), [U, A, A, A, A, A, A, A, A, F, F]),
        ("disableMfa", "mutation($i: DisableMfaInput!) { disableMfa(input: $i) { user { id } } }".into(),
            json!({"i": {"password": "not the password", "code": "000000"}}), [U, A, A, A, A, A, A, A, A, F, F]),
        // Public: the code or token is the credential, so anyone may try one (allowed calls
        // then fail on the unknown code); a reset request answers the same for any email.
        ("verifyMfa", "mutation($i: VerifyMfaInput!) { verifyMfa(input: $i) { accessToken } }".into(),
            json!({"i": {"mfaToken": mfa_token, "code": "not-a-code"}}), [A, A, A, A, A, A, A, A, A, A, A]),
        ("verifyEmail", "mutation($i: VerifyEmailInput!) { verifyEmail(input: $i) { user { id } } }".into(),
            json!({"i": {"token": "not-a-code"}}), [A, A, A, A, A, A, A, A, A, A, A]),
        ("requestPasswordReset", "mutation($i: RequestPasswordResetInput!) { requestPasswordReset(input: $i) { accepted } }".into(),
            json!({"i": {"email": "nobody@nowhere.example"}}), [A, A, A, A, A, A, A, A, A, A, A]),
        ("resetPassword", "mutation($i: ResetPasswordInput!) { resetPassword(input: $i) { sessionsEnded } }".into(),
            json!({"i": {"token": "not-a-code", "newPassword": "another long password"}}), [A, A, A, A, A, A, A, A, A, A, A]),
        ("acceptInvitation", "mutation($i: AcceptInvitationInput!) { acceptInvitation(input: $i) { user { id } } }".into(),
            json!({"i": {"token": "not-a-code"}}), [A, A, A, A, A, A, A, A, A, A, A]),
        ("resendVerification", "mutation { resendVerification { sent } }".into(), json!({}), [U, A, A, A, A, A, A, A, A, F, F]),
        // An allowed invitation names an existing member: a conflict, nothing sent.
        ("inviteMember", "mutation($i: InviteMemberInput!) { inviteMember(input: $i) { invitation { id } } }".into(),
            json!({"i": {"organizationId": org, "email": "admin@a.example", "role": "STAFF"}}), [U, F, F, F, A, F, F, F, A, F, F]),
        ("invitations", "query($o: ID!) { invitations(organizationId: $o) { totalCount } }".into(), json!({"o": org}), [U, F, F, F, A, F, F, F, A, F, F]),
        // The donor column is another donor; an allowed erasure finds the record erased already.
        ("eraseDonor", ERASE.into(), json!({"i": {"donorId": erased}}), [U, F, F, F, F, F, F, F, A, F, F]),
    ];

    Matrix::new(CALLERS, tokens).assert(&app, &matrix).await;
    // Nothing in the matrix changed any organization's status.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM organizations WHERE status = 'APPROVED'")
            .await,
        2
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM organizations WHERE status = 'PENDING'")
            .await,
        1
    );
}

fn status(name: &str) -> String {
    format!(
        "mutation($i: OrganizationStatusInput!) {{ {name}(input: $i) {{ organization {{ id }} }} }}"
    )
}

#[tokio::test]
async fn public_operations_answer_anyone() {
    let app = spawn_app().await;
    let s = app.signed_in("pub@x.example").await;
    let r = app
        .gql(
            None,
            "mutation($t: String!) { refreshSession(input: {refreshToken: $t}) { accessToken } }",
            json!({"t": s.refresh}),
        )
        .await;
    assert!(r.data()["refreshSession"]["accessToken"].is_string());
    let r = app.gql(None, "{ __typename }", json!({})).await;
    assert_eq!(r.data()["__typename"], "QueryRoot");
}

#[tokio::test]
async fn an_api_client_reads_organizations_and_acts_on_alerts_only_with_those_scopes() {
    // Arrange: one client per scope question, of the same hospital.
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let admin = app.signed_in("admin@a.example").await;
    let org = app.approved_org(&root, &admin, "HOSP-A", "HOSPITAL").await;
    let mut tokens = vec![None];
    for scopes in [
        &["stock:read"][..],
        &["organizations:read"],
        &["alerts:read"],
        &["alerts:read", "alerts:write"],
    ] {
        let name = scopes.join(" ");
        tokens.push(Some(
            api_client(&app, &admin, &org, &name, scopes).await.token,
        ));
    }
    let nobody = uuid::Uuid::new_v4().to_string();
    let act = |name: &str| {
        format!("mutation($i: AlertActionInput!) {{ {name}(input: $i) {{ alert {{ id }} }} }}")
    };

    // Act / Assert: reading is not acting, and another grant is not this one. Allowed alert
    // actions then find no such alert.
    //                                              anon stock orgs alerts:read +write
    let matrix: Vec<Row<5>> = vec![
        (
            "organizations",
            "{ organizations { totalCount } }".into(),
            json!({}),
            [U, F, A, F, F],
        ),
        (
            "organization",
            "query($o: ID!) { organization(id: $o) { code } }".into(),
            json!({"o": org}),
            [U, F, A, F, F],
        ),
        (
            "organization.members",
            "query($o: ID!) { organization(id: $o) { members { role } } }".into(),
            json!({"o": org}),
            [U, F, A, F, F],
        ),
        (
            "alerts",
            "{ alerts { totalCount } }".into(),
            json!({}),
            [U, F, F, A, A],
        ),
        (
            "acknowledgeAlert",
            act("acknowledgeAlert"),
            json!({"i": {"alertId": nobody, "organizationId": org}}),
            [U, F, F, F, A],
        ),
        (
            "resolveAlert",
            act("resolveAlert"),
            json!({"i": {"alertId": nobody, "organizationId": org}}),
            [U, F, F, F, A],
        ),
    ];
    let callers = [
        "anonymous",
        "stock:read",
        "organizations:read",
        "alerts:read",
        "alerts:read+write",
    ];
    Matrix::new(callers, tokens).assert(&app, &matrix).await;
}
