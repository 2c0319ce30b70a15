//! Account-email mutations: each runs its command through the pipeline.

use super::{commands::*, types::*};
use crate::{error::AppResult, graphql::context::CtxExt, identity::service::Device, pipeline};
use async_graphql::{Context, Object};

#[derive(Default)]
pub struct AccountEmailMutation;

#[Object]
impl AccountEmailMutation {
    /// Confirms the account's email with the code from the verification email. Each code
    /// works once and expires.
    async fn verify_email(
        &self,
        ctx: &Context<'_>,
        input: VerifyEmailInput,
    ) -> AppResult<VerifyEmailPayload> {
        pipeline::respond::<VerifyEmail, _>(ctx, input).await
    }

    /// Sends the signed-in user a new verification email (the previous code stops working).
    async fn resend_verification(&self, ctx: &Context<'_>) -> AppResult<ResendVerificationPayload> {
        let user = ctx.req()?.viewer.user_id();
        pipeline::respond::<ResendVerification, _>(ctx, user).await
    }

    /// Emails a password reset code to the account with this email, if there is one. The
    /// answer is the same either way; requests are rate-limited per IP and per email.
    async fn request_password_reset(
        &self,
        ctx: &Context<'_>,
        input: RequestPasswordResetInput,
    ) -> AppResult<RequestPasswordResetPayload> {
        let from = Device::of(ctx.req()?);
        pipeline::respond::<RequestPasswordReset, _>(ctx, (input, from)).await
    }

    /// Sets a new password with the code from the reset email, and ends every session of the
    /// account: its refresh tokens and access tokens stop working at once.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        input: ResetPasswordInput,
    ) -> AppResult<ResetPasswordPayload> {
        pipeline::respond::<ResetPassword, _>(ctx, input).await
    }
}
