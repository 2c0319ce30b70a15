//! Email over SMTP (`lettre`, tokio + rustls). `SMTP_URL` takes lettre's forms:
//! `smtp://host:port` (unencrypted, a local relay), `smtp://user:pass@host:587?tls=required`
//! (STARTTLS), `smtps://user:pass@host` (TLS from the start). Connections are pooled.

use super::transport::{SendError, Transport};
use crate::app::StartError;
use entity::outbox_delivery;
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
};

/// Sends email deliveries through one SMTP server.
pub struct SmtpSender {
    mailer: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpSender {
    /// A sender for `SMTP_URL`, from `MAIL_FROM`.
    pub fn new(url: &str, from: &str) -> Result<Self, StartError> {
        let mailer = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            // lettre's error names the URL's problem, not its password.
            .map_err(|e| StartError::Other(format!("SMTP_URL: {e}")))?
            .build();
        let from = from
            .parse()
            .map_err(|e| StartError::Other(format!("MAIL_FROM: {e}")))?;
        Ok(Self { mailer, from })
    }
}

#[async_trait::async_trait]
impl Transport for SmtpSender {
    async fn send(&self, d: &outbox_delivery::Model) -> Result<(), SendError> {
        let to: Mailbox = d
            .recipient
            .as_deref()
            .unwrap_or_default()
            .parse()
            .map_err(|_| SendError::permanent("the recipient is not an email address"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            // Stable across retries: a receiver that got an earlier attempt can drop this one.
            .message_id(Some(format!("<{}@lifeflow>", d.id)))
            .subject(d.subject.clone().unwrap_or_default())
            .header(ContentType::TEXT_PLAIN)
            .body(d.body.clone())
            .map_err(|_| SendError::permanent("the message could not be built"))?;
        match self.mailer.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::permanent(smtp_reason(&e))),
            Err(e) => Err(SendError::retry(smtp_reason(&e))),
        }
    }
}

/// What the recipient may read of an SMTP failure: the server's reply code, or that it
/// could not be reached.
fn smtp_reason(e: &lettre::transport::smtp::Error) -> String {
    match e.status() {
        Some(code) => format!("the mail server answered {code}"),
        None if e.is_transient() => "the mail server refused the message for now".into(),
        None => "the mail server could not be reached".into(),
    }
}
