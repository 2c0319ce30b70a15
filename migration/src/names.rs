//! Small builders the migrations written with plain table and column names share. Landed
//! migrations keep their own copies: they are never edited.

use sea_orm_migration::prelude::*;

/// A table or column name.
pub fn a(name: &str) -> Alias {
    Alias::new(name)
}

/// A foreign key from `from.col` to `to.id`.
pub fn fk(from: &str, col: &str, to: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(a(from), a(col))
        .to(a(to), a("id"))
        .to_owned()
}

/// A plain index.
pub fn index(name: &str, table: &str, cols: &[&str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(a(table));
    for c in cols {
        i.col(a(c));
    }
    i.to_owned()
}
