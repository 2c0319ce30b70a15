//! Keyset pagination: stable under inserts, both directions, bounded pages.

use lifeflow_tests::*;
use serde_json::{Value, json};
use std::collections::HashSet;

const PAGE: &str = "query($first: Int, $after: String, $last: Int, $before: String, $dir: SortDirection!) {
  organizations(first: $first, after: $after, last: $last, before: $before, orderBy: {field: NAME, direction: $dir}) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name } } } }";

async fn seed_orgs(app: &TestApp, root: &Session, n: usize, tag: &str) -> Vec<String> {
    let admin = app.signed_in(&format!("admin-{tag}@pages.example")).await;
    let mut ids = Vec::new();
    for i in 0..n {
        // Names interleave with later inserts, so new rows land before and after the cursor.
        let code = format!("{tag}-{i:03}");
        let r = app
            .gql(Some(&admin.access),
                 "mutation($i: RegisterOrganizationInput!) { registerOrganization(input: $i) { organization { id } } }",
                 json!({"i": {"code": code, "name": format!("Org {} {}", (i * 7) % 10, code), "kind": "HOSPITAL",
                              "city": "Bengaluru", "country": "IN", "latitude": 12.9, "longitude": 77.6}}))
            .await;
        let id = r.data()["registerOrganization"]["organization"]["id"]
            .as_str()
            .expect("id")
            .to_string();
        app.gql(Some(&root.access), "mutation($i: OrganizationStatusInput!) { approveOrganization(input: $i) { organization { id } } }",
                json!({"i": {"organizationId": id}}))
            .await
            .data();
        ids.push(id);
    }
    ids
}

fn ids_of(r: &Gql) -> Vec<String> {
    r.data()["organizations"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test]
async fn walking_all_pages_while_rows_are_inserted_returns_each_original_row_once() {
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let original: HashSet<String> = seed_orgs(&app, &root, 23, "A").await.into_iter().collect();
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut round = 0;
    loop {
        let r = app
            .gql(
                Some(&root.access),
                PAGE,
                json!({"first": 5, "after": after, "dir": "ASC"}),
            )
            .await;
        seen.extend(ids_of(&r));
        // Someone registers more organizations between our pages.
        seed_orgs(&app, &root, 2, &format!("B{round}")).await;
        round += 1;
        let info = &r.data()["organizations"]["pageInfo"];
        if info["hasNextPage"] != true {
            break;
        }
        after = info["endCursor"].as_str().map(str::to_string);
        assert!(round < 50, "pagination does not end");
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a row was returned twice");
    for id in &original {
        assert!(unique.contains(id), "row {id} was skipped");
    }
}

#[tokio::test]
async fn pages_walk_backward_and_descending_in_the_same_order() {
    let app = spawn_app().await;
    let root = app.super_admin().await;
    seed_orgs(&app, &root, 9, "C").await;
    let all = app
        .gql(
            Some(&root.access),
            PAGE,
            json!({"first": 100, "dir": "ASC"}),
        )
        .await;
    let asc = ids_of(&all);
    assert_eq!(all.data()["organizations"]["totalCount"], 9);
    let desc = ids_of(
        &app.gql(
            Some(&root.access),
            PAGE,
            json!({"first": 100, "dir": "DESC"}),
        )
        .await,
    );
    assert_eq!(desc.iter().rev().cloned().collect::<Vec<_>>(), asc);
    // The last 4, then the 4 before them.
    let tail = app
        .gql(Some(&root.access), PAGE, json!({"last": 4, "dir": "ASC"}))
        .await;
    assert_eq!(ids_of(&tail), asc[5..].to_vec());
    assert_eq!(
        tail.data()["organizations"]["pageInfo"]["hasPreviousPage"],
        true
    );
    let before: Value = tail.data()["organizations"]["pageInfo"]["startCursor"].clone();
    let prev = app
        .gql(
            Some(&root.access),
            PAGE,
            json!({"last": 4, "before": before, "dir": "ASC"}),
        )
        .await;
    assert_eq!(ids_of(&prev), asc[1..5].to_vec());
}

#[tokio::test]
async fn page_sizes_are_capped_and_cursors_checked() {
    let app = spawn_app().await;
    let root = app.super_admin().await;
    let r = app
        .gql(
            Some(&root.access),
            PAGE,
            json!({"first": 101, "dir": "ASC"}),
        )
        .await;
    assert_eq!(r.code(), Some("BAD_USER_INPUT"));
    assert_eq!(r.field(), Some("first"));
    let r = app
        .gql(
            Some(&root.access),
            PAGE,
            json!({"first": 5, "after": "garbage", "dir": "ASC"}),
        )
        .await;
    assert_eq!(r.field(), Some("after"));
}
