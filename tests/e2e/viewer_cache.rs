//! The viewer cache stays right (issue 14): each instance keeps its callers' viewers in
//! memory, and every change to what a viewer holds reaches the cache by its event. A caller
//! whose viewer is cached loses (or gains) access on the very next request after the change
//! returns on the instance that made it, and on another instance sharing Redis as soon as the
//! event arrives there.
//!
//! Every test first makes a request that caches the caller's viewer, so only the
//! change's event can make the next request see the change: the cache keeps a viewer 30
//! seconds, far longer than any of these tests waits.

use lifeflow_tests::{fixtures::*, *};
use serde_json::{Value, json};
use std::time::Duration;

const UNITS: &str = "query($b: ID!) { bloodUnits(filter: {bloodBankId: $b}) { totalCount } }";
const AUDIT: &str = "query($o: ID!) { auditLogs(filter: {organizationId: $o}) { totalCount } }";
const ME: &str = "{ me { id } }";
const REMOVE: &str =
    "mutation($i: RemoveMemberInput!) { removeMember(input: $i) { membership { isActive } } }";
const CHANGE_ROLE: &str =
    "mutation($i: ChangeMemberRoleInput!) { changeMemberRole(input: $i) { membership { role } } }";
const DEACTIVATE: &str =
    "mutation($i: SetUserActiveInput!) { setUserActive(input: $i) { user { isActive } } }";
const SUSPEND: &str = "mutation($i: OrganizationStatusInput!) { suspendOrganization(input: $i) { organization { status } } }";
const REINSTATE: &str = "mutation($i: OrganizationStatusInput!) { reinstateOrganization(input: $i) { organization { status } } }";
const APPROVE: &str = "mutation($i: OrganizationStatusInput!) { approveOrganization(input: $i) { organization { status } } }";
const REVOKE: &str = "mutation($i: RevokeApiClientInput!) { revokeApiClient(input: $i) { apiClient { revokedAt } } }";

/// A blood bank with its admin.
async fn bank(app: &TestApp, root: &Session, code: &str) -> Org {
    org_north(
        app,
        root,
        code,
        "BLOOD_BANK",
        &format!("admin@{}.example", code.to_lowercase()),
        1.0,
    )
    .await
}

/// The error code of a response, or `"OK"` when it has data and no error.
fn outcome(r: &Gql) -> String {
    r.code().map_or_else(|| "OK".to_string(), str::to_string)
}

/// `token` reads the bank's units: `"OK"`, or the error code.
async fn reads_units(app: &TestApp, token: &str, bank: &str) -> String {
    outcome(&app.gql(Some(token), UNITS, json!({"b": bank})).await)
}

/// `token` reads the organization's audit trail (its admins only): `"OK"`, or the code.
async fn reads_audit(app: &TestApp, token: &str, org: &str) -> String {
    outcome(&app.gql(Some(token), AUDIT, json!({"o": org})).await)
}

/// `token` is a signed-in user: `"OK"`, or the code.
async fn is_signed_in(app: &TestApp, token: &str) -> String {
    outcome(&app.gql(Some(token), ME, json!({})).await)
}

/// Runs a mutation that must succeed.
async fn change(app: &TestApp, who: &Session, mutation: &str, input: Value) {
    app.gql(Some(&who.access), mutation, json!({"i": input}))
        .await
        .data();
}

#[tokio::test]
async fn a_removed_member_is_refused_the_banks_stock_on_their_next_request() {
    // Arrange: the member's viewer is cached by a read that succeeds.
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let org = bank(&app, &root, "VC-REM").await;
    let staff = member(&app, &org, "staff@vc-rem.example", "STAFF").await;
    assert_eq!(reads_units(&app, &staff.access, &org.id).await, "OK");

    // Act
    let input = json!({"organizationId": org.id, "userId": staff.user_id});
    change(&app, &org.admin, REMOVE, input).await;

    // Assert
    assert_eq!(reads_units(&app, &staff.access, &org.id).await, "FORBIDDEN");
}

#[tokio::test]
async fn a_member_whose_role_changes_acts_with_the_new_role_on_their_next_request() {
    // Arrange: a second admin reads the audit trail (cached as ADMIN), a staff member is
    // refused it (cached as STAFF).
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let org = bank(&app, &root, "VC-ROLE").await;
    let second = member(&app, &org, "second@vc-role.example", "ADMIN").await;
    let staff = member(&app, &org, "staff@vc-role.example", "STAFF").await;
    assert_eq!(reads_audit(&app, &second.access, &org.id).await, "OK");
    assert_eq!(reads_audit(&app, &staff.access, &org.id).await, "FORBIDDEN");

    // Act: the admin and the staff member swap roles.
    let demote = json!({"organizationId": org.id, "userId": second.user_id, "role": "STAFF"});
    change(&app, &org.admin, CHANGE_ROLE, demote).await;
    let promote = json!({"organizationId": org.id, "userId": staff.user_id, "role": "ADMIN"});
    change(&app, &org.admin, CHANGE_ROLE, promote).await;

    // Assert
    assert_eq!(
        reads_audit(&app, &second.access, &org.id).await,
        "FORBIDDEN"
    );
    assert_eq!(reads_audit(&app, &staff.access, &org.id).await, "OK");
}

#[tokio::test]
async fn a_deactivated_user_is_refused_on_their_next_request() {
    // Arrange
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let user = app.signed_in("leaving@vc.example").await;
    assert_eq!(is_signed_in(&app, &user.access).await, "OK");

    // Act
    let input = json!({"userId": user.user_id, "isActive": false});
    change(&app, &root, DEACTIVATE, input).await;

    // Assert
    assert_eq!(is_signed_in(&app, &user.access).await, "UNAUTHENTICATED");
}

#[tokio::test]
async fn me_asking_only_what_the_viewer_knows_runs_no_statement_and_the_rest_loads_the_row() {
    // Arrange: the caller's viewer is cached by a first request.
    let app = spawn_app().await;
    let user = app.signed_in("known@vc.example").await;
    assert_eq!(is_signed_in(&app, &user.access).await, "OK");

    // Act
    let known = app
        .gql(
            Some(&user.access),
            "{ me { __typename id platformRole isActive } }",
            json!({}),
        )
        .await;
    let full = app
        .gql(Some(&user.access), "{ me { id email } }", json!({}))
        .await;

    // Assert
    assert_eq!(known.data()["me"]["id"], user.user_id.as_str());
    assert_eq!(known.data()["me"]["platformRole"], "USER");
    assert_eq!(known.data()["me"]["isActive"], true);
    assert_eq!(known.statements(), 0);
    assert_eq!(full.data()["me"]["email"], "known@vc.example");
    assert_eq!(full.statements(), 1);
}

#[tokio::test]
async fn a_suspended_organizations_members_and_clients_are_refused_and_reinstated_ones_served() {
    // Arrange: a member and an API client of the bank read its stock.
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let org = bank(&app, &root, "VC-SUS").await;
    let staff = member(&app, &org, "staff@vc-sus.example", "STAFF").await;
    let client = api_client(&app, &org.admin, &org.id, "lab", &["stock:read"]).await;
    assert_eq!(reads_units(&app, &staff.access, &org.id).await, "OK");
    assert_eq!(reads_units(&app, &client.token, &org.id).await, "OK");

    // Act
    let input = json!({"organizationId": org.id, "reason": "audit"});
    change(&app, &root, SUSPEND, input).await;

    // Assert: refused while suspended, served again once reinstated.
    assert_eq!(reads_units(&app, &staff.access, &org.id).await, "FORBIDDEN");
    assert_eq!(
        reads_units(&app, &client.token, &org.id).await,
        "UNAUTHENTICATED"
    );
    change(&app, &root, REINSTATE, json!({"organizationId": org.id})).await;
    assert_eq!(reads_units(&app, &staff.access, &org.id).await, "OK");
    assert_eq!(reads_units(&app, &client.token, &org.id).await, "OK");
}

#[tokio::test]
async fn a_revoked_api_client_is_refused_on_its_next_request_and_its_sibling_is_not() {
    // Arrange
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let org = bank(&app, &root, "VC-REV").await;
    let revoked = api_client(&app, &org.admin, &org.id, "old lab", &["stock:read"]).await;
    let kept = api_client(&app, &org.admin, &org.id, "new lab", &["stock:read"]).await;
    assert_eq!(reads_units(&app, &revoked.token, &org.id).await, "OK");
    assert_eq!(reads_units(&app, &kept.token, &org.id).await, "OK");

    // Act
    let input = json!({"organizationId": org.id, "apiClientId": revoked.id});
    change(&app, &org.admin, REVOKE, input).await;

    // Assert
    assert_eq!(
        reads_units(&app, &revoked.token, &org.id).await,
        "UNAUTHENTICATED"
    );
    assert_eq!(reads_units(&app, &kept.token, &org.id).await, "OK");
}

#[tokio::test]
async fn grants_reach_a_cached_viewer_on_its_next_request() {
    // Arrange: a user cached with no membership, and an applicant cached while their
    // organization is pending.
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let org = bank(&app, &root, "VC-ADD").await;
    let joining = app.signed_in("joining@vc-add.example").await;
    assert_eq!(
        reads_units(&app, &joining.access, &org.id).await,
        "FORBIDDEN"
    );
    let applicant = app.signed_in("applicant@vc-pend.example").await;
    let pending = register_org_at(&app, &applicant, "VC-PEND", "BLOOD_BANK", HERE.0, HERE.1).await;
    let api_clients =
        "mutation($i: CreateApiClientInput!) { createApiClient(input: $i) { token } }";
    let create = json!({"i": {"organizationId": pending, "name": "lab", "scopes": ["stock:read"]}});
    let early = app
        .gql(Some(&applicant.access), api_clients, create.clone())
        .await;
    assert_eq!(
        outcome(&early),
        "FORBIDDEN",
        "a pending bank acts for no one"
    );

    // Act
    app.add_member(&org.admin, &org.id, "joining@vc-add.example", "STAFF")
        .await;
    change(&app, &root, APPROVE, json!({"organizationId": pending})).await;

    // Assert
    assert_eq!(reads_units(&app, &joining.access, &org.id).await, "OK");
    let late = app.gql(Some(&applicant.access), api_clients, create).await;
    assert_eq!(outcome(&late), "OK");
}

#[tokio::test]
async fn reads_racing_a_removal_leave_no_old_viewer_behind() {
    // Arrange: the member reads from many connections at once while they are removed.
    let app = spawn_app_with(&[("DB_MAX_CONNECTIONS", "8")]).await;
    let root = app.super_admin().await;
    let org = bank(&app, &root, "VC-RACE").await;
    let staff = member(&app, &org, "staff@vc-race.example", "STAFF").await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut readers = Vec::new();
    for _ in 0..16 {
        let (http, base, token, bank, stop) = (
            app.http.clone(),
            app.base.clone(),
            staff.access.clone(),
            org.id.clone(),
            stop.clone(),
        );
        readers.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = http
                    .post(format!("{base}/graphql"))
                    .bearer_auth(&token)
                    .json(&json!({"query": UNITS, "variables": {"b": bank}}))
                    .send()
                    .await;
            }
        }));
    }

    // Act
    let input = json!({"organizationId": org.id, "userId": staff.user_id});
    change(&app, &org.admin, REMOVE, input).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        r.await.expect("reader");
    }

    // Assert: every request after the removal returned is refused.
    let after =
        futures_util::future::join_all((0..16).map(|_| reads_units(&app, &staff.access, &org.id)))
            .await;
    assert!(after.iter().all(|c| c == "FORBIDDEN"), "{after:?}");
}

fn redis_up() -> bool {
    std::net::TcpStream::connect_timeout(
        &"127.0.0.1:6379".parse().expect("address"),
        Duration::from_millis(300),
    )
    .is_ok()
}

/// Polls `check` on instance B until it answers `want`. Redis delivers an event to the
/// other instances asynchronously, after the mutation has answered on A: the bound is
/// generous, the expected wait is Redis's delivery time.
async fn on_b_soon<F, Fut>(what: &str, want: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = String>,
{
    eventually(Duration::from_secs(5), what, || async {
        (check().await == want).then_some(())
    })
    .await;
}

#[tokio::test]
async fn changes_made_on_one_instance_reach_the_cached_viewers_of_another_through_redis() {
    if !redis_up() {
        eprintln!("SKIPPED: no Redis on 127.0.0.1:6379 (CI starts one)");
        return;
    }
    // Arrange: two instances, one database, one Redis channel; every caller's viewer is
    // cached on B by a request that succeeds there.
    let prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
    let settings = [
        ("REDIS_URL", "redis://127.0.0.1:6379"),
        ("RATE_LIMIT_PREFIX", prefix.as_str()),
    ];
    let a = spawn_app_with(&settings).await;
    let b = spawn_on(a.test_db.clone(), &settings).await;
    for app in [&a, &b] {
        eventually(Duration::from_secs(5), "redis up", || async {
            (readyz(app).await.1["redis"] == "up").then_some(())
        })
        .await;
    }
    let root = a.super_admin().await;
    let org = bank(&a, &root, "VC-TWO").await;
    let other = bank(&a, &root, "VC-TWO-SUS").await;
    let removed = member(&a, &org, "removed@vc-two.example", "STAFF").await;
    let demoted = member(&a, &org, "demoted@vc-two.example", "ADMIN").await;
    let leaving = a.signed_in("leaving@vc-two.example").await;
    let suspended = member(&a, &other, "staff@vc-two-sus.example", "STAFF").await;
    let client = api_client(&a, &org.admin, &org.id, "lab", &["stock:read"]).await;
    let joining = a.signed_in("joining@vc-two.example").await;
    assert_eq!(reads_units(&b, &removed.access, &org.id).await, "OK");
    assert_eq!(reads_audit(&b, &demoted.access, &org.id).await, "OK");
    assert_eq!(is_signed_in(&b, &leaving.access).await, "OK");
    assert_eq!(reads_units(&b, &suspended.access, &other.id).await, "OK");
    assert_eq!(reads_units(&b, &client.token, &org.id).await, "OK");
    assert_eq!(reads_units(&b, &joining.access, &org.id).await, "FORBIDDEN");

    // Act: every change is made on A.
    let remove = json!({"organizationId": org.id, "userId": removed.user_id});
    change(&a, &org.admin, REMOVE, remove).await;
    let demote = json!({"organizationId": org.id, "userId": demoted.user_id, "role": "STAFF"});
    change(&a, &org.admin, CHANGE_ROLE, demote).await;
    let deactivate = json!({"userId": leaving.user_id, "isActive": false});
    change(&a, &root, DEACTIVATE, deactivate).await;
    let suspend = json!({"organizationId": other.id, "reason": "audit"});
    change(&a, &root, SUSPEND, suspend).await;
    let revoke = json!({"organizationId": org.id, "apiClientId": client.id});
    change(&a, &org.admin, REVOKE, revoke).await;
    a.add_member(&org.admin, &org.id, "joining@vc-two.example", "STAFF")
        .await;

    // Assert: B answers with the changes.
    on_b_soon("the removed member refused on B", "FORBIDDEN", || {
        reads_units(&b, &removed.access, &org.id)
    })
    .await;
    on_b_soon("the demoted admin refused on B", "FORBIDDEN", || {
        reads_audit(&b, &demoted.access, &org.id)
    })
    .await;
    on_b_soon(
        "the deactivated user refused on B",
        "UNAUTHENTICATED",
        || is_signed_in(&b, &leaving.access),
    )
    .await;
    on_b_soon(
        "the suspended bank's member refused on B",
        "FORBIDDEN",
        || reads_units(&b, &suspended.access, &other.id),
    )
    .await;
    on_b_soon("the revoked client refused on B", "UNAUTHENTICATED", || {
        reads_units(&b, &client.token, &org.id)
    })
    .await;
    on_b_soon("the new member served on B", "OK", || {
        reads_units(&b, &joining.access, &org.id)
    })
    .await;
}
