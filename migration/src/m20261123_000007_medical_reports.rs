//! Medical reports: imaging studies, their images' metadata, the one AI analysis of each
//! report and doctors' reviews. The review queue is one indexed text column (`queue_key`:
//! risk rank digit, `|`, fixed-width UTC time of the analysis), so the queue is a plain
//! keyset walk of `(organization_id, status, queue_key, id)`.

use crate::names::{a, fk, index};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(a("medical_reports"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("organization_id")))
                .col(uuid(a("patient_id")))
                .col(uuid(a("uploaded_by_user_id")))
                .col(string_len(a("study_type"), 100))
                .col(text_null(a("clinical_notes")))
                .col(string_len(a("status"), 16))
                .col(string_len_null(a("risk_level"), 16))
                .col(double_null(a("confidence")))
                .col(text_null(a("findings")))
                .col(string_len(a("queue_key"), 40))
                .col(timestamp_with_time_zone_null(a("claimed_at")))
                .col(uuid_null(a("claimed_by_api_client_id")))
                .col(timestamp_with_time_zone_null(a("analyzed_at")))
                .col(timestamp_with_time_zone_null(a("reviewed_at")))
                .col(timestamp_with_time_zone_null(a("archived_at")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .check(Expr::cust(
                    "status IN ('PENDING', 'ANALYZING', 'ANALYZED', 'REVIEWED', 'ARCHIVED')",
                ))
                .check(Expr::cust(
                    "confidence IS NULL OR (confidence >= 0 AND confidence <= 1)",
                ))
                .foreign_key(&mut fk(
                    "medical_reports",
                    "organization_id",
                    "organizations",
                ))
                .foreign_key(&mut fk("medical_reports", "patient_id", "users"))
                .foreign_key(&mut fk("medical_reports", "uploaded_by_user_id", "users"))
                .to_owned(),
        )
        .await?;
        // The review queue and the status-filtered lists of an organization.
        m.create_index(index(
            "ix_medical_reports_queue",
            "medical_reports",
            &["organization_id", "status", "queue_key", "id"],
        ))
        .await?;
        // Claims take the oldest pending (or stale analysing) reports of an organization.
        m.create_index(index(
            "ix_medical_reports_claim",
            "medical_reports",
            &["organization_id", "status", "created_at", "id"],
        ))
        .await?;
        m.create_index(index(
            "ix_medical_reports_org",
            "medical_reports",
            &["organization_id", "id"],
        ))
        .await?;
        m.create_index(index(
            "ix_medical_reports_patient",
            "medical_reports",
            &["patient_id", "id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(a("report_images"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("report_id")))
                .col(string_len(a("url"), 2048))
                .col(string_len(a("image_type"), 16))
                .col(string_len(a("format"), 16))
                .col(integer(a("width")))
                .col(integer(a("height")))
                .col(big_integer(a("size_bytes")))
                .col(integer(a("display_order")))
                .col(json_null(a("dicom_metadata")))
                .col(timestamp_with_time_zone(a("created_at")))
                .check(Expr::cust("width > 0 AND height > 0 AND size_bytes > 0"))
                .foreign_key(&mut fk("report_images", "report_id", "medical_reports"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_report_images_report",
            "report_images",
            &["report_id", "display_order"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(a("ai_analyses"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("report_id")))
                .col(uuid(a("organization_id")))
                .col(uuid_null(a("api_client_id")))
                .col(string_len(a("model_name"), 100))
                .col(string_len(a("model_version"), 50))
                .col(string_len(a("risk_level"), 16))
                .col(double(a("low_probability")))
                .col(double(a("medium_probability")))
                .col(double(a("high_probability")))
                .col(json(a("findings")))
                .col(integer(a("processing_time_ms")))
                .col(double(a("image_quality_score")))
                .col(timestamp_with_time_zone(a("created_at")))
                .check(Expr::cust(
                    "low_probability BETWEEN 0 AND 1 AND medium_probability BETWEEN 0 AND 1 \
                     AND high_probability BETWEEN 0 AND 1 AND image_quality_score BETWEEN 0 AND 1 \
                     AND processing_time_ms >= 0",
                ))
                .foreign_key(&mut fk("ai_analyses", "report_id", "medical_reports"))
                .to_owned(),
        )
        .await?;
        // One analysis per report, whatever the race.
        m.create_index(
            index("ux_ai_analyses_report", "ai_analyses", &["report_id"])
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(a("report_reviews"))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("report_id")))
                .col(uuid(a("organization_id")))
                .col(uuid(a("doctor_user_id")))
                .col(text(a("notes")))
                .col(text_null(a("clinical_findings")))
                .col(boolean(a("confirms_ai")))
                .col(integer(a("ai_accuracy_rating")))
                .col(string_len(a("doctor_risk_level"), 16))
                .col(string_len(a("urgency"), 16))
                .col(text_null(a("recommended_action")))
                .col(date_null(a("follow_up_date")))
                .col(string_len(a("ai_model_name"), 100))
                .col(string_len(a("ai_risk_level"), 16))
                .col(timestamp_with_time_zone(a("created_at")))
                .check(Expr::cust("ai_accuracy_rating BETWEEN 1 AND 5"))
                .foreign_key(&mut fk("report_reviews", "report_id", "medical_reports"))
                .foreign_key(&mut fk("report_reviews", "doctor_user_id", "users"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_report_reviews_report",
            "report_reviews",
            &["report_id", "id"],
        ))
        .await?;
        // Model quality: reviews of one model's analyses over a period.
        m.create_index(index(
            "ix_report_reviews_model",
            "report_reviews",
            &["ai_model_name", "created_at"],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "report_reviews",
            "ai_analyses",
            "report_images",
            "medical_reports",
        ] {
            m.drop_table(Table::drop().table(a(t)).to_owned()).await?;
        }
        Ok(())
    }
}
