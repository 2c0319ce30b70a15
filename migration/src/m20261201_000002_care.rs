//! Doctor profiles follow memberships: a profile names an organization only while its doctor
//! is an active DOCTOR there (removing the membership now detaches it). This detaches the
//! profiles of doctors who left before that rule, so their bookings stop going to the
//! organization they left. Data only; there is nothing to undo.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared(
                "UPDATE doctors SET organization_id = NULL \
                 WHERE organization_id IS NOT NULL AND NOT EXISTS (\
                   SELECT 1 FROM memberships ms WHERE ms.user_id = doctors.user_id \
                   AND ms.organization_id = doctors.organization_id \
                   AND ms.role = 'DOCTOR' AND ms.is_active)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
