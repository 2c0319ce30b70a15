//! `updateMe`: one's own name, phone, locale and time zone.

use lifeflow_tests::*;
use serde_json::json;

const UPDATE: &str = "mutation($i: UpdateMeInput!) { updateMe(input: $i) { user { fullName phone locale timeZone } } }";

#[tokio::test]
async fn update_me_changes_what_is_given_normalizes_it_and_null_clears() {
    let app = spawn_app().await;
    let s = app.signed_in("me@x.example").await;

    let set = app
        .gql(
            Some(&s.access),
            UPDATE,
            json!({"i": {"fullName": "Ada Lovelace", "phone": "+250 788 123 456", "locale": "fr_rw", "timeZone": "Africa/Kigali"}}),
        )
        .await;
    let partial = app
        .gql(Some(&s.access), UPDATE, json!({"i": {"phone": null}}))
        .await;

    let u = &set.data()["updateMe"]["user"];
    assert_eq!(u["fullName"], "Ada Lovelace");
    assert_eq!(u["phone"], "+250788123456");
    assert_eq!(u["locale"], "fr-RW");
    assert_eq!(u["timeZone"], "Africa/Kigali");
    let u = &partial.data()["updateMe"]["user"];
    assert!(u["phone"].is_null());
    assert_eq!(u["locale"], "fr-RW");
    assert_eq!(u["fullName"], "Ada Lovelace");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'user.update_me' AND outcome = 'SUCCESS'")
            .await,
        2
    );
}

#[tokio::test]
async fn update_me_refuses_a_bad_time_zone_locale_or_phone_and_changes_nothing() {
    let app = spawn_app().await;
    let s = app.signed_in("bad@x.example").await;
    let cases = [
        (json!({"timeZone": "Mars/Olympus"}), "input.timeZone"),
        (json!({"locale": "english please"}), "input.locale"),
        (json!({"phone": "call me"}), "input.phone"),
        (json!({"fullName": "  "}), "input.fullName"),
    ];
    for (input, field) in cases {
        let r = app.gql(Some(&s.access), UPDATE, json!({"i": input})).await;
        assert_eq!(r.code(), Some("BAD_USER_INPUT"));
        assert_eq!(r.field(), Some(field));
    }
    let me = app
        .gql(Some(&s.access), "{ me { fullName timeZone } }", json!({}))
        .await;
    assert_eq!(me.data()["me"]["fullName"], "Test Person");
    assert!(me.data()["me"]["timeZone"].is_null());
}
