//! MFA resolvers: each hands its input to the pipeline.

use super::{commands::*, types::*};
use crate::{
    error::AppResult,
    graphql::context::CtxExt,
    identity::{service::Device, types::AuthPayload},
    pipeline,
};
use async_graphql::{Context, Object};

#[derive(Default)]
pub struct MfaMutation;

#[Object]
impl MfaMutation {
    /// Starts enrolling the caller in TOTP MFA: a new secret, pending until `confirmMfa`.
    async fn enable_mfa(&self, ctx: &Context<'_>) -> AppResult<EnableMfaPayload> {
        let user = ctx.req()?.viewer.user_id();
        pipeline::respond::<EnableMfa, _>(ctx, user).await
    }

    /// Turns MFA on with a first code from the app; answers the recovery codes once.
    async fn confirm_mfa(
        &self,
        ctx: &Context<'_>,
        input: ConfirmMfaInput,
    ) -> AppResult<ConfirmMfaPayload> {
        let user = ctx.req()?.viewer.user_id();
        pipeline::respond::<ConfirmMfa, _>(ctx, (input, user)).await
    }

    /// Completes a login that answered `mfaRequired`. Each code works once; attempts are
    /// rate-limited per token and per account.
    async fn verify_mfa(&self, ctx: &Context<'_>, input: VerifyMfaInput) -> AppResult<AuthPayload> {
        let from = Device::of(ctx.req()?);
        pipeline::respond::<VerifyMfa, _>(ctx, (input, from)).await
    }

    /// Turns MFA off, with the password and a current code.
    async fn disable_mfa(
        &self,
        ctx: &Context<'_>,
        input: DisableMfaInput,
    ) -> AppResult<DisableMfaPayload> {
        let user = ctx.req()?.viewer.user_id();
        pipeline::respond::<DisableMfa, _>(ctx, (input, user)).await
    }
}
