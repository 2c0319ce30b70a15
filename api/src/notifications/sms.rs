//! SMS through one HTTP provider interface: a JSON POST `{to, body, id}` to
//! `SMS_WEBHOOK_URL` with `Authorization: Bearer SMS_WEBHOOK_TOKEN`. `id` is the delivery's
//! stable id, for the provider to dedupe retries on. A 2xx answer is sent; 408, 429 and 5xx
//! are retried; any other 4xx is permanent.

use super::transport::{SendError, Transport};
use crate::app::StartError;
use entity::outbox_delivery;

/// Posts SMS deliveries to the provider.
pub struct SmsWebhookSender {
    http: reqwest::Client,
    url: reqwest::Url,
    token: Option<String>,
}

impl SmsWebhookSender {
    /// A sender for `SMS_WEBHOOK_URL` with its token.
    pub fn new(url: &str, token: Option<String>) -> Result<Self, StartError> {
        let url = reqwest::Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| StartError::Other("SMS_WEBHOOK_URL: not an http(s) URL".into()))?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| StartError::Other(format!("SMS client: {e}")))?;
        Ok(Self { http, url, token })
    }
}

#[async_trait::async_trait]
impl Transport for SmsWebhookSender {
    async fn send(&self, d: &outbox_delivery::Model) -> Result<(), SendError> {
        let to = d
            .recipient
            .as_deref()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| SendError::permanent("no phone number"))?;
        let mut req = self.http.post(self.url.clone()).json(&serde_json::json!({
            "to": to,
            "body": d.body,
            "id": d.id,
        }));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        let resp = req
            .send()
            .await
            .map_err(|_| SendError::retry("the SMS provider could not be reached"))?;
        let status = resp.status();
        if status.is_success() {
            Ok(())
        } else if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
            Err(SendError::retry(format!(
                "the SMS provider answered {}",
                status.as_u16()
            )))
        } else {
            Err(SendError::permanent(format!(
                "the SMS provider answered {}",
                status.as_u16()
            )))
        }
    }
}
