//! The messages that notifications become, per kind and locale. They never carry health
//! data (no patient, no finding, no note): they say what kind of thing happened and link to
//! the app, where the reader signs in and sees what they may see. English is the only locale
//! yet; another is a new arm of [`notification`] keyed by `locale`.

use entity::{NotificationKind, Severity, WireName};

/// A rendered message. `{link}` stands for the full URL of the delivery's link, made at send
/// time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub locale: &'static str,
    pub subject: String,
    /// The email body.
    pub body: String,
    /// The text message (short).
    pub sms: String,
}

/// Locales with templates.
pub const LOCALES: &[&str] = &["en"];

/// What a notification of `kind` and `priority` says, in `locale` (English when there is
/// no template for it).
pub fn notification(kind: NotificationKind, priority: Severity, _locale: &str) -> Rendered {
    use NotificationKind as K;
    let level = priority.wire_name();
    let (subject, line) = match kind {
        K::EmergencyRequest => (
            format!("{level}: an emergency blood request near you"),
            format!("A {level} alert needs your attention: an emergency blood request near you."),
        ),
        K::DelayedEmergency => (
            format!("{level}: an emergency request is still unanswered"),
            format!(
                "A {level} alert needs your attention: an emergency request is still unanswered."
            ),
        ),
        K::StockCritical => (
            format!("{level}: blood stock is low"),
            format!(
                "A {level} alert needs your attention: a blood stock level is below its threshold."
            ),
        ),
        K::ExpirySoon => (
            format!("{level}: units expire soon"),
            format!("A {level} alert needs your attention: blood units expire soon."),
        ),
        K::Lookback => (
            format!("{level}: a donation's units were discarded (lookback)"),
            format!(
                "A {level} alert needs your attention: a donation's units were discarded after a positive test."
            ),
        ),
        K::HoldLapsed => (
            format!("{level}: a reservation lapsed"),
            format!("A {level} alert needs your attention: a reservation of units lapsed."),
        ),
        K::OrgPending => (
            format!("{level}: an organization awaits review"),
            format!("A {level} alert needs your attention: an organization awaits review."),
        ),
        K::RiskFlag | K::CriticalFinding => (
            format!("{level}: a clinical alert"),
            format!("A {level} alert needs your attention."),
        ),
        K::EmergencyDrive => (
            format!("{level}: an emergency blood drive"),
            format!("A {level} alert needs your attention: an emergency blood drive was called."),
        ),
        K::ColdChainExcursion => (
            format!("{level}: a delivery left the cold chain"),
            format!(
                "A {level} alert needs your attention: units in delivery left their temperature range."
            ),
        ),
        K::TransfusionReaction => (
            format!("{level}: a serious transfusion reaction"),
            format!(
                "A {level} alert needs your attention: a serious reaction to a unit your bank supplied was reported."
            ),
        ),
        K::ConsultationUpdate => (
            "Your consultation changed".to_string(),
            "One of your consultations changed.".to_string(),
        ),
        K::Prescription => (
            "A new prescription".to_string(),
            "A prescription was written for you.".to_string(),
        ),
        K::ReportUpdate => (
            "Your medical report was updated".to_string(),
            "One of your medical reports was updated.".to_string(),
        ),
        K::DonorCallout => (
            "Blood donors are needed near you".to_string(),
            "Blood donors of your group are needed near you; please answer if you can come."
                .to_string(),
        ),
        K::EligibilityReminder => (
            "You can give blood again".to_string(),
            "Your waiting time is over: you may donate blood again.".to_string(),
        ),
        K::DriveUpdate => (
            "A blood drive changed".to_string(),
            "A blood drive of your organization changed.".to_string(),
        ),
        K::CampUpdate => (
            "A donation camp changed".to_string(),
            "A donation camp you registered for changed.".to_string(),
        ),
    };
    Rendered {
        locale: "en",
        subject: format!("LifeFlow: {subject}"),
        body: format!(
            "{line}\n\nOpen LifeFlow to see it: {{link}}\n\n\
             You receive this because of your notification preferences in LifeFlow."
        ),
        sms: format!("LifeFlow: {line} {{link}}"),
    }
}

/// The account emails (DESIGN §7.5): each carries a single-use code, as a link (`{link}`)
/// and as text to paste, and nothing else about the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountEmail {
    /// Confirm the address after registering.
    Verification,
    /// Set a new password.
    PasswordReset,
    /// Join an organization (its name is in the message).
    Invitation,
}

impl AccountEmail {
    /// The outbox kind of the delivery.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Verification => "EMAIL_VERIFICATION",
            Self::PasswordReset => "PASSWORD_RESET",
            Self::Invitation => "INVITATION",
        }
    }
}

/// What an account email says, with `code` on a line of its own (English for every locale
/// yet). `organization` names the inviting organization of an invitation.
pub fn account_email(
    which: AccountEmail,
    code: &str,
    organization: Option<&str>,
    _locale: &str,
) -> (String, String) {
    let (subject, line, after) = match which {
        AccountEmail::Verification => (
            "Confirm your email address".to_string(),
            "Confirm that this address is yours by opening this link:".to_string(),
            "If you did not create a LifeFlow account, ignore this message.",
        ),
        AccountEmail::PasswordReset => (
            "Reset your password".to_string(),
            "Someone asked to reset the password of your LifeFlow account. To choose a new \
             one, open this link (it works once, for a short time):"
                .to_string(),
            "If it was not you, ignore this message: your password stays as it is.",
        ),
        AccountEmail::Invitation => {
            let org = organization.unwrap_or("An organization");
            (
                format!("{org} invites you to LifeFlow"),
                format!("{org} invites you to join it on LifeFlow. To accept, open this link:"),
                "If you do not expect this invitation, ignore this message.",
            )
        }
    };
    (
        format!("LifeFlow: {subject}"),
        format!("{line}\n\n{{link}}\n\nOr enter this code in the app:\n\ncode: {code}\n\n{after}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Iterable;

    #[test]
    fn every_kind_has_an_english_message_with_its_link_and_its_level() {
        for kind in NotificationKind::iter() {
            let r = notification(kind, Severity::Critical, "en");
            assert!(r.body.contains("{link}"), "{kind:?}");
            assert!(r.sms.contains("{link}"), "{kind:?}");
            assert!(r.sms.len() < 160, "{kind:?}: {}", r.sms);
        }
        let r = notification(NotificationKind::CriticalFinding, Severity::Critical, "fr");
        assert_eq!(r.locale, "en");
        assert!(r.body.starts_with("A CRITICAL alert needs your attention"));
    }
}
