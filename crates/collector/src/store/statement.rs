//! Statements assembled at run time (multi-row inserts, `IN` lists) with numbered placeholders
//! (`$1`, `$2`, ...), which SQLite and PostgreSQL both read. sqlx's `QueryBuilder` writes `?`
//! for the `Any` driver, which PostgreSQL does not understand.

use std::fmt::Write;

use sqlx::any::AnyArguments;
use sqlx::error::BoxDynError;
use sqlx::query::Query;
use sqlx::{Any, Arguments, AssertSqlSafe, Encode, Type};

#[derive(Default)]
pub(super) struct Statement {
    sql: String,
    arguments: AnyArguments,
    bound: usize,
    /// The first value that could not be encoded; [`Statement::build`] reports it.
    error: Option<BoxDynError>,
}

impl Statement {
    pub(super) fn new(sql: &str) -> Statement {
        Statement {
            sql: sql.to_string(),
            ..Statement::default()
        }
    }

    pub(super) fn push(&mut self, sql: &str) -> &mut Statement {
        self.sql.push_str(sql);
        self
    }

    /// Binds `value` to the next placeholder, written where the statement stands.
    pub(super) fn push_bind<'q, T>(&mut self, value: T) -> &mut Statement
    where
        T: Encode<'q, Any> + Type<Any> + 'q,
    {
        self.bound += 1;
        // Writing to a String cannot fail.
        let _ = write!(self.sql, "${}", self.bound);
        if let Err(error) = self.arguments.add(value)
            && self.error.is_none()
        {
            self.error = Some(error);
        }
        self
    }

    /// `VALUES (..), (..)` with one row per item, its values bound by `push_row`.
    pub(super) fn push_values<I>(&mut self, rows: I, mut push_row: impl FnMut(Values<'_>, I::Item))
    where
        I: IntoIterator,
    {
        self.sql.push_str("VALUES ");
        for (n, item) in rows.into_iter().enumerate() {
            self.sql.push_str(if n == 0 { "(" } else { ", (" });
            push_row(
                Values {
                    statement: self,
                    first: true,
                },
                item,
            );
            self.sql.push(')');
        }
    }

    /// `value, value, ...`, each bound, e.g. inside `IN (...)`.
    pub(super) fn push_list<'q, T>(&mut self, values: impl IntoIterator<Item = T>)
    where
        T: Encode<'q, Any> + Type<Any> + 'q,
    {
        let mut list = Values {
            statement: self,
            first: true,
        };
        for value in values {
            list.push_bind(value);
        }
    }

    pub(super) fn build(self) -> Result<Query<'static, Any, AnyArguments>, sqlx::Error> {
        if let Some(error) = self.error {
            return Err(sqlx::Error::Encode(error));
        }
        Ok(sqlx::query_with(AssertSqlSafe(self.sql), self.arguments))
    }
}

/// The values of one row (or list), separated by commas.
pub(super) struct Values<'s> {
    statement: &'s mut Statement,
    first: bool,
}

impl Values<'_> {
    pub(super) fn push_bind<'q, T>(&mut self, value: T) -> &mut Self
    where
        T: Encode<'q, Any> + Type<Any> + 'q,
    {
        if !std::mem::take(&mut self.first) {
            self.statement.sql.push_str(", ");
        }
        self.statement.push_bind(value);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_across_rows_and_lists() {
        let mut statement = Statement::new("INSERT INTO t (a, b) ");
        statement.push_values([(1_i64, "x"), (2, "y")], |mut row, (a, b)| {
            row.push_bind(a).push_bind(b);
        });
        statement.push(" ON CONFLICT (a) DO UPDATE SET b = excluded.b WHERE t.a NOT IN (");
        statement.push_list([7_i64, 8]);
        statement.push(")");
        assert_eq!(
            statement.sql,
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) ON CONFLICT (a) DO UPDATE SET \
             b = excluded.b WHERE t.a NOT IN ($5, $6)"
        );
        assert!(statement.build().is_ok());
    }
}
