//! The points ledger: what each cause grants (written by the cause's own use case, in its
//! transaction, once per source event), and what a donor's rewards are made of.

use crate::{
    audit::Change,
    db::now,
    error::{AppError, AppResult},
};
use chrono::{DateTime, Datelike, TimeZone, Utc};
use entity::{BloodGroup, RewardSource, donor, donor_reward_setting, reward_point};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, TryInsertResult,
    sea_query::{Expr, ExprTrait, Func, OnConflict, Order, Query},
};
use serde_json::json;
use uuid::Uuid;

/// Points for a recorded donation.
pub const DONATION_POINTS: i32 = 100;
/// Points for attending a camp the donor registered for.
pub const CAMP_ATTENDANCE_POINTS: i32 = 50;
/// Points to the referrer when the donor they referred gives for the first time.
pub const REFERRAL_POINTS: i32 = 50;
/// Points for answering a donor call-out and coming.
pub const CALLOUT_POINTS: i32 = 150;

/// Credits `points` to `donor` for one source event; a second grant for the same event (a
/// retry, a race) changes nothing. Returns whether this call granted them.
pub async fn grant<C: ConnectionTrait>(
    db: &C,
    donor: Uuid,
    kind: RewardSource,
    source: Uuid,
    points: i32,
) -> AppResult<bool> {
    let row = reward_point::ActiveModel {
        source_kind: Set(kind),
        source_id: Set(source),
        donor_id: Set(donor),
        points: Set(points),
        earned_at: Set(now()),
    };
    let done = reward_point::Entity::insert(row)
        .on_conflict_do_nothing()
        .exec_without_returning(db)
        .await?;
    Ok(matches!(done, TryInsertResult::Inserted(n) if n > 0))
}

/// A donation was recorded: 100 points to its donor.
pub async fn donation_recorded<C: ConnectionTrait>(
    db: &C,
    donor: Uuid,
    donation: Uuid,
) -> AppResult<bool> {
    grant(db, donor, RewardSource::Donation, donation, DONATION_POINTS).await
}

/// A donor attended a camp they registered for: 50 points, once per registration.
pub async fn camp_attended<C: ConnectionTrait>(
    db: &C,
    donor: Uuid,
    registration: Uuid,
) -> AppResult<bool> {
    grant(
        db,
        donor,
        RewardSource::CampAttendance,
        registration,
        CAMP_ATTENDANCE_POINTS,
    )
    .await
}

/// The donor `referred` gave for the first time and `referrer` had referred them (a camp
/// registration's `referredBy`): 50 points to the referrer, once per referred donor.
pub async fn referral_first_donation<C: ConnectionTrait>(
    db: &C,
    referrer: Uuid,
    referred: Uuid,
) -> AppResult<bool> {
    if referrer == referred {
        return Ok(false);
    }
    grant(
        db,
        referrer,
        RewardSource::Referral,
        referred,
        REFERRAL_POINTS,
    )
    .await
}

/// A donor answered a call-out and came: 150 points, once per call-out response. The
/// call-out use case (`respondToCallout` and the attendance it leads to) calls this in its
/// own transaction when the donor is recorded as having come.
pub async fn callout_answered<C: ConnectionTrait>(
    db: &C,
    donor: Uuid,
    response: Uuid,
) -> AppResult<bool> {
    grant(
        db,
        donor,
        RewardSource::CalloutResponse,
        response,
        CALLOUT_POINTS,
    )
    .await
}

/// A donor's tier, by lifetime points.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    /// From 0 points.
    Bronze,
    /// From 500 points.
    Silver,
    /// From 1,500 points.
    Gold,
    /// From 3,000 points.
    Platinum,
    /// From 6,000 points.
    Diamond,
}

impl Tier {
    /// The tier `lifetime` points reach.
    pub fn of(lifetime: i64) -> Self {
        match lifetime {
            p if p >= 6_000 => Self::Diamond,
            p if p >= 3_000 => Self::Platinum,
            p if p >= 1_500 => Self::Gold,
            p if p >= 500 => Self::Silver,
            _ => Self::Bronze,
        }
    }
}

/// A badge a donor has earned.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Badge {
    /// Gave blood once.
    FirstDonation,
    /// Gave blood 5 times.
    FiveDonations,
    /// Gave blood 10 times.
    TenDonations,
    /// Gave blood 25 times.
    TwentyFiveDonations,
    /// An O−, B− or AB− donor who has given at least once.
    RareGroupHero,
    /// Answered a donor call-out and came at least once.
    EmergencyResponder,
    /// Attended at least 3 camps.
    CampRegular,
}

/// Camps attended for [`Badge::CampRegular`].
pub const CAMP_REGULAR_CAMPS: i64 = 3;

/// What a donor's ledger adds up to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Sum of every entry (redemptions, when they exist, are negative entries).
    pub points: i64,
    /// Sum of the points earned.
    pub lifetime_points: i64,
    pub donations: i64,
    pub camps_attended: i64,
    pub callouts_answered: i64,
}

impl Summary {
    /// The donor's tier.
    pub fn tier(&self) -> Tier {
        Tier::of(self.lifetime_points)
    }

    /// The badges earned, in the order of [`Badge`].
    pub fn badges(&self, group: BloodGroup) -> Vec<Badge> {
        let mut out = Vec::new();
        for (n, b) in [
            (1, Badge::FirstDonation),
            (5, Badge::FiveDonations),
            (10, Badge::TenDonations),
            (25, Badge::TwentyFiveDonations),
        ] {
            if self.donations >= n {
                out.push(b);
            }
        }
        if self.donations >= 1
            && matches!(
                group,
                BloodGroup::ONeg | BloodGroup::AbNeg | BloodGroup::BNeg
            )
        {
            out.push(Badge::RareGroupHero);
        }
        if self.callouts_answered >= 1 {
            out.push(Badge::EmergencyResponder);
        }
        if self.camps_attended >= CAMP_REGULAR_CAMPS {
            out.push(Badge::CampRegular);
        }
        out
    }
}

/// Adds up a donor's ledger in one grouped query.
pub async fn summary<C: ConnectionTrait>(db: &C, donor: Uuid) -> AppResult<Summary> {
    let rows: Vec<(RewardSource, i64, Option<i64>, Option<i64>)> = reward_point::Entity::find()
        .select_only()
        .column(reward_point::Column::SourceKind)
        .column_as(Expr::col(reward_point::Column::SourceId).count(), "n")
        .column_as(Expr::cust("SUM(points)"), "total")
        .column_as(
            Expr::cust("SUM(CASE WHEN points > 0 THEN points ELSE 0 END)"),
            "earned",
        )
        .filter(reward_point::Column::DonorId.eq(donor))
        .group_by(reward_point::Column::SourceKind)
        .into_tuple()
        .all(db)
        .await?;
    let mut s = Summary::default();
    for (kind, n, total, earned) in rows {
        s.points += total.unwrap_or(0);
        s.lifetime_points += earned.unwrap_or(0);
        match kind {
            RewardSource::Donation => s.donations = n,
            RewardSource::CampAttendance => s.camps_attended = n,
            RewardSource::CalloutResponse => s.callouts_answered = n,
            RewardSource::Referral => {}
        }
    }
    Ok(s)
}

/// The donor record of a signed-in user, if they have one.
pub async fn donor_of<C: ConnectionTrait>(db: &C, user: Uuid) -> AppResult<Option<donor::Model>> {
    Ok(donor::Entity::find()
        .filter(donor::Column::UserId.eq(user))
        .one(db)
        .await?)
}

/// A donor's leaderboard choice (not opted in without a row).
pub async fn settings<C: ConnectionTrait>(
    db: &C,
    donor: Uuid,
) -> AppResult<Option<donor_reward_setting::Model>> {
    Ok(donor_reward_setting::Entity::find_by_id(donor)
        .one(db)
        .await?)
}

/// Sets whether the signed-in donor `user` appears on leaderboards, and under which name.
pub async fn set_preference<C: ConnectionTrait>(
    db: &C,
    user: Uuid,
    show: bool,
    display_name: Option<String>,
) -> AppResult<(donor_reward_setting::Model, Change)> {
    let d = donor_of(db, user)
        .await?
        .ok_or(AppError::NotFound("donor"))?;
    let before = settings(db, d.id).await?;
    let display_name =
        display_name.or_else(|| before.as_ref().and_then(|b| b.display_name.clone()));
    if show && display_name.is_none() {
        return Err(AppError::bad_input(
            "input.displayName",
            "choose the name shown on leaderboards",
        ));
    }
    let row = donor_reward_setting::Model {
        donor_id: d.id,
        show_on_leaderboard: show,
        display_name,
        updated_at: now(),
    };
    let am: donor_reward_setting::ActiveModel = row.clone().into();
    donor_reward_setting::Entity::insert(am)
        .on_conflict(
            OnConflict::column(donor_reward_setting::Column::DonorId)
                .update_columns([
                    donor_reward_setting::Column::ShowOnLeaderboard,
                    donor_reward_setting::Column::DisplayName,
                    donor_reward_setting::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    let json_of = |s: &donor_reward_setting::Model| json!({"showOnLeaderboard": s.show_on_leaderboard, "displayName": s.display_name});
    let change = Change {
        entity_id: Some(d.id),
        old: before.as_ref().map(json_of),
        new: Some(json_of(&row)),
        organization_id: d.ngo_id,
        ..Change::default()
    };
    Ok((row, change))
}

/// Which donors a leaderboard ranks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ranked {
    /// Donors living in this city (compared without case).
    City(String),
    /// Donors this NGO manages.
    Ngo(Uuid),
    Network,
}

/// One line of a leaderboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub display_name: String,
    pub points: i64,
}

/// The start of the month or year `now` is in (UTC), or `None` for all time.
pub fn period_start(period: Period, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let (y, m) = (now.year(), now.month());
    match period {
        Period::Month => Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).single(),
        Period::Year => Utc.with_ymd_and_hms(y, 1, 1, 0, 0, 0).single(),
        Period::AllTime => None,
    }
}

/// The period a leaderboard adds points over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Month,
    Year,
    AllTime,
}

/// The top `limit` opted-in donors by points earned since `since`: one grouped query over
/// the ledger joined to the opt-ins (a donor who has not opted in is never read).
pub async fn leaderboard<C: ConnectionTrait>(
    db: &C,
    ranked: &Ranked,
    since: Option<DateTime<Utc>>,
    limit: u64,
) -> AppResult<Vec<Line>> {
    use donor_reward_setting as s;
    use reward_point as r;
    let total = Expr::cust("SUM(reward_points.points)");
    let mut q = Query::select();
    q.expr_as(
        Expr::col((s::Entity, s::Column::DisplayName)),
        "display_name",
    )
    .expr_as(total.clone(), "points")
    .from(r::Entity)
    .inner_join(
        s::Entity,
        Expr::col((s::Entity, s::Column::DonorId)).equals((r::Entity, r::Column::DonorId)),
    )
    .and_where(Expr::col((s::Entity, s::Column::ShowOnLeaderboard)).eq(true))
    .and_where(Expr::col((s::Entity, s::Column::DisplayName)).is_not_null())
    .group_by_col((r::Entity, r::Column::DonorId))
    .group_by_col((s::Entity, s::Column::DisplayName))
    .and_having(total.clone().gt(0))
    .order_by_expr(total, Order::Desc)
    .order_by((s::Entity, s::Column::DisplayName), Order::Asc)
    .order_by((r::Entity, r::Column::DonorId), Order::Asc)
    .limit(limit);
    if let Some(since) = since {
        q.and_where(Expr::col((r::Entity, r::Column::EarnedAt)).gte(since));
    }
    match ranked {
        Ranked::Network => {}
        Ranked::City(city) => {
            q.inner_join(
                donor::Entity,
                Expr::col((donor::Entity, donor::Column::Id))
                    .equals((r::Entity, r::Column::DonorId)),
            )
            .and_where(
                Expr::expr(Func::lower(Expr::col((donor::Entity, donor::Column::City))))
                    .eq(city.to_lowercase()),
            );
        }
        Ranked::Ngo(ngo) => {
            q.inner_join(
                donor::Entity,
                Expr::col((donor::Entity, donor::Column::Id))
                    .equals((r::Entity, r::Column::DonorId)),
            )
            .and_where(Expr::col((donor::Entity, donor::Column::NgoId)).eq(*ngo));
        }
    }
    let rows = db.query_all(&q).await?;
    rows.into_iter()
        .map(|row| {
            Ok(Line {
                display_name: row.try_get("", "display_name")?,
                points: row.try_get("", "points")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_start_at_their_thresholds() {
        assert_eq!(Tier::of(0), Tier::Bronze);
        assert_eq!(Tier::of(499), Tier::Bronze);
        assert_eq!(Tier::of(500), Tier::Silver);
        assert_eq!(Tier::of(1_499), Tier::Silver);
        assert_eq!(Tier::of(1_500), Tier::Gold);
        assert_eq!(Tier::of(2_999), Tier::Gold);
        assert_eq!(Tier::of(3_000), Tier::Platinum);
        assert_eq!(Tier::of(5_999), Tier::Platinum);
        assert_eq!(Tier::of(6_000), Tier::Diamond);
    }

    fn donated(n: i64) -> Summary {
        Summary {
            donations: n,
            ..Summary::default()
        }
    }

    #[test]
    fn donation_badges_come_at_1_5_10_and_25() {
        let g = BloodGroup::APos;
        assert!(donated(0).badges(g).is_empty());
        assert_eq!(donated(1).badges(g), [Badge::FirstDonation]);
        assert_eq!(donated(4).badges(g), [Badge::FirstDonation]);
        assert_eq!(donated(5).badges(g).len(), 2);
        assert_eq!(donated(9).badges(g).len(), 2);
        assert_eq!(donated(10).badges(g).len(), 3);
        assert_eq!(donated(24).badges(g).len(), 3);
        assert_eq!(
            donated(25).badges(g),
            [
                Badge::FirstDonation,
                Badge::FiveDonations,
                Badge::TenDonations,
                Badge::TwentyFiveDonations
            ]
        );
    }

    #[test]
    fn rare_group_hero_needs_a_rare_group_and_a_donation() {
        for g in [BloodGroup::ONeg, BloodGroup::AbNeg, BloodGroup::BNeg] {
            assert!(donated(1).badges(g).contains(&Badge::RareGroupHero));
            assert!(!donated(0).badges(g).contains(&Badge::RareGroupHero));
        }
        for g in [BloodGroup::OPos, BloodGroup::ANeg, BloodGroup::AbPos] {
            assert!(!donated(3).badges(g).contains(&Badge::RareGroupHero));
        }
    }

    #[test]
    fn camp_regular_comes_with_the_third_camp_and_responder_with_the_first_callout() {
        let s = |camps, callouts| Summary {
            camps_attended: camps,
            callouts_answered: callouts,
            ..Summary::default()
        };
        assert!(s(2, 0).badges(BloodGroup::APos).is_empty());
        assert_eq!(s(3, 0).badges(BloodGroup::APos), [Badge::CampRegular]);
        assert_eq!(
            s(0, 1).badges(BloodGroup::APos),
            [Badge::EmergencyResponder]
        );
    }

    #[test]
    fn periods_start_on_the_first_of_the_month_or_year_utc() {
        let now = Utc.with_ymd_and_hms(2026, 3, 15, 10, 0, 0).unwrap();
        assert_eq!(
            period_start(Period::Month, now),
            Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).single()
        );
        assert_eq!(
            period_start(Period::Year, now),
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single()
        );
        assert_eq!(period_start(Period::AllTime, now), None);
    }
}
