//! Reading a Postgres row by position, for the few selects read often enough for it to
//! matter (`blood_request::decode`, `organization::decode`).
//!
//! sea-orm's derived `FromQueryResult` looks every column up by name (a hash of the name per
//! column) and turns every NULL into an error carrying the column's name formatted into a new
//! string before mapping it to `None`: on a page of requests and their banks that is some
//! 2,700 columns, 900 of them NULL.

use sea_orm::{
    DbErr, FromQueryResult, IdenStatic, QueryResult,
    sqlx::{Column as _, Decode, Postgres, Row as _, Type, postgres::PgRow},
};

/// A row of a model's `Entity::find()`: `read` on Postgres, elsewhere what the derive decodes.
pub(crate) fn decode<M: FromQueryResult>(
    res: &QueryResult,
    read: impl FnOnce(&mut Columns<'_>) -> Result<M, DbErr>,
) -> Result<M, DbErr> {
    match res.try_as_pg_row() {
        Some(row) => read(&mut Columns::of(row)),
        None => M::from_query_result(res, ""),
    }
}

/// The columns of a row in the order its model declares them.
pub(crate) struct Columns<'r> {
    row: &'r PgRow,
    next: usize,
}

impl<'r> Columns<'r> {
    fn of(row: &'r PgRow) -> Self {
        Self { row, next: 0 }
    }

    /// The next column, which should be `col`: read by position when its name is `col`'s,
    /// else by name (a select that differs from the model's is still read right).
    pub(crate) fn get<T>(&mut self, col: impl IdenStatic) -> Result<T, DbErr>
    where
        T: Decode<'r, Postgres> + Type<Postgres>,
    {
        let i = self.next;
        self.next += 1;
        let name = col.as_str();
        let got = if self.row.columns().get(i).is_some_and(|c| c.name() == name) {
            self.row.try_get(i)
        } else {
            self.row.try_get(name)
        };
        got.map_err(|e| DbErr::Type(format!("{name}: {e}")))
    }

    /// Passes over the next column unread.
    pub(crate) fn skip(&mut self) {
        self.next += 1;
    }
}
