//! `stock_thresholds`: a bank's critical level per group and component.

use crate::{BloodGroup, Component};
use sea_orm::entity::prelude::*;

/// Below `critical_threshold` available units the stock is RED, below twice it AMBER.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "stock_thresholds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub blood_bank_id: Uuid,
    pub blood_group: BloodGroup,
    pub component: Component,
    pub critical_threshold: i32,
    pub in_alert: bool,
    pub updated_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
