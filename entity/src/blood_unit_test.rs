//! `blood_unit_tests`: the screening panel recorded for a unit (one row per unit; a new
//! record replaces it, every record is audited).

use crate::TestResult;
use sea_orm::entity::prelude::*;

/// A unit's screening panel and group confirmation.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "blood_unit_tests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub unit_id: Uuid,
    pub blood_bank_id: Uuid,
    pub hiv: TestResult,
    pub hbv: TestResult,
    pub hcv: TestResult,
    pub syphilis: TestResult,
    pub malaria: TestResult,
    pub abo_confirmed: bool,
    pub rh_confirmed: bool,
    pub recorded_by_user_id: Option<Uuid>,
    pub recorded_by_api_client_id: Option<Uuid>,
    pub recorded_at: DateTimeUtc,
}

/// Every test negative and the group confirmed: what release asks for (of a recorded panel,
/// [`Model::clears_release`], and of a panel given with a unit added `AVAILABLE`).
pub fn clears_release(results: [TestResult; 5], abo_confirmed: bool, rh_confirmed: bool) -> bool {
    results.iter().all(|r| *r == TestResult::Negative) && abo_confirmed && rh_confirmed
}

impl Model {
    /// Every test negative and the group confirmed: what release asks for.
    pub fn clears_release(&self) -> bool {
        clears_release(self.results(), self.abo_confirmed, self.rh_confirmed)
    }

    /// The five results, in panel order.
    pub fn results(&self) -> [TestResult; 5] {
        [self.hiv, self.hbv, self.hcv, self.syphilis, self.malaria]
    }
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
