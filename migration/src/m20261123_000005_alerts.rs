use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Alerts {
    Table,
    Id,
    Kind,
    Severity,
    Title,
    Message,
    BloodGroup,
    Component,
    OrganizationId,
    Latitude,
    Longitude,
    RadiusKm,
    Audience,
    RelatedEntityType,
    RelatedEntityId,
    Status,
    AcknowledgedBy,
    AcknowledgedAt,
    ResolvedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AlertRecipients {
    Table,
    Id,
    AlertId,
    OrganizationId,
    AcknowledgedBy,
    AcknowledgedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    UserId,
    Kind,
    Priority,
    Title,
    Body,
    AlertId,
    RelatedEntityType,
    RelatedEntityId,
    ReadAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum BloodUnits {
    Table,
    ExpiryAlertedAt,
}

#[derive(DeriveIden)]
enum StockThresholds {
    Table,
    InAlert,
}

fn index(name: &str, table: impl IntoIden, cols: &[&'static str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(Alias::new(*c));
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Alerts::Table)
                .col(uuid(Alerts::Id).primary_key())
                .col(string_len(Alerts::Kind, 32))
                .col(string_len(Alerts::Severity, 16))
                .col(string_len(Alerts::Title, 200))
                .col(string_len(Alerts::Message, 1000))
                .col(string_len_null(Alerts::BloodGroup, 8))
                .col(string_len_null(Alerts::Component, 24))
                .col(uuid_null(Alerts::OrganizationId))
                .col(double_null(Alerts::Latitude))
                .col(double_null(Alerts::Longitude))
                .col(double_null(Alerts::RadiusKm))
                .col(string_len(Alerts::Audience, 24))
                .col(string_len_null(Alerts::RelatedEntityType, 32))
                .col(uuid_null(Alerts::RelatedEntityId))
                .col(string_len(Alerts::Status, 16))
                .col(uuid_null(Alerts::AcknowledgedBy))
                .col(timestamp_with_time_zone_null(Alerts::AcknowledgedAt))
                .col(timestamp_with_time_zone_null(Alerts::ResolvedAt))
                .col(timestamp_with_time_zone(Alerts::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_alerts_related",
            Alerts::Table,
            &["related_entity_id", "kind"],
        ))
        .await?;
        m.create_index(index(
            "ix_alerts_audience",
            Alerts::Table,
            &["audience", "id"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(AlertRecipients::Table)
                .col(uuid(AlertRecipients::Id).primary_key())
                .col(uuid(AlertRecipients::AlertId))
                .col(uuid(AlertRecipients::OrganizationId))
                .col(uuid_null(AlertRecipients::AcknowledgedBy))
                .col(timestamp_with_time_zone_null(
                    AlertRecipients::AcknowledgedAt,
                ))
                .col(timestamp_with_time_zone(AlertRecipients::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_alert_recipients")
                .table(AlertRecipients::Table)
                .col(AlertRecipients::AlertId)
                .col(AlertRecipients::OrganizationId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_alert_recipients_org",
            AlertRecipients::Table,
            &["organization_id", "alert_id"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(Notifications::Table)
                .col(uuid(Notifications::Id).primary_key())
                .col(uuid(Notifications::UserId))
                .col(string_len(Notifications::Kind, 32))
                .col(string_len(Notifications::Priority, 16))
                .col(string_len(Notifications::Title, 200))
                .col(string_len(Notifications::Body, 1000))
                .col(uuid_null(Notifications::AlertId))
                .col(string_len_null(Notifications::RelatedEntityType, 32))
                .col(uuid_null(Notifications::RelatedEntityId))
                .col(timestamp_with_time_zone_null(Notifications::ReadAt))
                .col(timestamp_with_time_zone(Notifications::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_notifications_user",
            Notifications::Table,
            &["user_id", "id"],
        ))
        .await?;
        m.alter_table(
            Table::alter()
                .table(BloodUnits::Table)
                .add_column(timestamp_with_time_zone_null(BloodUnits::ExpiryAlertedAt))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(StockThresholds::Table)
                .add_column(boolean(StockThresholds::InAlert).default(false))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(StockThresholds::Table)
                .drop_column(StockThresholds::InAlert)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(BloodUnits::Table)
                .drop_column(BloodUnits::ExpiryAlertedAt)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(Notifications::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(AlertRecipients::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Alerts::Table).to_owned())
            .await
    }
}
