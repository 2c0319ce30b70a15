//! `blood_stock_counts`: available units per bank, component and group, kept by triggers on
//! `blood_units` (migrations `m20261202_000001_stock_counts`, `m20261204_000201_stock_soonest`);
//! never written by the
//! application.

use crate::{BloodGroup, Component};
use sea_orm::entity::prelude::*;

/// Units whose status is `AVAILABLE`, including those past `expires_at` that the sweep has
/// not marked yet: readers subtract them.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "blood_stock_counts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub blood_bank_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub component: Component,
    #[sea_orm(primary_key, auto_increment = false)]
    pub blood_group: BloodGroup,
    pub available: i64,
    /// The earliest `expires_at` among those units (expired or not); `None` when there are none.
    pub soonest_expiry: Option<DateTimeUtc>,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
