//! The permission-matrix harness: every kind of caller against every operation of a domain,
//! one table a domain. A row is an operation with inputs chosen so that a caller who gets past
//! the permission layer then fails harmlessly on a business rule (an unknown id, an empty
//! batch, an invalid transition), leaving the state unchanged for the next row. Every cell is
//! run and every mismatch is reported at once, so one run shows the whole difference.

use crate::{Gql, TestApp};
use serde_json::Value;

/// What one caller got from one operation, as the matrix tells outcomes apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Allowed: past the permission layer (whatever the business rules then said).
    A,
    /// `UNAUTHENTICATED`.
    U,
    /// `FORBIDDEN`.
    F,
    /// `NOT_FOUND`: the row is hidden from the caller. Only a matrix built with
    /// [`Matrix::telling_not_found_apart`] expects it; elsewhere `NOT_FOUND` is a business
    /// answer and counts as [`Outcome::A`].
    N,
}

/// One row: the operation's name in reports, its document, its variables and what each
/// caller (in the order of [`Matrix::new`]'s names) must get.
pub type Row<const C: usize> = (&'static str, String, Value, [Outcome; C]);

/// The callers of a matrix: a name and a token (none for anonymous) a column.
pub struct Matrix<const C: usize> {
    names: [&'static str; C],
    tokens: Vec<Option<String>>,
    not_found_apart: bool,
}

impl<const C: usize> Matrix<C> {
    /// The columns: callers' names, and their tokens in the same order.
    pub fn new(names: [&'static str; C], tokens: Vec<Option<String>>) -> Self {
        assert_eq!(tokens.len(), C, "one token a caller: {names:?}");
        Self {
            names,
            tokens,
            not_found_apart: false,
        }
    }

    /// Counts `NOT_FOUND` as [`Outcome::N`] (rows hidden from a caller) instead of allowed.
    pub fn telling_not_found_apart(mut self) -> Self {
        self.not_found_apart = true;
        self
    }

    fn classify(&self, r: &Gql) -> Outcome {
        match r.code() {
            Some("UNAUTHENTICATED") => Outcome::U,
            Some("FORBIDDEN") => Outcome::F,
            Some("NOT_FOUND") if self.not_found_apart => Outcome::N,
            _ => Outcome::A,
        }
    }

    /// Runs every row as every caller and panics with every mismatch.
    pub async fn assert(&self, app: &TestApp, rows: &[Row<C>]) {
        let mut mismatches = Vec::new();
        for (name, query, vars, expected) in rows {
            for (i, token) in self.tokens.iter().enumerate() {
                let r = app.gql(token.as_deref(), query, vars.clone()).await;
                let got = self.classify(&r);
                if got != expected[i] {
                    mismatches.push(format!(
                        "{name} as {}: expected {:?}, got {:?} ({})",
                        self.names[i], expected[i], got, r.body
                    ));
                }
            }
        }
        assert!(
            mismatches.is_empty(),
            "permission matrix mismatches:\n{}",
            mismatches.join("\n")
        );
    }
}

/// A mutation document taking `$i: {input_type}!` and selecting `selection` of its payload.
pub fn mutation(name: &str, input_type: &str, selection: &str) -> String {
    format!("mutation($i: {input_type}!) {{ {name}(input: $i) {{ {selection} }} }}")
}
