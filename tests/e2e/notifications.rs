//! Notifications reach people who are not looking (DESIGN §7.4): every notification also
//! goes out by email (and SMS) through the outbox, to a real SMTP server and a real HTTP
//! sink on loopback; outages are retried; two instances drain one outbox exactly once.

use entity::{DeliveryStatus, outbox_delivery};
use lifeflow::notifications::outbox::{self, NewDelivery};
use lifeflow_tests::{
    fixtures::blood::*,
    mail::{SmtpServer, app_mailing, deliveries_to, wait_until},
    *,
};
use sea_orm::EntityTrait;
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
        let mails = smtp.wait_for_to(member, 1, ARRIVES).await;
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
    let mails = smtp.wait_for_to(&near_admin.email, 1, ARRIVES).await;
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
    assert!(after.attempts >= row.attempts + 1);
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
