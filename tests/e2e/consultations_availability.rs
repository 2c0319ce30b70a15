//! A doctor's hours beyond the weekly rules: time off, extra hours, the buffer after each
//! booking and the minimum notice, in `openSlots` and in booking, under concurrency and
//! across daylight-saving changes.

use chrono::{DateTime, Duration, Utc};
use futures_util::future::join_all;
use lifeflow_tests::{
    fixtures::care::*,
    matrix::{Outcome::*, Row, mutation},
    *,
};
use serde_json::{Value, json};

const EXCEPTION: &str = "exception { id kind startsAt endsAt note }";

async fn add_exception(app: &TestApp, who: &Session, kind: &str, from: &str, to: &str) -> Gql {
    app.gql(
        Some(&who.access),
        &format!("mutation($i: AddAvailabilityExceptionInput!) {{ addAvailabilityException(input: $i) {{ {EXCEPTION} }} }}"),
        json!({"i": {"kind": kind, "startsAt": from, "endsAt": to, "note": "conference"}}),
    )
    .await
}

async fn remove_exception(app: &TestApp, who: &Session, id: &str) -> Gql {
    app.gql(
        Some(&who.access),
        &format!("mutation($i: RemoveAvailabilityExceptionInput!) {{ removeAvailabilityException(input: $i) {{ {EXCEPTION} }} }}"),
        json!({"i": {"exceptionId": id}}),
    )
    .await
}

fn id_of(r: &Gql, op: &str) -> String {
    r.data()[op]["exception"]["id"]
        .as_str()
        .expect("exception id")
        .to_string()
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .expect("instant")
}

/// The starts of the doctor's open slots in `[from, to)`, as instants.
async fn slots(
    app: &TestApp,
    who: &Session,
    doctor: &str,
    (from, to): (&str, &str),
    minutes: i32,
) -> Vec<DateTime<Utc>> {
    let r = app
        .gql(
            Some(&who.access),
            "query($d: ID!, $f: DateTime!, $t: DateTime!, $m: Int!) { openSlots(doctorId: $d, from: $f, to: $t, durationMinutes: $m) { startsAt } }",
            json!({"d": doctor, "f": from, "t": to, "m": minutes}),
        )
        .await;
    r.data()["openSlots"]
        .as_array()
        .expect("slots")
        .iter()
        .map(|s| utc(s["startsAt"].as_str().expect("start")))
        .collect()
}

async fn book_for(app: &TestApp, who: &Session, doctor: &str, at: &str, minutes: i32) -> Gql {
    book_with(
        app,
        who,
        json!({"doctorId": doctor, "scheduledAt": at, "durationMinutes": minutes, "consultationType": "VIDEO"}),
    )
    .await
}

async fn set_profile(app: &TestApp, doctor: &Session, input: Value) -> Gql {
    app.gql(
        Some(&doctor.access),
        "mutation($i: UpdateDoctorProfileInput!) { updateDoctorProfile(input: $i) { doctor { bufferMinutes minNoticeMinutes } } }",
        json!({"i": input}),
    )
    .await
}

#[tokio::test]
async fn time_off_hides_its_slots_and_refuses_bookings_inside_it() {
    // Arrange: a doctor available all day (UTC) takes 10:00-12:00 off in three days.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let off = add_exception(&app, &c.doctor, "TIME_OFF", &at(3, 10, 0), &at(3, 12, 0)).await;
    let off_id = id_of(&off, "addAvailabilityException");
    let day = (at(3, 9, 0), at(3, 13, 0));

    // Act
    let during = slots(&app, &c.patient, &c.doctor_id, (&day.0, &day.1), 30).await;
    let inside = book(&app, &c.patient, &c.doctor_id, &at(3, 11, 30), None).await;
    let straddling = book(&app, &c.patient, &c.doctor_id, &at(3, 9, 45), None).await;
    let after = book(&app, &c.patient, &c.doctor_id, &at(3, 12, 0), None).await;
    let removed = remove_exception(&app, &c.doctor, &off_id).await;
    let freed = slots(&app, &c.patient, &c.doctor_id, (&day.0, &day.1), 30).await;

    // Assert
    assert_eq!(
        during,
        vec![
            utc(&at(3, 9, 0)),
            utc(&at(3, 9, 30)),
            utc(&at(3, 12, 0)),
            utc(&at(3, 12, 30))
        ]
    );
    assert_eq!(inside.code(), Some("BAD_USER_INPUT"));
    assert_eq!(inside.field(), Some("input.scheduledAt"));
    assert_eq!(straddling.field(), Some("input.scheduledAt"));
    after.data();
    removed.data();
    assert_eq!(
        freed.len(),
        7,
        "09:00 to 13:00 less the 12:00 booking: {freed:?}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM consultations").await,
        1,
        "nothing refused was written"
    );
}

#[tokio::test]
async fn time_off_over_a_booked_consultation_is_refused_until_it_is_moved() {
    // Arrange
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let id = c.book(&app, &c.patient, &at(4, 10, 0)).await;

    // Act
    let refused = add_exception(&app, &c.doctor, "TIME_OFF", &at(4, 8, 0), &at(4, 18, 0)).await;
    act(
        &app,
        &c.doctor,
        "cancelConsultation",
        &id,
        json!({"reason": "the doctor is away at a conference"}),
    )
    .await
    .data();
    let accepted = add_exception(&app, &c.doctor, "TIME_OFF", &at(4, 8, 0), &at(4, 18, 0)).await;

    // Assert
    assert_eq!(refused.code(), Some("CONFLICT"));
    accepted.data();
    assert_eq!(
        app.count("SELECT COUNT(*) FROM availability_exceptions")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_logs WHERE action = 'doctor.add_availability_exception' AND outcome = 'FAILURE'")
            .await,
        1,
        "the refusal is audited"
    );
}

#[tokio::test]
async fn extra_hours_open_slots_outside_the_weekly_hours_and_stay_while_a_booking_needs_them() {
    // Arrange: no weekly hours at all, two extra hours in four days.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    set_rules(&app, &c.doctor, json!([])).await.data();
    let extra = add_exception(&app, &c.doctor, "EXTRA_HOURS", &at(4, 14, 0), &at(4, 16, 0)).await;
    let extra_id = id_of(&extra, "addAvailabilityException");

    // Act
    let open = slots(
        &app,
        &c.patient,
        &c.doctor_id,
        (&at(4, 0, 0), &at(5, 0, 0)),
        30,
    )
    .await;
    let id = c.book(&app, &c.patient, &at(4, 14, 30)).await;
    let outside = book(&app, &c.patient, &c.doctor_id, &at(4, 16, 0), None).await;
    let needed = remove_exception(&app, &c.doctor, &extra_id).await;
    act(
        &app,
        &c.patient,
        "cancelConsultation",
        &id,
        json!({"reason": "feeling better"}),
    )
    .await
    .data();
    let removed = remove_exception(&app, &c.doctor, &extra_id).await;

    // Assert
    assert_eq!(
        open,
        vec![
            utc(&at(4, 14, 0)),
            utc(&at(4, 14, 30)),
            utc(&at(4, 15, 0)),
            utc(&at(4, 15, 30))
        ]
    );
    assert_eq!(outside.field(), Some("input.scheduledAt"));
    assert_eq!(needed.code(), Some("CONFLICT"));
    removed.data();
    assert_eq!(
        app.count("SELECT COUNT(*) FROM availability_exceptions")
            .await,
        0
    );
}

#[tokio::test]
async fn a_buffer_keeps_the_time_after_each_booking_free_in_slots_and_in_booking() {
    // Arrange: a 15-minute buffer, one 30-minute booking at 10:00.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let other = app.signed_in("other.patient@example.com").await;
    let profile = set_profile(&app, &c.doctor, json!({"bufferMinutes": 15})).await;
    c.book(&app, &c.patient, &at(5, 10, 0)).await;

    // Act
    let open = slots(
        &app,
        &other,
        &c.doctor_id,
        (&at(5, 9, 0), &at(5, 11, 15)),
        15,
    )
    .await;
    let in_buffer_after = book_for(&app, &other, &c.doctor_id, &at(5, 10, 30), 15).await;
    let buffer_before = book_for(&app, &other, &c.doctor_id, &at(5, 9, 30), 30).await;
    let clear_before = book_for(&app, &other, &c.doctor_id, &at(5, 9, 15), 15).await;
    let clear_after = book_for(&app, &other, &c.doctor_id, &at(5, 10, 45), 15).await;

    // Assert
    assert_eq!(
        profile.data()["updateDoctorProfile"]["doctor"]["bufferMinutes"],
        15
    );
    assert_eq!(
        open,
        vec![
            utc(&at(5, 9, 0)),
            utc(&at(5, 9, 15)),
            utc(&at(5, 9, 30)),
            utc(&at(5, 10, 45)),
            utc(&at(5, 11, 0))
        ],
        "09:45 would run into the booking with its buffer; 10:00-10:45 is held"
    );
    assert_eq!(in_buffer_after.code(), Some("CONFLICT"));
    assert_eq!(buffer_before.code(), Some("CONFLICT"));
    clear_before.data();
    clear_after.data();
}

#[tokio::test]
async fn minimum_notice_refuses_bookings_that_start_too_soon() {
    // Arrange: two hours' notice.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    set_profile(&app, &c.doctor, json!({"minNoticeMinutes": 120}))
        .await
        .data();
    let soon = Utc::now() + Duration::minutes(61);
    let soon = soon - Duration::seconds(soon.timestamp() % 60);
    let soon = soon.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let from = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let to = (Utc::now() + Duration::hours(6)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);

    // Act
    let too_soon = book(&app, &c.patient, &c.doctor_id, &soon, None).await;
    let open = slots(&app, &c.patient, &c.doctor_id, (&from, &to), 30).await;
    let later = book(&app, &c.patient, &c.doctor_id, &at(2, 10, 0), None).await;
    let bad_setting = set_profile(&app, &c.doctor, json!({"minNoticeMinutes": -5})).await;
    let bad_buffer = set_profile(&app, &c.doctor, json!({"bufferMinutes": 7})).await;

    // Assert
    assert_eq!(too_soon.field(), Some("input.scheduledAt"));
    assert!(
        too_soon.body.to_string().contains("minimum notice"),
        "{}",
        too_soon.body
    );
    let earliest = Utc::now() + Duration::minutes(119);
    assert!(open.iter().all(|s| *s >= earliest), "{open:?}");
    later.data();
    assert_eq!(bad_setting.field(), Some("input.minNoticeMinutes"));
    assert_eq!(bad_buffer.field(), Some("input.bufferMinutes"));
}

#[tokio::test]
async fn time_off_across_a_daylight_saving_change_removes_exactly_its_hours() {
    // Arrange: Saturdays and Mondays 09:00-12:00 in New York, which springs forward on 14
    // March 2027; later Sundays 01:00-04:00 in Berlin, which falls back on 31 October 2027
    // (03:00 CEST becomes 02:00 CET).
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let rule = |day: &str, start: &str, end: &str, zone: &str| json!({"dayOfWeek": day, "startTime": start, "endTime": end, "timeZone": zone, "validFrom": "2026-01-01"});
    let new_york = json!([
        rule("SATURDAY", "09:00:00", "12:00:00", "America/New_York"),
        rule("MONDAY", "09:00:00", "12:00:00", "America/New_York")
    ]);
    let berlin = json!([rule("SUNDAY", "01:00:00", "04:00:00", "Europe/Berlin")]);

    // Act: off from Saturday 10:00 EST to Monday 10:00 EDT; then in Berlin until 02:30 of
    // the second, repeated, 02:00 hour (01:30Z).
    set_rules(&app, &c.doctor, new_york).await.data();
    add_exception(
        &app,
        &c.doctor,
        "TIME_OFF",
        "2027-03-13T10:00:00-05:00",
        "2027-03-15T10:00:00-04:00",
    )
    .await
    .data();
    let spring = slots(
        &app,
        &c.patient,
        &c.doctor_id,
        ("2027-03-13T00:00:00Z", "2027-03-16T00:00:00Z"),
        60,
    )
    .await;
    set_rules(&app, &c.doctor, berlin).await.data();
    add_exception(
        &app,
        &c.doctor,
        "TIME_OFF",
        "2027-10-30T22:00:00Z",
        "2027-10-31T02:30:00+01:00",
    )
    .await
    .data();
    let autumn = slots(
        &app,
        &c.patient,
        &c.doctor_id,
        ("2027-10-30T12:00:00Z", "2027-11-01T00:00:00Z"),
        60,
    )
    .await;

    // Assert: Saturday 09:00 EST (14:00Z) stays; Monday 09:00 EDT (13:00Z) is off; 10:00 and
    // 11:00 EDT stay. In Berlin 01:00 CEST (23:00Z) and the first 02:00 (00:00Z) are off,
    // 03:00 CET (02:00Z) stays.
    assert_eq!(
        spring,
        vec![
            utc("2027-03-13T14:00:00Z"),
            utc("2027-03-15T14:00:00Z"),
            utc("2027-03-15T15:00:00Z")
        ]
    );
    assert_eq!(autumn, vec![utc("2027-10-31T02:00:00Z")]);
}

#[tokio::test]
async fn exceptions_must_be_whole_minutes_in_order_in_the_future_and_not_too_long() {
    // Arrange
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;

    // Act
    let reversed = add_exception(&app, &c.doctor, "TIME_OFF", &at(3, 12, 0), &at(3, 10, 0)).await;
    let past = add_exception(&app, &c.doctor, "TIME_OFF", &at(-3, 10, 0), &at(-2, 10, 0)).await;
    let long_extra =
        add_exception(&app, &c.doctor, "EXTRA_HOURS", &at(3, 10, 0), &at(5, 10, 0)).await;
    let odd = add_exception(
        &app,
        &c.doctor,
        "TIME_OFF",
        &at(3, 10, 0).replace(":00Z", ":30Z"),
        &at(3, 12, 0),
    )
    .await;
    let not_a_doctor =
        add_exception(&app, &c.patient, "TIME_OFF", &at(3, 10, 0), &at(3, 12, 0)).await;

    // Assert
    assert_eq!(reversed.field(), Some("input.endsAt"));
    assert_eq!(past.field(), Some("input.endsAt"));
    assert_eq!(long_extra.field(), Some("input.endsAt"));
    assert_eq!(odd.field(), Some("input.startsAt"));
    assert_eq!(not_a_doctor.code(), Some("NOT_FOUND"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM availability_exceptions")
            .await,
        0
    );
}

#[tokio::test]
async fn fifty_bookings_around_a_buffer_at_once_leave_one_and_no_held_times_overlap() {
    // Arrange: a 15-minute buffer after a 10:00-10:30 booking (held until 10:45), and fifty
    // patients asking for 30 minutes at seven starts from 10:30 to 11:15: the first three
    // fall in the buffer, and any two of the other four overlap once held with their buffer.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    set_profile(&app, &c.doctor, json!({"bufferMinutes": 15}))
        .await
        .data();
    c.book(&app, &c.patient, &at(5, 10, 0)).await;
    let patients = join_all((0..50).map(|i| {
        let app = &app;
        async move { app.signed_in(&format!("patient{i}@example.com")).await }
    }))
    .await;
    let starts = [
        (10, 30),
        (10, 35),
        (10, 40),
        (10, 45),
        (10, 50),
        (11, 0),
        (11, 15),
    ];

    // Act
    let results = join_all(patients.iter().enumerate().map(|(i, p)| {
        let (h, m) = starts[i % starts.len()];
        let app = &app;
        let doctor = &c.doctor_id;
        async move { book_for(app, p, doctor, &at(5, h, m), 30).await }
    }))
    .await;

    // Assert
    let other: Vec<_> = results
        .iter()
        .filter(|r| !matches!(r.code(), None | Some("CONFLICT")))
        .map(|r| r.body.clone())
        .collect();
    assert!(other.is_empty(), "unexpected answers: {other:?}");
    assert_eq!(results.iter().filter(|r| r.code().is_none()).count(), 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM consultations").await, 2);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM consultations a JOIN consultations b ON a.id < b.id \
             AND a.doctor_id = b.doctor_id AND a.scheduled_at < b.blocked_until \
             AND b.scheduled_at < a.blocked_until"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn the_database_itself_refuses_a_booking_in_another_bookings_buffer() {
    // Arrange: a booking made with a 15-minute buffer.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    set_profile(&app, &c.doctor, json!({"bufferMinutes": 15}))
        .await
        .data();
    let id = c.book(&app, &c.patient, &at(5, 10, 0)).await;
    let other = app.signed_in("other@example.com").await;
    let mut row = consultation_row(&app, &id).await;
    assert_eq!(row.blocked_until - row.ends_at, Duration::minutes(15));

    // Act: a row starting in the buffer, inserted around the service; and one just after it.
    row.patient_id = uuid::Uuid::parse_str(&other.user_id).expect("uuid");
    row.scheduled_at += Duration::minutes(40);
    row.ends_at += Duration::minutes(40);
    row.blocked_until = row.ends_at;
    let in_buffer = insert_around_the_service(&app, row.clone()).await;
    row.scheduled_at += Duration::minutes(5);
    row.ends_at += Duration::minutes(5);
    row.blocked_until = row.ends_at;
    let after_buffer = insert_around_the_service(&app, row).await;

    // Assert
    assert!(
        in_buffer.is_err(),
        "the constraint holds without the service"
    );
    assert!(after_buffer.is_ok(), "{after_buffer:?}");
}

#[tokio::test]
async fn time_off_racing_bookings_never_leaves_a_booking_inside_it() {
    // Arrange: twenty patients and the doctor's time off over the same two hours.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let patients = join_all((0..20).map(|i| {
        let app = &app;
        async move { app.signed_in(&format!("patient{i}@example.com")).await }
    }))
    .await;

    // Act
    let bookings = join_all(patients.iter().enumerate().map(|(i, p)| {
        let app = &app;
        let doctor = &c.doctor_id;
        let minute = u32::try_from(i % 4).expect("small") * 30;
        async move { book_for(app, p, doctor, &at(6, 10 + minute / 60, minute % 60), 30).await }
    }));
    let (from, to) = (at(6, 10, 0), at(6, 12, 0));
    let off = add_exception(&app, &c.doctor, "TIME_OFF", &from, &to);
    let (bookings, off) = tokio::join!(bookings, off);

    // Assert
    let booked = bookings.iter().filter(|r| r.code().is_none()).count();
    assert!(
        bookings
            .iter()
            .all(|r| matches!(r.code(), None | Some("CONFLICT") | Some("BAD_USER_INPUT"))),
        "{:?}",
        bookings.iter().map(|r| r.body.clone()).collect::<Vec<_>>()
    );
    match off.code() {
        None => assert_eq!(booked, 0, "time off was added over bookings"),
        Some(code) => {
            assert_eq!(code, "CONFLICT");
            assert!(booked > 0);
        }
    }
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM consultations c JOIN availability_exceptions x \
             ON x.doctor_id = c.doctor_id AND x.kind = 'TIME_OFF' \
             AND c.scheduled_at < x.ends_at AND x.starts_at < c.ends_at"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn a_page_of_doctors_with_their_exceptions_costs_the_same_statements_for_two_or_six() {
    // Arrange: six verified doctors, each with time off and extra hours.
    let app = spawn_app().await;
    let root = app.super_admin().await;
    for i in 0..6 {
        let user = app.signed_in(&format!("doctor{i}@example.com")).await;
        let d = doctor_profile(
            &app,
            uuid::Uuid::parse_str(&user.user_id).expect("uuid"),
            None,
            &format!("KMC-9{i:03}"),
            "Cardiology",
        )
        .await;
        for (kind, day) in [("TIME_OFF", 3), ("EXTRA_HOURS", 4)] {
            add_exception(&app, &user, kind, &at(day, 10, 0), &at(day, 12, 0))
                .await
                .data();
        }
        assert_eq!(d.user_id.to_string(), user.user_id);
    }

    // Act and assert
    doctor_pages_cost_alike(&app, &root, ("availabilityExceptions", "kind startsAt"), 2).await;
}

#[tokio::test]
async fn every_caller_against_a_doctors_exceptions() {
    // Arrange: the doctor's time off.
    let app = spawn_app().await;
    let c = Clinic::new(&app).await;
    let staff = c.add_staff(&app).await;
    let stranger = app.signed_in("stranger@example.com").await;
    let off = add_exception(&app, &c.doctor, "TIME_OFF", &at(3, 10, 0), &at(3, 12, 0)).await;
    let off_id = id_of(&off, "addAvailabilityException");
    let seen = async |who: &Session| {
        app.gql(
            Some(&who.access),
            "query($d: ID!) { doctor(id: $d) { availabilityExceptions { id note } } }",
            json!({"d": c.doctor_id}),
        )
        .await
        .data()["doctor"]["availabilityExceptions"]
            .clone()
    };

    // Act and assert: only the doctor adds or removes their own (the input of the add is in
    // the past, so a caller let through then fails on it).
    //                                                 anon stranger pat doc adm staff SA
    let rows: Vec<Row<7>> = vec![
        (
            "addAvailabilityException",
            mutation(
                "addAvailabilityException",
                "AddAvailabilityExceptionInput",
                "exception { id }",
            ),
            json!({"i": {"kind": "TIME_OFF", "startsAt": at(-3, 10, 0), "endsAt": at(-3, 11, 0)}}),
            [U, N, N, A, N, N, N],
        ),
        (
            "removeAvailabilityException",
            mutation(
                "removeAvailabilityException",
                "RemoveAvailabilityExceptionInput",
                "exception { id }",
            ),
            json!({"i": {"exceptionId": off_id}}),
            [U, N, N, A, N, N, N],
        ),
    ];
    c.worklist_matrix(&stranger, &staff)
        .telling_not_found_apart()
        .assert(&app, &rows)
        .await;
    let again = add_exception(&app, &c.doctor, "TIME_OFF", &at(3, 10, 0), &at(3, 12, 0)).await;
    again.data();
    assert_eq!(seen(&c.doctor).await.as_array().map(Vec::len), Some(1));
    assert_eq!(seen(&c.admin).await.as_array().map(Vec::len), Some(1));
    assert_eq!(seen(&c.root).await.as_array().map(Vec::len), Some(1));
    assert_eq!(seen(&c.patient).await, Value::Null);
    assert_eq!(seen(&staff).await, Value::Null);
    assert_eq!(seen(&stranger).await, Value::Null);
}
