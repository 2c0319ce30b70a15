use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    Code,
    Name,
    Kind,
    Address,
    City,
    State,
    PostalCode,
    Country,
    Latitude,
    Longitude,
    Phone,
    Email,
    LicenseNumber,
    RegistrationNumber,
    Status,
    ApprovedAt,
    SuspendedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    Id,
    UserId,
    OrganizationId,
    Role,
    IsActive,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ApiClients {
    Table,
    Id,
    OrganizationId,
    Name,
    TokenPrefix,
    TokenHash,
    Scopes,
    ExpiresAt,
    RevokedAt,
    CreatedBy,
    LastUsedAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Organizations::Table)
                .col(uuid(Organizations::Id).primary_key())
                .col(string_len_uniq(Organizations::Code, 32))
                .col(string_len(Organizations::Name, 200))
                .col(string_len(Organizations::Kind, 32))
                .col(string_len_null(Organizations::Address, 300))
                .col(string_len(Organizations::City, 100))
                .col(string_len_null(Organizations::State, 100))
                .col(string_len_null(Organizations::PostalCode, 20))
                .col(string_len(Organizations::Country, 2))
                .col(double(Organizations::Latitude))
                .col(double(Organizations::Longitude))
                .col(string_len_null(Organizations::Phone, 32))
                .col(string_len_null(Organizations::Email, 254))
                .col(string_len_null(Organizations::LicenseNumber, 64))
                .col(string_len_null(Organizations::RegistrationNumber, 64))
                .col(string_len(Organizations::Status, 32))
                .col(timestamp_with_time_zone_null(Organizations::ApprovedAt))
                .col(timestamp_with_time_zone_null(Organizations::SuspendedAt))
                .col(timestamp_with_time_zone(Organizations::CreatedAt))
                .col(timestamp_with_time_zone(Organizations::UpdatedAt))
                .to_owned(),
        )
        .await?;
        // Keyset pagination walks (sort key, id); these indexes serve each ordering.
        m.create_index(
            Index::create()
                .name("ix_organizations_name_id")
                .table(Organizations::Table)
                .col(Organizations::Name)
                .col(Organizations::Id)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_organizations_status_kind")
                .table(Organizations::Table)
                .col(Organizations::Status)
                .col(Organizations::Kind)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Memberships::Table)
                .col(uuid(Memberships::Id).primary_key())
                .col(uuid(Memberships::UserId))
                .col(uuid(Memberships::OrganizationId))
                .col(string_len(Memberships::Role, 32))
                .col(boolean(Memberships::IsActive))
                .col(timestamp_with_time_zone(Memberships::CreatedAt))
                .col(timestamp_with_time_zone(Memberships::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Memberships::Table, Memberships::UserId)
                        .to(Users::Table, Users::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Memberships::Table, Memberships::OrganizationId)
                        .to(Organizations::Table, Organizations::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_memberships_user_org")
                .table(Memberships::Table)
                .col(Memberships::UserId)
                .col(Memberships::OrganizationId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_memberships_org")
                .table(Memberships::Table)
                .col(Memberships::OrganizationId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ApiClients::Table)
                .col(uuid(ApiClients::Id).primary_key())
                .col(uuid(ApiClients::OrganizationId))
                .col(string_len(ApiClients::Name, 200))
                .col(string_len(ApiClients::TokenPrefix, 16))
                .col(string_len_uniq(ApiClients::TokenHash, 64))
                .col(json(ApiClients::Scopes))
                .col(timestamp_with_time_zone_null(ApiClients::ExpiresAt))
                .col(timestamp_with_time_zone_null(ApiClients::RevokedAt))
                .col(uuid(ApiClients::CreatedBy))
                .col(timestamp_with_time_zone_null(ApiClients::LastUsedAt))
                .col(timestamp_with_time_zone(ApiClients::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(ApiClients::Table, ApiClients::OrganizationId)
                        .to(Organizations::Table, Organizations::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_api_clients_org")
                .table(ApiClients::Table)
                .col(ApiClients::OrganizationId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ApiClients::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Memberships::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Organizations::Table).to_owned())
            .await
    }
}
