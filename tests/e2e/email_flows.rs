//! Account emails (DESIGN §7.5): email verification and password reset, each a single-use,
//! short-lived code mailed through the outbox to a real SMTP server.

use lifeflow_tests::{
    mail::{Mail, SmtpServer, app_mailing},
    *,
};
use serde_json::json;
use std::time::Duration;

const ARRIVES: Duration = Duration::from_secs(20);
const NEW_PASSWORD: &str = "a brand new passphrase";

const VERIFY: &str =
    "mutation($i: VerifyEmailInput!) { verifyEmail(input: $i) { user { id emailVerifiedAt } } }";
const REQUEST_RESET: &str =
    "mutation($i: RequestPasswordResetInput!) { requestPasswordReset(input: $i) { accepted } }";
const RESET: &str =
    "mutation($i: ResetPasswordInput!) { resetPassword(input: $i) { user { id } sessionsEnded } }";
const ME: &str = "{ me { id emailVerifiedAt } }";

/// The code on its own line of an account email.
pub fn code_in(mail: &Mail) -> String {
    mail.body()
        .lines()
        .find_map(|l| l.trim().strip_prefix("code: "))
        .unwrap_or_else(|| panic!("no code in {}", mail.body()))
        .trim()
        .to_string()
}

fn subject_has(m: &Mail, words: &str) -> bool {
    m.header("Subject").is_some_and(|s| s.contains(words))
}

/// The newest mail to `to` whose subject has `words`, once it arrived.
pub async fn mail_about(smtp: &SmtpServer, to: &str, words: &str, n: usize) -> Mail {
    let deadline = tokio::time::Instant::now() + ARRIVES;
    loop {
        let mails: Vec<Mail> = smtp
            .mails_to(to)
            .into_iter()
            .filter(|m| subject_has(m, words))
            .collect();
        if mails.len() >= n {
            return mails[n - 1].clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no mail about {words} to {to}: {:#?}",
            smtp.mails()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn request_reset(app: &TestApp, email: &str) -> Gql {
    app.gql(None, REQUEST_RESET, json!({"i": {"email": email}}))
        .await
}

#[tokio::test]
async fn registering_mails_a_code_that_verifies_the_email_once() {
    // Arrange
    let smtp = SmtpServer::start().await;
    let app = app_mailing(&smtp, &[]).await;
    let me = app.signed_in("newcomer@mail.example").await;
    let before = app.gql(Some(&me.access), ME, json!({})).await;
    let mail = mail_about(&smtp, &me.email, "Confirm your email", 1).await;
    let code = code_in(&mail);

    // Act
    let first = app.gql(None, VERIFY, json!({"i": {"token": code}})).await;
    let again = app.gql(None, VERIFY, json!({"i": {"token": code}})).await;
    let forged = app
        .gql(None, VERIFY, json!({"i": {"token": "not-a-real-code"}}))
        .await;

    // Assert
    assert!(before.data()["me"]["emailVerifiedAt"].is_null());
    assert!(first.data()["verifyEmail"]["user"]["emailVerifiedAt"].is_string());
    assert!(
        mail.body().contains("/verify-email?token="),
        "{}",
        mail.body()
    );
    assert_eq!(again.code(), Some("BAD_USER_INPUT"));
    assert_eq!(again.field(), Some("input.token"));
    assert_eq!(forged.code(), Some("BAD_USER_INPUT"));
    let after = app.gql(Some(&me.access), ME, json!({})).await;
    assert!(after.data()["me"]["emailVerifiedAt"].is_string());
    let stored = app
        .count(&format!(
            "SELECT COUNT(*) FROM account_tokens WHERE token_hash = '{code}'"
        ))
        .await;
    assert_eq!(stored, 0, "only the code's hash is stored");
}

#[tokio::test]
async fn a_password_reset_sets_the_password_and_ends_every_session() {
    // Arrange: the user is signed in twice (two refresh tokens, two access tokens).
    let smtp = SmtpServer::start().await;
    let app = app_mailing(&smtp, &[]).await;
    let phone = app.signed_in("forgetful@mail.example").await;
    let laptop = app.login(&phone.email, PASSWORD).await;
    assert!(
        app.gql(Some(&laptop.access), ME, json!({}))
            .await
            .code()
            .is_none()
    );

    // Act
    let asked = request_reset(&app, "Forgetful@Mail.example").await;
    let code = code_in(&mail_about(&smtp, &phone.email, "Reset your password", 1).await);
    let reset = app
        .gql(
            None,
            RESET,
            json!({"i": {"token": code, "newPassword": NEW_PASSWORD}}),
        )
        .await;

    // Assert: the old access tokens, the old refresh tokens and the old password all fail;
    // the new password works.
    assert_eq!(asked.data()["requestPasswordReset"]["accepted"], true);
    assert_eq!(reset.data()["resetPassword"]["sessionsEnded"], 2);
    for old in [&phone, &laptop] {
        let me = app.gql(Some(&old.access), ME, json!({})).await;
        assert_eq!(me.code(), Some("UNAUTHENTICATED"), "{:?}", me.body);
        let refreshed = app
            .gql(
                None,
                "mutation($i: RefreshSessionInput!) { refreshSession(input: $i) { accessToken } }",
                json!({"i": {"refreshToken": old.refresh}}),
            )
            .await;
        assert_eq!(refreshed.code(), Some("UNAUTHENTICATED"));
    }
    assert_eq!(
        app.try_login(&phone.email, PASSWORD).await.code(),
        Some("UNAUTHENTICATED")
    );
    let fresh = app.login(&phone.email, NEW_PASSWORD).await;
    let me = app.gql(Some(&fresh.access), ME, json!({})).await;
    assert_eq!(me.data()["me"]["id"], phone.user_id.as_str());
}

#[tokio::test]
async fn a_reset_code_works_once() {
    // Arrange
    let smtp = SmtpServer::start().await;
    let app = app_mailing(&smtp, &[]).await;
    let me = app.signed_in("twice@mail.example").await;
    request_reset(&app, &me.email).await.data();
    let code = code_in(&mail_about(&smtp, &me.email, "Reset your password", 1).await);
    let input = json!({"i": {"token": code, "newPassword": NEW_PASSWORD}});
    app.gql(None, RESET, input.clone()).await.data();

    // Act
    let reused = app
        .gql(
            None,
            RESET,
            json!({"i": {"token": code, "newPassword": "yet another passphrase"}}),
        )
        .await;

    // Assert
    assert_eq!(reused.code(), Some("BAD_USER_INPUT"));
    assert_eq!(reused.field(), Some("input.token"));
    app.login(&me.email, NEW_PASSWORD).await;
}

#[tokio::test]
async fn an_expired_reset_code_is_refused() {
    // Arrange: codes live zero seconds.
    let smtp = SmtpServer::start().await;
    let app = app_mailing(&smtp, &[("PASSWORD_RESET_TTL_SECS", "0")]).await;
    let me = app.signed_in("late@mail.example").await;
    request_reset(&app, &me.email).await.data();
    let code = code_in(&mail_about(&smtp, &me.email, "Reset your password", 1).await);

    // Act
    let r = app
        .gql(
            None,
            RESET,
            json!({"i": {"token": code, "newPassword": NEW_PASSWORD}}),
        )
        .await;

    // Assert
    assert_eq!(r.code(), Some("BAD_USER_INPUT"));
    app.login(&me.email, PASSWORD).await;
}

#[tokio::test]
async fn a_reset_for_an_unknown_email_answers_exactly_as_for_a_known_one_and_mails_nothing() {
    // Arrange
    let smtp = SmtpServer::start().await;
    let app = app_mailing(&smtp, &[]).await;
    let known = app.signed_in("known@mail.example").await;

    // Act
    let for_known = request_reset(&app, &known.email).await;
    let for_unknown = request_reset(&app, "nobody@mail.example").await;

    // Assert
    assert_eq!(for_known.status, for_unknown.status);
    assert_eq!(for_known.body, for_unknown.body);
    mail_about(&smtp, &known.email, "Reset your password", 1).await;
    let none = app
        .count("SELECT COUNT(*) FROM outbox_deliveries WHERE recipient = 'nobody@mail.example'")
        .await;
    assert_eq!(none, 0);
}

#[tokio::test]
async fn reset_requests_are_rate_limited_per_email_whether_or_not_it_has_an_account() {
    // Arrange
    let app = spawn_app_with(&[("PASSWORD_RESET_MAX_PER_EMAIL", "2")]).await;
    let known = app.signed_in("limited@mail.example").await;

    // Act
    let mut known_codes = Vec::new();
    let mut unknown_codes = Vec::new();
    for _ in 0..3 {
        known_codes.push(
            request_reset(&app, &known.email)
                .await
                .code()
                .map(str::to_string),
        );
        unknown_codes.push(
            request_reset(&app, "ghost@mail.example")
                .await
                .code()
                .map(str::to_string),
        );
    }

    // Assert
    let limited = vec![None, None, Some("RATE_LIMITED".to_string())];
    assert_eq!(known_codes, limited);
    assert_eq!(unknown_codes, limited);
}
