//! `eraseDonor` (DESIGN §7.5): the donor themself or a super admin replaces the donor's
//! personal fields with tombstones. The row stays, as an anonymous donor record that keeps
//! its donations, units and their history traceable (blood group, donation dates and
//! counts remain; name, birth date, contacts, address, place, deferral texts, hemoglobin
//! and the donor card do not). The donor's user account is deactivated, its email and phone
//! freed, and every session ended. A second erasure is refused (`CONFLICT`).

use crate::{
    audit::Change,
    auth::{Rule, Viewer, accounts, revocation::Revocation},
    db::{find_locked, now},
    error::{AppError, AppResult},
    events::Event,
    graphql::{ids::to_id, prelude::*},
    identity::service::revoke_user_sessions,
    pipeline::{self, Command, Exec},
    validation::DonorCode,
};
use async_graphql::{InputObject, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{donor, donor_reward_setting, sealed::Sealed, user};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::json;
use uuid::Uuid;

/// The name an erased donor's record (and account) carries.
pub const ERASED_NAME: &str = "Erased donor";

/// Input of `eraseDonor`.
#[derive(InputObject)]
pub struct EraseDonorInput {
    pub donor_id: ID,
}

#[derive(SimpleObject)]
pub struct EraseDonorPayload {
    /// The record that remains, anonymous, for the traceability of donations and units.
    pub donor_id: ID,
    pub erased_at: DateTime<Utc>,
}

impl From<(Uuid, DateTime<Utc>)> for EraseDonorPayload {
    fn from((id, at): (Uuid, DateTime<Utc>)) -> Self {
        Self {
            donor_id: to_id(id),
            erased_at: at,
        }
    }
}

/// `eraseDonor`, parsed.
pub struct EraseDonor {
    donor_id: Uuid,
}

impl TryFrom<EraseDonorInput> for EraseDonor {
    type Error = AppError;

    fn try_from(input: EraseDonorInput) -> AppResult<Self> {
        Ok(Self {
            donor_id: parse_id(&input.donor_id, "input.donorId")?,
        })
    }
}

impl Command for EraseDonor {
    type Input = EraseDonorInput;
    type Output = (Uuid, DateTime<Utc>);
    const ACTION: &'static str = "donor.erase";
    const ENTITY: &'static str = "donor";
    const RULE: Rule = Rule::SignedIn;

    fn entity_id(&self) -> Option<Uuid> {
        Some(self.donor_id)
    }

    async fn execute(self, exec: &Exec<'_>) -> AppResult<(Self::Output, Change)> {
        erase(exec.txn, self.donor_id, exec.viewer).await
    }
}

/// `eraseDonor`: locks the donor, checks who asks (`auth::accounts::may_erase_donor`),
/// tombstones the record and the account, ends the account's sessions.
pub async fn erase<C: ConnectionTrait>(
    db: &C,
    donor_id: Uuid,
    viewer: &Viewer,
) -> AppResult<((Uuid, DateTime<Utc>), Change)> {
    let d = find_locked::<donor::Entity, _>(db, donor_id)
        .await?
        .ok_or(AppError::NotFound("donor"))?;
    accounts::may_erase_donor(viewer, d.user_id)?;
    if d.erased_at.is_some() {
        return Err(AppError::Conflict("this donor was erased already".into()));
    }
    let t = now();
    let unknown_birth = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default();
    // A conditional update, so that of two erasures racing one does the work. Sealed values
    // are encrypted by `Expr::value` like any write; the blind index is cleared (not the
    // index of an empty phone, which every erased record would share).
    let done = donor::Entity::update_many()
        .col_expr(donor::Column::FullName, Expr::value(ERASED_NAME))
        .col_expr(
            donor::Column::DateOfBirth,
            Expr::value(Sealed(unknown_birth)),
        )
        .col_expr(donor::Column::Phone, Expr::value(Sealed(String::new())))
        .col_expr(
            donor::Column::PhoneIndex,
            Expr::value(Option::<String>::None),
        )
        .col_expr(donor::Column::Email, Expr::value(Option::<String>::None))
        .col_expr(
            donor::Column::Address,
            Expr::value(Option::<Sealed<String>>::None),
        )
        .col_expr(donor::Column::Gender, Expr::value(Option::<String>::None))
        .col_expr(donor::Column::City, Expr::value(""))
        .col_expr(donor::Column::State, Expr::value(Option::<String>::None))
        .col_expr(donor::Column::Latitude, Expr::value(Option::<f64>::None))
        .col_expr(donor::Column::Longitude, Expr::value(Option::<f64>::None))
        .col_expr(
            donor::Column::LastHemoglobin,
            Expr::value(Option::<f64>::None),
        )
        .col_expr(donor::Column::Deferrals, Expr::value(json!([])))
        .col_expr(donor::Column::AcceptsCallouts, Expr::value(false))
        .col_expr(donor::Column::UserId, Expr::value(Option::<Uuid>::None))
        .col_expr(
            donor::Column::DonorCode,
            Expr::value(DonorCode::generate().as_str().to_string()),
        )
        .col_expr(donor::Column::ErasedAt, Expr::value(t))
        .col_expr(donor::Column::UpdatedAt, Expr::value(t))
        .filter(donor::Column::Id.eq(d.id))
        .filter(donor::Column::ErasedAt.is_null())
        .exec(db)
        .await?;
    if done.rows_affected != 1 {
        return Err(AppError::Conflict("this donor was erased already".into()));
    }
    // A leaderboard name is the donor's own choice of words: gone too.
    donor_reward_setting::Entity::update_many()
        .col_expr(
            donor_reward_setting::Column::DisplayName,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            donor_reward_setting::Column::ShowOnLeaderboard,
            Expr::value(false),
        )
        .filter(donor_reward_setting::Column::DonorId.eq(d.id))
        .exec(db)
        .await?;
    let mut events = Vec::new();
    if let Some(uid) = d.user_id {
        user::Entity::update_many()
            .col_expr(user::Column::FullName, Expr::value(ERASED_NAME))
            .col_expr(
                user::Column::Email,
                Expr::value(format!("erased-{uid}@erased.invalid")),
            )
            .col_expr(user::Column::Phone, Expr::value(Option::<String>::None))
            .col_expr(user::Column::IsActive, Expr::value(false))
            .col_expr(user::Column::CredentialsChangedAt, Expr::value(t))
            .col_expr(user::Column::UpdatedAt, Expr::value(t))
            .filter(user::Column::Id.eq(uid))
            .exec(db)
            .await?;
        revoke_user_sessions(db, uid).await?;
        events.push(Event::Revoked(Revocation::User { id: uid }));
    }
    // The audit row says that it happened, never what was erased.
    let change = Change {
        entity_id: Some(d.id),
        organization_id: d.registered_by_org_id,
        new: Some(json!({"erased": true, "accountDeactivated": d.user_id.is_some()})),
        events,
        ..Change::default()
    };
    Ok(((d.id, t), change))
}

#[derive(Default)]
pub struct ErasureMutation;

#[Object]
impl ErasureMutation {
    /// Erases a donor's personal data (the donor themself, or a super admin): the record
    /// stays, anonymous, so that their donations and units remain traceable; their account
    /// is deactivated and every session ended. Cannot be undone; a second call is refused.
    async fn erase_donor(
        &self,
        ctx: &Context<'_>,
        input: EraseDonorInput,
    ) -> AppResult<EraseDonorPayload> {
        pipeline::respond::<EraseDonor, _>(ctx, input).await
    }
}
