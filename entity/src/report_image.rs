//! `report_images`: the metadata of one image of a medical report (the file lives in storage).

use crate::{ImageFormat, ImageType};
use sea_orm::entity::prelude::*;

/// One image of a report.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "report_images")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub report_id: Uuid,
    pub url: String,
    pub image_type: ImageType,
    pub format: ImageFormat,
    pub width: i32,
    pub height: i32,
    pub size_bytes: i64,
    pub display_order: i32,
    pub dicom_metadata: Option<Json>,
    pub created_at: DateTimeUtc,
}

/// Relations are resolved by the API's loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
