//! The permission matrix of the foundation operations: every kind of caller against every
//! operation, including what must be refused. "Allowed" means the caller got past the
//! permission layer: the inputs are chosen so that allowed calls then fail harmlessly on a
//! business rule (an invalid transition, an unknown user), leaving the state unchanged for
//! the next row.

use lifeflow_tests::{
    fixtures::api_client,
    matrix::{Matrix, Outcome::*, Row},
    *,
};
use serde_json::json;

const CALLERS: [&str; 9] = [
    "anonymous",
    "user",
    "other org admin",
    "ADMIN",
    "DOCTOR",
    "STAFF",
    "RADIOLOGIST",
    "super admin",
    "API client",
];

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
    let mut tokens: Vec<Option<String>> = vec![
        None,
        Some(app.signed_in("plain@x.example").await.access),
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
    let nobody = uuid::Uuid::new_v4().to_string();

    //                                  anon user other ADMIN DOC STAFF RAD  SA  client
    let matrix: Vec<Row<9>> = vec![
        ("me", "{ me { id } }".into(), json!({}), [U, A, A, A, A, A, A, A, F]),
        ("users", "{ users(first: 1) { totalCount } }".into(), json!({}), [U, F, F, F, F, F, F, A, F]),
        ("organizations", "{ organizations { totalCount } }".into(), json!({}), [U, A, A, A, A, A, A, A, A]),
        ("organization", "query($o: ID!) { organization(id: $o) { code } }".into(), json!({"o": org}), [U, A, A, A, A, A, A, A, A]),
        ("organization.members", "query($o: ID!) { organization(id: $o) { members { role } } }".into(), json!({"o": org}), [U, F, F, A, A, A, A, A, A]),
        ("auditLogs", "query($o: ID!) { auditLogs(filter: {organizationId: $o}) { totalCount } }".into(), json!({"o": org}), [U, F, F, A, F, F, F, A, F]),
        ("registerOrganization", "mutation($i: RegisterOrganizationInput!) { registerOrganization(input: $i) { organization { id } } }".into(),
            json!({"i": org_input("x", "NGO")}), [U, A, A, A, A, A, A, A, F]),
        ("approveOrganization", status("approveOrganization"), json!({"i": {"organizationId": org}}), [U, F, F, F, F, F, F, A, F]),
        ("rejectOrganization", status("rejectOrganization"), json!({"i": {"organizationId": org, "reason": "r"}}), [U, F, F, F, F, F, F, A, F]),
        ("suspendOrganization", status("suspendOrganization"), json!({"i": {"organizationId": pending, "reason": "r"}}), [U, F, F, F, F, F, F, A, F]),
        ("reinstateOrganization", status("reinstateOrganization"), json!({"i": {"organizationId": org}}), [U, F, F, F, F, F, F, A, F]),
        ("addMember", "mutation($i: AddMemberInput!) { addMember(input: $i) { membership { id } } }".into(),
            json!({"i": {"organizationId": org, "email": "nobody@nowhere.example", "role": "STAFF"}}), [U, F, F, A, F, F, F, F, F]),
        ("changeMemberRole", "mutation($i: ChangeMemberRoleInput!) { changeMemberRole(input: $i) { membership { id } } }".into(),
            json!({"i": {"organizationId": org, "userId": nobody, "role": "STAFF"}}), [U, F, F, A, F, F, F, F, F]),
        ("removeMember", "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { membership { id } } }".into(),
            json!({"i": {"organizationId": org, "userId": nobody}}), [U, F, F, A, F, F, F, F, F]),
        ("createApiClient", "mutation($i: CreateApiClientInput!) { createApiClient(input: $i) { token } }".into(),
            json!({"i": {"organizationId": org, "name": "x", "scopes": ["not-a-scope"]}}), [U, F, F, A, F, F, F, F, F]),
        ("revokeApiClient", "mutation($i: RevokeApiClientInput!) { revokeApiClient(input: $i) { apiClient { id } } }".into(),
            json!({"i": {"organizationId": org, "apiClientId": nobody}}), [U, F, F, A, F, F, F, F, F]),
        ("setUserActive", "mutation($i: SetUserActiveInput!) { setUserActive(input: $i) { user { id } } }".into(),
            json!({"i": {"userId": nobody, "isActive": true}}), [U, F, F, F, F, F, F, A, F]),
        ("changePassword", "mutation($i: ChangePasswordInput!) { changePassword(input: $i) { revokedSessions } }".into(),
            json!({"i": {"currentPassword": "not the password", "newPassword": "another long password"}}), [U, A, A, A, A, A, A, A, F]),
        ("mySessions", "{ mySessions { id } }".into(), json!({}), [U, A, A, A, A, A, A, A, F]),
        ("apiClients", "query($o: ID!) { apiClients(organizationId: $o) { totalCount } }".into(), json!({"o": org}), [U, F, F, A, F, F, F, A, F]),
        ("updateOrganization", "mutation($i: UpdateOrganizationInput!) { updateOrganization(input: $i) { organization { id } } }".into(),
            json!({"i": {"organizationId": org, "latitude": 1.0}}), [U, F, F, A, F, F, F, A, F]),
        ("updateMe", "mutation($i: UpdateMeInput!) { updateMe(input: $i) { user { id } } }".into(),
            json!({"i": {"timeZone": "Not/AZone"}}), [U, A, A, A, A, A, A, A, F]),
        ("revokeSession", "mutation($i: RevokeSessionInput!) { revokeSession(input: $i) { revoked } }".into(),
            json!({"i": {"sessionId": nobody}}), [U, A, A, A, A, A, A, A, F]),
        ("revokeOtherSessions", "mutation { revokeOtherSessions { revoked } }".into(), json!({}), [U, A, A, A, A, A, A, A, F]),
        ("enableMfa", "mutation { enableMfa { otpauthUri } }".into(), json!({}), [U, A, A, A, A, A, A, A, F]),
        ("confirmMfa", "mutation($i: ConfirmMfaInput!) { confirmMfa(input: $i) { recoveryCodes } }".into(),
            json!({"i": {"code": "not-a-code"}}), [U, A, A, A, A, A, A, A, F]),
        ("disableMfa", "mutation($i: DisableMfaInput!) { disableMfa(input: $i) { user { id } } }".into(),
            json!({"i": {"password": "not the password", "code": "000000"}}), [U, A, A, A, A, A, A, A, F]),
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
