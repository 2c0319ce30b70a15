use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditLogs {
    Table,
    Id,
    ActorUserId,
    ActorApiClientId,
    ActorRole,
    OrganizationId,
    Action,
    EntityType,
    EntityId,
    OldValues,
    NewValues,
    Ip,
    UserAgent,
    Outcome,
    ErrorCode,
    RequestId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // No foreign keys: the audit trail must outlive whatever it mentions.
        m.create_table(
            Table::create()
                .table(AuditLogs::Table)
                .col(uuid(AuditLogs::Id).primary_key())
                .col(uuid_null(AuditLogs::ActorUserId))
                .col(uuid_null(AuditLogs::ActorApiClientId))
                .col(string_len(AuditLogs::ActorRole, 32))
                .col(uuid_null(AuditLogs::OrganizationId))
                .col(string_len(AuditLogs::Action, 64))
                .col(string_len_null(AuditLogs::EntityType, 64))
                .col(uuid_null(AuditLogs::EntityId))
                .col(json_null(AuditLogs::OldValues))
                .col(json_null(AuditLogs::NewValues))
                .col(string_len_null(AuditLogs::Ip, 64))
                .col(string_len_null(AuditLogs::UserAgent, 512))
                .col(string_len(AuditLogs::Outcome, 16))
                .col(string_len_null(AuditLogs::ErrorCode, 32))
                .col(string_len_null(AuditLogs::RequestId, 64))
                .col(timestamp_with_time_zone(AuditLogs::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_audit_logs_org_id")
                .table(AuditLogs::Table)
                .col(AuditLogs::OrganizationId)
                .col(AuditLogs::Id)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_audit_logs_entity")
                .table(AuditLogs::Table)
                .col(AuditLogs::EntityId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(AuditLogs::Table).to_owned())
            .await
    }
}
