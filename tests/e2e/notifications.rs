//! Notifications reach people who are not looking (DESIGN §7.4): every notification also
//! goes out by email (and SMS) through the outbox, to a real SMTP server and a real HTTP
//! sink on loopback; outages are retried; two instances drain one outbox exactly once.

use entity::{DeliveryStatus, outbox_delivery};
use lifeflow::notifications::outbox::{self, NewDelivery};
use lifeflow_tests::{
    fixtures::blood::*,
    mail::{HttpSink, SmtpServer, app_mailing, deliveries_to, wait_until},
    *,
};
use sea_orm::EntityTrait;
use serde_json::json;
use std::{collections::HashMap, time::Duration};

/// Long enough for a delivery that will come; the tests' retries back off in milliseconds.
const ARRIVES: Duration = Duration::from_secs(20);

#[tokio::test]
async fn an_emergency_request_near_a_bank_emails_the_banks_members_without_patient_details() {
    // Arrange: a bank at the hospital's door with a staff member; the far bank hears nothing.
    let smtp = SmtpServer::start().await;
    let app = app_mailing(&smtp, &[]).await;
    let net = Region::new(&app).await;
    let (near, near_admin) = net.near_bank(&app).await;
    let staff = app.signed_in("staff@near.example").await;
    app.add_member(&near_admin, &near, &staff.email, "STAFF")
        .await;
    let (_far, far_admin) = net.far_bank(&app).await;

    // Act: the hospital raises an emergency naming its patient and notes.
    let mut input = NewRequest::default().input(&net.hospital);
    input["patientName"] = "Jane Mukamana".into();
    input["medicalNotes"] = "Post-partum haemorrhage, ward 4".into();
    create_request(&app, &net.hospital_staff, input).await;

    // Assert: each member of the near bank gets one email about it, with a link and no
    // patient detail; the far bank's admin gets none.
    for member in [&near_admin.email, &staff.email] {
        let mails = smtp.wait_for_notifications_to(member, 1, ARRIVES).await;
        let emergency: Vec<_> = mails
            .iter()
            .filter(|m| m.header("Subject").is_some_and(|s| s.contains("emergency")))
            .collect();
        assert_eq!(emergency.len(), 1, "{member}: {mails:#?}");
        let mail = emergency[0];
        let text = &mail.data;
        assert!(
            mail.body().contains("A WARNING alert needs your attention"),
            "{text}"
        );
        assert!(
            mail.body()
                .contains("https://app.lifeflow.example/notifications/"),
            "{text}"
        );
        for secret in ["Jane", "Mukamana", "haemorrhage", "ward 4", "MRN-0001"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert!(
            mail.header("Message-ID")
                .is_some_and(|id| id.ends_with("@lifeflow>"))
        );
    }
    assert!(
        smtp.mails_to(&far_admin.email)
            .iter()
            .all(|m| { !m.header("Subject").is_some_and(|s| s.contains("emergency")) })
    );
    // The row is recorded just after the server's answer.
    let recorded = wait_until(ARRIVES, || async {
        deliveries_to(&app, &staff.email)
            .await
            .iter()
            .any(|d| d.kind == "EMERGENCY_REQUEST" && d.status == DeliveryStatus::Sent)
    })
    .await;
    assert!(recorded);
    let rows = deliveries_to(&app, &staff.email).await;
    let sent = rows
        .iter()
        .find(|d| d.kind == "EMERGENCY_REQUEST")
        .expect("delivery row");
    assert_eq!(sent.attempts, 1);
    assert!(sent.sent_at.is_some());
}

#[tokio::test]
async fn an_email_queued_while_the_smtp_server_is_down_arrives_after_it_comes_back() {
    // Arrange: the mail server is down when the emergency is raised.
    let smtp = SmtpServer::start().await;
    let app = app_mailing(&smtp, &[]).await;
    let net = Region::new(&app).await;
    let (_near, near_admin) = net.near_bank(&app).await;
    smtp.stop();

    // Act: the emergency is raised; the delivery fails at least twice; the server comes back.
    net.request(&app, NewRequest::default()).await;
    let failed_twice = wait_until(ARRIVES, || async {
        deliveries_to(&app, &near_admin.email)
            .await
            .iter()
            .any(|d| d.kind == "EMERGENCY_REQUEST" && d.attempts >= 2)
    })
    .await;
    assert!(
        failed_twice,
        "the delivery was not retried while the server was down"
    );
    let before = deliveries_to(&app, &near_admin.email).await;
    let row = before
        .iter()
        .find(|d| d.kind == "EMERGENCY_REQUEST")
        .expect("row");
    assert!(matches!(
        row.status,
        DeliveryStatus::Failed | DeliveryStatus::Pending
    ));
    smtp.restart().await;

    // Assert: the email arrives once, and the row says SENT with every attempt counted.
    let mails = smtp
        .wait_for_notifications_to(&near_admin.email, 1, ARRIVES)
        .await;
    let emergency: Vec<_> = mails
        .iter()
        .filter(|m| m.header("Subject").is_some_and(|s| s.contains("emergency")))
        .collect();
    assert_eq!(emergency.len(), 1);
    let sent = wait_until(ARRIVES, || async {
        outbox_delivery::Entity::find_by_id(row.id)
            .one(&app.db)
            .await
            .ok()
            .flatten()
            .is_some_and(|d| d.status == DeliveryStatus::Sent)
    })
    .await;
    assert!(sent);
    let after = outbox_delivery::Entity::find_by_id(row.id)
        .one(&app.db)
        .await
        .expect("row")
        .expect("row");
    assert!(after.attempts >= 3, "attempts: {}", after.attempts);
    assert!(after.attempts > row.attempts);
    assert_eq!(after.last_error, None);
}

#[tokio::test]
async fn two_instances_draining_one_outbox_send_each_of_a_thousand_deliveries_exactly_once() {
    // Arrange: two instances on one database, both mailing to one server, taking small
    // batches so that they interleave.
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let settings = [
        ("SMTP_URL", url.as_str()),
        ("OUTBOX_POLL_MS", "50"),
        ("OUTBOX_BATCH", "10"),
        ("OUTBOX_RETRY_BASE_MS", "50"),
        ("OUTBOX_RETRY_CAP_MS", "200"),
    ];
    let one = spawn_app_with(&settings).await;
    let _two = spawn_on(one.test_db.clone(), &settings).await;
    let queued: Vec<NewDelivery> = (0..1000)
        .map(|i| {
            NewDelivery::email(
                format!("donor{i}@example.org"),
                "TEST",
                format!("Message {i}"),
                "Hello",
            )
        })
        .collect();

    // Act: a thousand deliveries are queued at once.
    let ids = outbox::enqueue_many(&one.db, queued)
        .await
        .expect("enqueue");

    // Assert: the server received each exactly once, and every row is SENT with one attempt.
    let mails = smtp.wait_for(1000, Duration::from_secs(120)).await;
    let drained = wait_until(Duration::from_secs(30), || async {
        one.count("SELECT COUNT(*) AS n FROM outbox_deliveries WHERE status = 'SENT'")
            .await
            == 1000
    })
    .await;
    assert!(drained, "not every row was recorded SENT");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mails_after = smtp.mails();
    assert_eq!(mails_after.len(), 1000, "duplicates arrived");
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for m in &mails {
        *per_id
            .entry(m.header("Message-ID").expect("id"))
            .or_default() += 1;
    }
    assert_eq!(per_id.len(), 1000);
    for id in &ids {
        assert_eq!(per_id.get(&format!("<{id}@lifeflow>")), Some(&1), "{id}");
    }
    assert_eq!(
        one.count("SELECT COUNT(*) AS n FROM outbox_deliveries WHERE attempts <> 1")
            .await,
        0
    );
}

const SMS_TOKEN: &str = "sms-provider-token-for-tests";

/// Sets the phone of the account `email` (arranged in the database: no mutation edits it).
async fn give_phone(app: &TestApp, email: &str, phone: &str) {
    use sea_orm::ConnectionTrait;
    app.db
        .execute_unprepared(&format!(
            "UPDATE users SET phone = '{phone}' WHERE email = '{email}'"
        ))
        .await
        .expect("phone");
}

const UPDATE_PREFERENCES: &str = "mutation($i: UpdateNotificationPreferencesInput!) {
    updateNotificationPreferences(input: $i) {
        preference { kind channels quietHoursStart quietHoursEnd timeZone }
    }
}";

#[tokio::test]
async fn a_member_who_chose_sms_gets_the_emergency_by_sms_with_the_providers_token_and_no_email() {
    // Arrange: SMS through the loopback sink; the bank admin has a phone and wants
    // emergencies by SMS only.
    let smtp = SmtpServer::start().await;
    let sink = HttpSink::start().await;
    let sms_url = sink.url("/sms");
    let app = app_mailing(
        &smtp,
        &[
            ("SMS_WEBHOOK_URL", sms_url.as_str()),
            ("SMS_WEBHOOK_TOKEN", SMS_TOKEN),
        ],
    )
    .await;
    let net = Region::new(&app).await;
    let (_near, admin) = net.near_bank(&app).await;
    give_phone(&app, &admin.email, "+250788123456").await;
    let set = app
        .gql(
            Some(&admin.access),
            UPDATE_PREFERENCES,
            json!({"i": {"kind": "EMERGENCY_REQUEST", "channels": ["SMS"]}}),
        )
        .await;
    assert_eq!(
        set.data()["updateNotificationPreferences"]["preference"]["channels"],
        json!(["SMS"])
    );

    // Act
    let mut input = NewRequest::default().input(&net.hospital);
    input["patientName"] = "Jane Mukamana".into();
    create_request(&app, &net.hospital_staff, input).await;

    // Assert: one POST with the bearer token and {to, body, id}; the id is the delivery's.
    let got = sink.wait_for(1, ARRIVES).await;
    assert_eq!(got.len(), 1);
    let sms = &got[0];
    assert_eq!(sms.path, "/sms");
    assert_eq!(
        sms.header("authorization"),
        Some(format!("Bearer {SMS_TOKEN}").as_str())
    );
    let body = sms.json();
    assert_eq!(body["to"], "+250788123456");
    let text = body["body"].as_str().expect("text");
    assert!(
        text.contains("https://app.lifeflow.example/notifications/"),
        "{text}"
    );
    assert!(!text.contains("Jane") && !text.contains("MRN"), "{text}");
    let rows = deliveries_to(&app, "+250788123456").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(body["id"], rows[0].id.to_string());
    assert!(
        deliveries_to(&app, &admin.email)
            .await
            .iter()
            .all(|d| d.kind != "EMERGENCY_REQUEST"),
        "an email was queued against the preference"
    );
}

#[tokio::test]
async fn an_sms_provider_failing_is_retried_until_the_attempts_run_out_then_the_delivery_is_dead() {
    // Arrange: the provider answers 500 to everything; three attempts at most.
    let smtp = SmtpServer::start().await;
    let sink = HttpSink::start().await;
    sink.answer(&[500; 10]);
    let sms_url = sink.url("/sms");
    let app = app_mailing(
        &smtp,
        &[
            ("SMS_WEBHOOK_URL", sms_url.as_str()),
            ("OUTBOX_MAX_ATTEMPTS", "3"),
        ],
    )
    .await;
    let net = Region::new(&app).await;
    let (_near, admin) = net.near_bank(&app).await;
    give_phone(&app, &admin.email, "+250788000111").await;

    // Act: a CRITICAL emergency goes by SMS by default to a member with a phone.
    net.request(
        &app,
        NewRequest {
            urgency: "CRITICAL",
            ..Default::default()
        },
    )
    .await;

    // Assert: three POSTs, then the row is DEAD with three attempts and the provider's answer.
    let dead = wait_until(ARRIVES, || async {
        deliveries_to(&app, "+250788000111")
            .await
            .first()
            .is_some_and(|d| d.status == DeliveryStatus::Dead)
    })
    .await;
    assert!(dead, "{:?}", deliveries_to(&app, "+250788000111").await);
    let row = &deliveries_to(&app, "+250788000111").await[0];
    assert_eq!(row.attempts, 3);
    assert_eq!(
        row.last_error.as_deref(),
        Some("the SMS provider answered 500")
    );
    assert_eq!(sink.received().len(), 3);
    let ids: Vec<_> = sink
        .received()
        .iter()
        .map(|r| r.json()["id"].clone())
        .collect();
    assert!(
        ids.iter().all(|id| *id == json!(row.id.to_string())),
        "{ids:?}"
    );
    // The instance counts them for /metrics.
    let metrics = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("lifeflow_outbox_dead_total 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("lifeflow_outbox_failed_attempts_total 2\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn quiet_hours_hold_a_warning_until_they_end_while_a_critical_alert_goes_at_once() {
    // Arrange: the bank admin's quiet hours run from an hour ago to an hour from now (UTC).
    let smtp = SmtpServer::start().await;
    let app = app_mailing(&smtp, &[]).await;
    let net = Region::new(&app).await;
    let (_near, admin) = net.near_bank(&app).await;
    let now = chrono::Utc::now();
    let hm = |t: chrono::DateTime<chrono::Utc>| t.format("%H:%M:00").to_string();
    let set = app
        .gql(
            Some(&admin.access),
            UPDATE_PREFERENCES,
            json!({"i": {
                "channels": ["EMAIL"],
                "quietHoursStart": hm(now - chrono::Duration::hours(1)),
                "quietHoursEnd": hm(now + chrono::Duration::hours(1)),
                "timeZone": "UTC",
            }}),
        )
        .await;
    assert_eq!(
        set.data()["updateNotificationPreferences"]["preference"]["timeZone"],
        "UTC"
    );

    // Act: a WARNING emergency, then a CRITICAL one.
    net.request(&app, NewRequest::default()).await;
    net.request(
        &app,
        NewRequest {
            urgency: "CRITICAL",
            ..Default::default()
        },
    )
    .await;

    // Assert: the CRITICAL email arrives; the WARNING one waits for the end of quiet hours.
    let mails = smtp
        .wait_for_notifications_to(&admin.email, 1, ARRIVES)
        .await;
    assert!(
        mails[0]
            .body()
            .contains("A CRITICAL alert needs your attention"),
        "{mails:#?}"
    );
    let critical = wait_until(ARRIVES, || async {
        deliveries_to(&app, &admin.email)
            .await
            .iter()
            .any(|d| d.status == DeliveryStatus::Sent)
    })
    .await;
    assert!(critical);
    let rows = deliveries_to(&app, &admin.email).await;
    let held: Vec<_> = rows
        .iter()
        .filter(|d| d.status == DeliveryStatus::Pending)
        .collect();
    assert_eq!(held.len(), 1, "{rows:#?}");
    assert_eq!(held[0].attempts, 0);
    assert!(held[0].next_attempt_at > now + chrono::Duration::minutes(55));
    assert!(held[0].next_attempt_at <= now + chrono::Duration::minutes(61));
    // The recipient reads both deliveries on their notifications.
    let read = app
        .gql(
            Some(&admin.access),
            "{ notifications(first: 10) { edges { node { priority
                deliveries { channel status attempts lastError sentAt nextAttemptAt } } } } }",
            json!({}),
        )
        .await;
    let edges = read.data()["notifications"]["edges"]
        .as_array()
        .expect("edges")
        .clone();
    let by_priority = |p: &str| {
        edges
            .iter()
            .find(|e| e["node"]["priority"] == p)
            .map(|e| e["node"]["deliveries"].clone())
            .expect("notification")
    };
    assert_eq!(by_priority("WARNING")[0]["status"], "PENDING");
    assert_eq!(by_priority("WARNING")[0]["channel"], "EMAIL");
    assert_eq!(
        smtp.wait_for_notifications_to(&admin.email, 1, ARRIVES)
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn preferences_refuse_webhooks_sms_without_a_phone_unknown_zones_and_half_quiet_hours() {
    // Arrange
    let app = spawn_app().await;
    let me = app.signed_in("prefs@example.org").await;
    let cases = [
        (json!({"channels": ["WEBHOOK"]}), "input.channels"),
        (json!({"channels": ["SMS"]}), "input.channels"),
        (
            json!({"channels": [], "quietHoursStart": "22:00:00", "quietHoursEnd": "07:00:00",
                   "timeZone": "Mars/Olympus"}),
            "input.timeZone",
        ),
        (
            json!({"channels": [], "quietHoursStart": "22:00:00", "timeZone": "UTC"}),
            "input.quietHoursEnd",
        ),
        (
            json!({"channels": [], "quietHoursStart": "22:00:00", "quietHoursEnd": "22:00:00",
                   "timeZone": "UTC"}),
            "input.quietHoursEnd",
        ),
    ];
    for (input, field) in cases {
        // Act
        let r = app
            .gql(Some(&me.access), UPDATE_PREFERENCES, json!({"i": input}))
            .await;

        // Assert
        assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{input}: {:?}", r.body);
        assert_eq!(r.field(), Some(field), "{input}");
    }
    // A valid one replaces, not adds: the default is set twice, one preference remains.
    for zone in ["Africa/Kigali", "Europe/Berlin"] {
        let ok = app
            .gql(
                Some(&me.access),
                UPDATE_PREFERENCES,
                json!({"i": {"channels": ["EMAIL"], "quietHoursStart": "22:00:00",
                             "quietHoursEnd": "07:00:00", "timeZone": zone}}),
            )
            .await;
        ok.data();
    }
    let mine = app
        .gql(
            Some(&me.access),
            "{ notificationPreferences { kind channels timeZone } }",
            json!({}),
        )
        .await;
    assert_eq!(
        mine.data()["notificationPreferences"],
        json!([{"kind": null, "channels": ["EMAIL"], "timeZone": "Europe/Berlin"}])
    );
}

#[tokio::test]
async fn a_page_of_notifications_with_their_deliveries_costs_the_same_statements_at_any_length() {
    // Arrange: the bank admin gets one emergency notification, then five more.
    let app = spawn_app().await;
    let net = Region::new(&app).await;
    let (_near, admin) = net.near_bank(&app).await;
    let query =
        "{ notifications(first: 50) { edges { node { id deliveries { channel status } } } } }";
    net.request(&app, NewRequest::default()).await;
    let small = app.gql(Some(&admin.access), query, json!({})).await;
    for _ in 0..5 {
        net.request(&app, NewRequest::default()).await;
    }

    // Act
    let large = app.gql(Some(&admin.access), query, json!({})).await;

    // Assert: the page and its deliveries, one statement each.
    let edges = large.data()["notifications"]["edges"]
        .as_array()
        .expect("edges")
        .clone();
    assert_eq!(edges.len(), 6);
    assert!(
        edges
            .iter()
            .all(|e| e["node"]["deliveries"] == json!([{"channel": "EMAIL", "status": "PENDING"}]))
    );
    assert_eq!(small.statements(), large.statements());
    assert_eq!(large.statements(), 2);
}
