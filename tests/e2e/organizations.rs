//! Organizations: registration, approval, memberships, API clients.

use lifeflow_tests::*;
use serde_json::{Value, json};

const STATUS: &str = "mutation($i: OrganizationStatusInput!) {
  approveOrganization(input: $i) { organization { status } } }";

fn status_mutation(name: &str) -> String {
    format!(
        "mutation($i: OrganizationStatusInput!) {{ {name}(input: $i) {{ organization {{ status approvedAt suspendedAt }} }} }}"
    )
}

#[tokio::test]
async fn an_organization_is_registered_approved_and_then_its_admin_acts_for_it() {
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let admin = app.signed_in("admin@hospital.example").await;
    let nurse = app.signed_in("nurse@hospital.example").await;
    // Registered: PENDING, and its admin cannot act for it yet.
    let org = app.pending_org(&admin, "HOSP-ONE", "HOSPITAL").await;
    let add = "mutation($i: AddMemberInput!) { addMember(input: $i) { membership { role user { email } } } }";
    let vars = json!({"i": {"organizationId": org, "email": nurse.email, "role": "STAFF"}});
    assert_eq!(
        app.gql(Some(&admin.access), add, vars.clone()).await.code(),
        Some("FORBIDDEN")
    );
    // Approved by a super admin.
    let r = app
        .gql(
            Some(&root.access),
            STATUS,
            json!({"i": {"organizationId": org}}),
        )
        .await;
    assert_eq!(
        r.data()["approveOrganization"]["organization"]["status"],
        "APPROVED"
    );
    // Now the admin adds a member, who sees the organization among their memberships.
    let r = app.gql(Some(&admin.access), add, vars).await;
    assert_eq!(
        r.data()["addMember"]["membership"]["user"]["email"],
        nurse.email.as_str()
    );
    let me = app
        .gql(
            Some(&nurse.access),
            "{ me { memberships { role organization { code } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        me.data()["me"]["memberships"][0]["organization"]["code"],
        "HOSP-ONE"
    );
    assert_eq!(me.data()["me"]["memberships"][0]["role"], "STAFF");
}

#[tokio::test]
async fn each_status_move_is_checked_and_others_are_invalid_transitions() {
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let admin = app.signed_in("a@bank.example").await;
    let org = app.pending_org(&admin, "BB-ONE", "BLOOD_BANK").await;
    let run = |name: &str, reason: Option<&str>| {
        let q = status_mutation(name);
        let vars = json!({"i": {"organizationId": org, "reason": reason}});
        let token = root.access.clone();
        let app = &app;
        async move { app.gql(Some(&token), &q, vars).await }
    };
    // From PENDING only approve and reject are allowed.
    assert_eq!(
        run("suspendOrganization", Some("audit")).await.code(),
        Some("INVALID_TRANSITION")
    );
    assert_eq!(
        run("reinstateOrganization", None).await.code(),
        Some("INVALID_TRANSITION")
    );
    // Reject and suspend need a reason.
    assert_eq!(
        run("rejectOrganization", None).await.field(),
        Some("input.reason")
    );
    let r = run("approveOrganization", None).await;
    assert!(r.data()["approveOrganization"]["organization"]["approvedAt"].is_string());
    // From APPROVED: approve, reject and reinstate are invalid; suspend works.
    for name in ["approveOrganization", "reinstateOrganization"] {
        assert_eq!(
            run(name, None).await.code(),
            Some("INVALID_TRANSITION"),
            "{name}"
        );
    }
    assert_eq!(
        run("rejectOrganization", Some("late")).await.code(),
        Some("INVALID_TRANSITION")
    );
    let r = run("suspendOrganization", Some("licence lapsed")).await;
    assert_eq!(
        r.data()["suspendOrganization"]["organization"]["status"],
        "SUSPENDED"
    );
    assert_eq!(
        run("suspendOrganization", Some("again")).await.code(),
        Some("INVALID_TRANSITION")
    );
    let r = run("reinstateOrganization", None).await;
    assert_eq!(
        r.data()["reinstateOrganization"]["organization"]["status"],
        "APPROVED"
    );
    assert!(r.data()["reinstateOrganization"]["organization"]["suspendedAt"].is_null());
    // A rejected organization stays rejected.
    let other = app.pending_org(&admin, "BB-TWO", "BLOOD_BANK").await;
    let reject = status_mutation("rejectOrganization");
    let r = app
        .gql(
            Some(&root.access),
            &reject,
            json!({"i": {"organizationId": other, "reason": "no licence"}}),
        )
        .await;
    assert_eq!(
        r.data()["rejectOrganization"]["organization"]["status"],
        "REJECTED"
    );
    let approve = status_mutation("approveOrganization");
    let r = app
        .gql(
            Some(&root.access),
            &approve,
            json!({"i": {"organizationId": other}}),
        )
        .await;
    assert_eq!(r.code(), Some("INVALID_TRANSITION"));
}

#[tokio::test]
async fn members_of_a_suspended_organization_cannot_act_for_it() {
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let admin = app.signed_in("a@ngo.example").await;
    let helper = app.signed_in("h@ngo.example").await;
    let org = app.approved_org(&root, &admin, "NGO-ONE", "NGO").await;
    let r = app
        .gql(
            Some(&root.access),
            &status_mutation("suspendOrganization"),
            json!({"i": {"organizationId": org, "reason": "fraud report"}}),
        )
        .await;
    r.data();
    let add = "mutation($i: AddMemberInput!) { addMember(input: $i) { membership { id } } }";
    let r = app
        .gql(
            Some(&admin.access),
            add,
            json!({"i": {"organizationId": org, "email": helper.email, "role": "STAFF"}}),
        )
        .await;
    assert_eq!(r.code(), Some("FORBIDDEN"));
}

#[tokio::test]
async fn an_organization_never_loses_its_last_admin() {
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let admin = app.signed_in("only@org.example").await;
    let org = app
        .approved_org(&root, &admin, "HOSP-LAST", "HOSPITAL")
        .await;
    let demote = "mutation($i: ChangeMemberRoleInput!) { changeMemberRole(input: $i) { membership { role } } }";
    let r = app
        .gql(
            Some(&admin.access),
            demote,
            json!({"i": {"organizationId": org, "userId": admin.user_id, "role": "STAFF"}}),
        )
        .await;
    assert_eq!(r.code(), Some("CONFLICT"));
    let remove =
        "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { membership { isActive } } }";
    let r = app
        .gql(
            Some(&admin.access),
            remove,
            json!({"i": {"organizationId": org, "userId": admin.user_id}}),
        )
        .await;
    assert_eq!(r.code(), Some("CONFLICT"));
    // With a second admin, the first may step down.
    let second = app.signed_in("second@org.example").await;
    app.add_member(&admin, &org, &second.email, "ADMIN").await;
    let r = app
        .gql(
            Some(&admin.access),
            demote,
            json!({"i": {"organizationId": org, "userId": admin.user_id, "role": "DOCTOR"}}),
        )
        .await;
    assert_eq!(r.data()["changeMemberRole"]["membership"]["role"], "DOCTOR");
}

#[tokio::test]
async fn two_admins_removing_each_other_at_once_leave_one_admin() {
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let a = app.signed_in("a@pair.example").await;
    let b = app.signed_in("b@pair.example").await;
    let org = app.approved_org(&root, &a, "HOSP-PAIR", "HOSPITAL").await;
    app.add_member(&a, &org, &b.email, "ADMIN").await;
    let remove =
        "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { membership { isActive } } }";
    let (ra, rb) = tokio::join!(
        app.gql(
            Some(&a.access),
            remove,
            json!({"i": {"organizationId": org, "userId": b.user_id}})
        ),
        app.gql(
            Some(&b.access),
            remove,
            json!({"i": {"organizationId": org, "userId": a.user_id}})
        ),
    );
    let ok = [&ra, &rb].iter().filter(|r| r.code().is_none()).count();
    assert!(
        ok <= 1,
        "both removals succeeded: {} / {}",
        ra.body,
        rb.body
    );
    let admins = app
        .count(&format!(
            "SELECT COUNT(*) FROM memberships WHERE role = 'ADMIN' AND is_active = {} ",
            if app.test_db.is_postgres() {
                "true"
            } else {
                "1"
            }
        ))
        .await;
    assert!(admins >= 1);
}

#[tokio::test]
async fn an_api_client_token_is_shown_once_scoped_and_revocable() {
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let admin = app.signed_in("it@hospital.example").await;
    let org = app
        .approved_org(&root, &admin, "HOSP-HIS", "HOSPITAL")
        .await;
    let create = "mutation($i: CreateApiClientInput!) { createApiClient(input: $i) { token apiClient { id scopes tokenPrefix } } }";
    let bad = app
        .gql(
            Some(&admin.access),
            create,
            json!({"i": {"organizationId": org, "name": "HIS", "scopes": ["root:everything"]}}),
        )
        .await;
    assert_eq!(bad.field(), Some("input.scopes"));
    let r = app.gql(Some(&admin.access), create, json!({"i": {"organizationId": org, "name": "HIS", "scopes": ["blood-requests:write", "organizations:read"]}})).await;
    let token = r.data()["createApiClient"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    let client_id = r.data()["createApiClient"]["apiClient"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert!(
        token.starts_with(
            r.data()["createApiClient"]["apiClient"]["tokenPrefix"]
                .as_str()
                .expect("prefix")
        )
    );
    // Only the hash is stored.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM api_clients WHERE token_hash = '{token}'"
        ))
        .await,
        0
    );
    // The token acts for its organization: with `organizations:read` it sees organizations,
    // but it is no user.
    let orgs = app
        .gql(
            Some(&token),
            "{ organizations { edges { node { code } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        orgs.data()["organizations"]["edges"][0]["node"]["code"],
        "HOSP-HIS"
    );
    assert_eq!(
        app.gql(Some(&token), "{ me { id } }", json!({}))
            .await
            .code(),
        Some("FORBIDDEN")
    );
    // Revoked, it is refused.
    let revoke = "mutation($i: RevokeApiClientInput!) { revokeApiClient(input: $i) { apiClient { revokedAt } } }";
    let r = app
        .gql(
            Some(&admin.access),
            revoke,
            json!({"i": {"organizationId": org, "apiClientId": client_id}}),
        )
        .await;
    assert!(r.data()["revokeApiClient"]["apiClient"]["revokedAt"].is_string());
    let orgs = app
        .gql(
            Some(&token),
            "{ organizations { edges { node { code } } } }",
            json!({}),
        )
        .await;
    assert_eq!(orgs.code(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn an_expired_api_token_is_refused() {
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let admin = app.signed_in("it@bank.example").await;
    let org = app
        .approved_org(&root, &admin, "BB-EXP", "BLOOD_BANK")
        .await;
    let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let create = "mutation($i: CreateApiClientInput!) { createApiClient(input: $i) { token } }";
    let r = app.gql(Some(&admin.access), create, json!({"i": {"organizationId": org, "name": "x", "scopes": ["stock:read"], "expiresAt": past}})).await;
    assert_eq!(r.field(), Some("input.expiresAt"));
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(1)).to_rfc3339();
    let r = app.gql(Some(&admin.access), create, json!({"i": {"organizationId": org, "name": "x", "scopes": ["stock:read"], "expiresAt": soon}})).await;
    let token = r.data()["createApiClient"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let r = app
        .gql(Some(&token), "{ organizations { totalCount } }", json!({}))
        .await;
    assert_eq!(r.code(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn a_pending_organization_is_visible_only_to_its_members_and_super_admins() {
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let admin = app.signed_in("p@org.example").await;
    let stranger = app.signed_in("s@org.example").await;
    let org = app.pending_org(&admin, "HOSP-PEND", "HOSPITAL").await;
    let q = "query($id: ID!) { organization(id: $id) { code status } }";
    assert_eq!(
        app.gql(Some(&stranger.access), q, json!({"id": org}))
            .await
            .code(),
        Some("NOT_FOUND")
    );
    assert_eq!(
        app.gql(Some(&admin.access), q, json!({"id": org}))
            .await
            .data()["organization"]["status"],
        "PENDING"
    );
    assert_eq!(
        app.gql(Some(&root.access), q, json!({"id": org}))
            .await
            .data()["organization"]["code"],
        "HOSP-PEND"
    );
    assert_eq!(
        app.gql(None, q, json!({"id": org})).await.code(),
        Some("UNAUTHENTICATED")
    );
}

#[tokio::test]
async fn bad_registration_input_names_the_field_and_writes_nothing() {
    let app = spawn_app().await;
    let admin = app.signed_in("x@org.example").await;
    let q = "mutation($i: RegisterOrganizationInput!) { registerOrganization(input: $i) { organization { id } } }";
    let cases: Vec<(Value, &str)> = vec![
        (json!({"code": "x"}), "input.code"),
        (json!({"latitude": 91.0}), "input.latitude"),
        (json!({"longitude": -181.0}), "input.longitude"),
        (json!({"country": "India"}), "input.country"),
        (json!({"email": "nope"}), "input.email"),
        (json!({"name": "  "}), "input.name"),
    ];
    for (patch, field) in cases {
        let mut input = org_input("HOSP-OK", "HOSPITAL");
        for (k, v) in patch.as_object().expect("obj") {
            input[k] = v.clone();
        }
        let r = app.gql(Some(&admin.access), q, json!({"i": input})).await;
        assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{field}");
        assert_eq!(r.field(), Some(field));
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM organizations").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM memberships").await, 0);
    // A duplicate code is a conflict.
    app.pending_org(&admin, "HOSP-OK", "HOSPITAL").await;
    let r = app
        .gql(
            Some(&admin.access),
            q,
            json!({"i": org_input("hosp-ok", "HOSPITAL")}),
        )
        .await;
    assert_eq!(r.code(), Some("CONFLICT"));
}

#[tokio::test]
async fn listing_organizations_costs_the_same_statements_for_5_or_50_and_under_load() {
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let q = "{ organizations(first: 50) { edges { node { members { user { email } } } } } }";
    let mut counts = Vec::new();
    for target in [5usize, 50] {
        let have = app.count("SELECT COUNT(*) FROM organizations").await as usize;
        for i in have..target {
            let admin = app.signed_in(&format!("admin{i}@n1.example")).await;
            let org = app
                .approved_org(&root, &admin, &format!("ORG-{i:03}"), "HOSPITAL")
                .await;
            let staff = app.signed_in(&format!("staff{i}@n1.example")).await;
            app.add_member(&admin, &org, &staff.email, "STAFF").await;
        }
        let r = app.gql(Some(&root.access), q, json!({})).await;
        assert_eq!(
            r.data()["organizations"]["edges"].as_array().map(Vec::len),
            Some(target)
        );
        assert_eq!(
            r.data()["organizations"]["edges"][0]["node"]["members"]
                .as_array()
                .map(Vec::len),
            Some(2)
        );
        counts.push(r.statements());
    }
    assert_eq!(
        counts[0], counts[1],
        "statements grew with the list: {counts:?}"
    );
    let concurrent =
        futures_util::future::join_all((0..32).map(|_| app.gql(Some(&root.access), q, json!({}))))
            .await;
    for r in &concurrent {
        assert_eq!(r.statements(), counts[0], "statements changed under load");
    }
}

#[tokio::test]
async fn the_demo_seed_loads_an_approved_network_and_can_run_twice() {
    let app = spawn_app().await;
    lifeflow::seed::run(&app.config, &app.db)
        .await
        .expect("seed");
    lifeflow::seed::run(&app.config, &app.db)
        .await
        .expect("seed again");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM organizations WHERE status = 'APPROVED'")
            .await,
        5
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE platform_role = 'SUPER_ADMIN'")
            .await,
        1
    );
    let kinds = app
        .count("SELECT COUNT(DISTINCT kind) FROM organizations")
        .await;
    assert_eq!(kinds, 3);
    // Telehealth and imaging: a verified doctor with hours, a booking, a pending X-ray.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM doctors WHERE is_verified")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM availability_rules").await,
        5
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM consultations").await, 1);
    // Camps and drives: an accepted drive and the camp answering it, with its slots.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM drives WHERE status = 'ACCEPTED'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM camps WHERE drive_id IS NOT NULL")
            .await,
        1
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM camp_slots").await, 14);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM medical_reports WHERE status = 'PENDING'")
            .await,
        1
    );
}

#[tokio::test]
async fn members_and_clients_of_a_suspended_organization_lose_read_access() {
    // Arrange: a hospital with an admin, a staff member and a partner system, all reading.
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let admin = app.signed_in("admin@hospital.example").await;
    let org = app.approved_org(&root, &admin, "HOSP-S", "HOSPITAL").await;
    let staff = app.signed_in("staff@hospital.example").await;
    app.add_member(&admin, &org, &staff.email, "STAFF").await;
    let client = lifeflow_tests::fixtures::api_client(
        &app,
        &admin,
        &org,
        "HIS",
        &["blood-requests:read", "organizations:read"],
    )
    .await;
    let members = "query($o: ID!) { organization(id: $o) { status members { role } } }";
    let audit = "query($o: ID!) { auditLogs(filter: {organizationId: $o}) { totalCount } }";
    let requests = "{ bloodRequests { totalCount } }";
    let vars = json!({"o": org});
    assert!(
        app.gql(Some(&staff.access), members, vars.clone())
            .await
            .code()
            .is_none()
    );
    assert!(
        app.gql(Some(&admin.access), audit, vars.clone())
            .await
            .code()
            .is_none()
    );
    assert!(
        app.gql(Some(&client.token), requests, json!({}))
            .await
            .code()
            .is_none()
    );

    // Act
    let r = app
        .gql(
            Some(&root.access),
            &status_mutation("suspendOrganization"),
            json!({"i": {"organizationId": org, "reason": "licence lapsed"}}),
        )
        .await;
    assert!(r.code().is_none(), "{:?}", r.body);

    // Assert: the profile and its status stay visible to members; nothing else does.
    let profile = app
        .gql(
            Some(&staff.access),
            "query($o: ID!) { organization(id: $o) { status } }",
            vars.clone(),
        )
        .await;
    assert_eq!(profile.data()["organization"]["status"], "SUSPENDED");
    let r = app.gql(Some(&staff.access), members, vars.clone()).await;
    assert_eq!(r.code(), Some("FORBIDDEN"), "{:?}", r.body);
    let r = app.gql(Some(&admin.access), audit, vars.clone()).await;
    assert_eq!(r.code(), Some("FORBIDDEN"), "{:?}", r.body);
    let r = app.gql(Some(&client.token), requests, json!({})).await;
    assert_eq!(r.code(), Some("UNAUTHENTICATED"), "{:?}", r.body);
}
