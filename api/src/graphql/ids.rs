//! IDs on the wire are the `ID` scalar holding a UUID.

use crate::error::{AppError, AppResult};
use async_graphql::ID;
use uuid::Uuid;

/// Parses an `ID` input into a UUID, naming the field when it is not one.
pub fn parse_id(id: &ID, field: &str) -> AppResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| AppError::bad_input(field, "is not a valid ID"))
}

/// The wire form of a UUID.
pub fn to_id(id: Uuid) -> ID {
    ID(id.to_string())
}
