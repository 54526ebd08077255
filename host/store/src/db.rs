//! The two database engines behind a project, and the few calls the store makes on either: run a
//! statement, read rows, take a transaction. SQL is written once with `?N` placeholders where both
//! engines read it the same way (PostgreSQL gets `$N`); where they differ, the caller asks
//! `Db::engine` and writes each engine's SQL. Values cross as `Value`, so the store's logic (undo,
//! the queue, imports) exists once for both.

use crate::error::{Result, StoreError};
use crate::location::Location;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// Which engine holds the project.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// One value in or out of a statement. Integers are 64-bit on both engines (PostgreSQL columns
/// are BIGINT); booleans are integers in SQLite and BOOLEAN in PostgreSQL.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Null,
    Int(i64),
    Bool(bool),
    Real(f64),
    Text(String),
    Bytes(Vec<u8>),
}

/// Rust values a statement takes.
pub(crate) trait ToValue {
    fn to_value(&self) -> Value;
}

/// Rust values a column gives; `what` names the column's type in errors.
pub(crate) trait FromValue: Sized {
    fn from_value(value: Value) -> std::result::Result<Self, String>;
}

macro_rules! int_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                Value::Int(*self as i64)
            }
        }
        impl FromValue for $t {
            fn from_value(value: Value) -> std::result::Result<Self, String> {
                match value {
                    Value::Int(i) => <$t>::try_from(i).map_err(|_| format!("{i} is out of range for {}", stringify!($t))),
                    Value::Bool(b) => Ok(b as $t),
                    other => Err(format!("expected an integer, found {other:?}")),
                }
            }
        }
    )*};
}
int_value!(i64, i32, u32, u64, usize);

impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
}

impl FromValue for bool {
    fn from_value(value: Value) -> std::result::Result<Self, String> {
        match value {
            Value::Bool(b) => Ok(b),
            Value::Int(i) => Ok(i != 0),
            other => Err(format!("expected a boolean, found {other:?}")),
        }
    }
}

impl FromValue for f64 {
    fn from_value(value: Value) -> std::result::Result<Self, String> {
        match value {
            Value::Real(f) => Ok(f),
            Value::Int(i) => Ok(i as f64),
            other => Err(format!("expected a number, found {other:?}")),
        }
    }
}

impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_owned())
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}

impl FromValue for String {
    fn from_value(value: Value) -> std::result::Result<Self, String> {
        match value {
            Value::Text(s) => Ok(s),
            other => Err(format!("expected text, found {other:?}")),
        }
    }
}

impl ToValue for [u8] {
    fn to_value(&self) -> Value {
        Value::Bytes(self.to_vec())
    }
}

impl ToValue for Vec<u8> {
    fn to_value(&self) -> Value {
        Value::Bytes(self.clone())
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: Value) -> std::result::Result<Self, String> {
        match value {
            Value::Bytes(b) => Ok(b),
            other => Err(format!("expected bytes, found {other:?}")),
        }
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: Value) -> std::result::Result<Self, String> {
        match value {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}

impl FromValue for Value {
    fn from_value(value: Value) -> std::result::Result<Self, String> {
        Ok(value)
    }
}

/// `(?1, ?2, …), (…)`: `rows` rows of `columns` numbered placeholders, for multi-row inserts.
pub(crate) fn numbered_rows(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", (1..=columns).map(|c| format!("?{}", r * columns + c)).collect::<Vec<_>>().join(", ")))
        .collect::<Vec<_>>()
        .join(", ")
}

impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}

/// `vals![a, b]`: statement parameters.
macro_rules! vals {
    ($($v:expr),* $(,)?) => { [$($crate::db::ToValue::to_value(&$v)),*] };
}
pub(crate) use vals;

/// A row read out of a statement.
#[derive(Debug)]
pub(crate) struct Row {
    values: Vec<Value>,
}

impl Row {
    /// Column `i` as a Rust value; a mismatch means the database is not what this build wrote.
    pub(crate) fn get<T: FromValue>(&self, i: usize) -> Result<T> {
        let value = self.values.get(i).cloned().unwrap_or(Value::Null);
        T::from_value(value).map_err(|detail| StoreError::Schema { detail: format!("column {i}: {detail}") })
    }

    /// Column `i` taken out of the row, without a copy (large item data).
    pub(crate) fn take<T: FromValue>(&mut self, i: usize) -> Result<T> {
        let value = self.values.get_mut(i).map(|v| std::mem::replace(v, Value::Null)).unwrap_or(Value::Null);
        T::from_value(value).map_err(|detail| StoreError::Schema { detail: format!("column {i}: {detail}") })
    }
}

pub(crate) enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres(Box<RefCell<PgConn>>),
}

pub(crate) struct PgConn {
    pub client: postgres::Client,
    /// Prepared statements by their SQL as written (with `?N`).
    statements: HashMap<String, postgres::Statement>,
}

impl PgConn {
    pub(crate) fn new(client: postgres::Client) -> Self {
        PgConn { client, statements: HashMap::new() }
    }

    fn statement(&mut self, sql: &str) -> std::result::Result<postgres::Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(&dollar_placeholders(sql))?;
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

/// An open database: the connection, where it is, and whether a transaction is open on it.
pub(crate) struct Db {
    pub conn: Conn,
    pub location: Location,
    in_transaction: Cell<bool>,
}

/// How a transaction begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TxKind {
    /// Takes the write lock at once (SQLite: `BEGIN IMMEDIATE`, so a writer waits instead of failing
    /// on upgrade; PostgreSQL: read committed, row locks taken by the statements).
    Write,
    /// One consistent snapshot for a long read (an export) while others write.
    Snapshot,
}

impl Db {
    pub(crate) fn new(conn: Conn, location: Location) -> Db {
        Db { conn, location, in_transaction: Cell::new(false) }
    }

    pub(crate) fn engine(&self) -> Engine {
        match self.conn {
            Conn::Sqlite(_) => Engine::Sqlite,
            Conn::Postgres(_) => Engine::Postgres,
        }
    }

    pub(crate) fn sqlite(&self) -> Option<&rusqlite::Connection> {
        match &self.conn {
            Conn::Sqlite(c) => Some(c),
            Conn::Postgres(_) => None,
        }
    }

    pub(crate) fn sqlite_error(&self, e: rusqlite::Error) -> StoreError {
        StoreError::sqlite(self.location.as_path(), e)
    }

    pub(crate) fn postgres_error(&self, e: postgres::Error) -> StoreError {
        StoreError::postgres(self.location.as_path(), e)
    }

    /// Runs one statement; returns the rows it changed.
    pub(crate) fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        match &self.conn {
            Conn::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql).map_err(|e| self.sqlite_error(e))?;
                stmt.execute(rusqlite::params_from_iter(params.iter().map(SqliteValue))).map(|n| n as u64).map_err(|e| self.sqlite_error(e))
            }
            Conn::Postgres(pg) => {
                let mut pg = pg.borrow_mut();
                let statement = pg.statement(sql).map_err(|e| self.postgres_error(e))?;
                let args: Vec<&(dyn postgres::types::ToSql + Sync)> = params.iter().map(|v| v as &(dyn postgres::types::ToSql + Sync)).collect();
                pg.client.execute(&statement, &args).map_err(|e| self.postgres_error(e))
            }
        }
    }

    /// Runs statements without parameters, separated by `;` (migrations, pragmas).
    pub(crate) fn batch(&self, sql: &str) -> Result<()> {
        match &self.conn {
            Conn::Sqlite(c) => c.execute_batch(sql).map_err(|e| self.sqlite_error(e)),
            Conn::Postgres(pg) => pg.borrow_mut().client.batch_execute(sql).map_err(|e| self.postgres_error(e)),
        }
    }

    /// Every row a query gives.
    pub(crate) fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        match &self.conn {
            Conn::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql).map_err(|e| self.sqlite_error(e))?;
                let columns = stmt.column_count();
                let mut rows = stmt.query(rusqlite::params_from_iter(params.iter().map(SqliteValue))).map_err(|e| self.sqlite_error(e))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next().map_err(|e| self.sqlite_error(e))? {
                    let mut values = Vec::with_capacity(columns);
                    for i in 0..columns {
                        values.push(from_sqlite(row.get_ref(i).map_err(|e| self.sqlite_error(e))?));
                    }
                    out.push(Row { values });
                }
                Ok(out)
            }
            Conn::Postgres(pg) => {
                let mut pg = pg.borrow_mut();
                let statement = pg.statement(sql).map_err(|e| self.postgres_error(e))?;
                let args: Vec<&(dyn postgres::types::ToSql + Sync)> = params.iter().map(|v| v as &(dyn postgres::types::ToSql + Sync)).collect();
                let rows = pg.client.query(&statement, &args).map_err(|e| self.postgres_error(e))?;
                rows.iter().map(|r| from_postgres(r).map_err(|detail| StoreError::Schema { detail })).collect()
            }
        }
    }

    /// The first row a query gives, if any.
    pub(crate) fn query_opt(&self, sql: &str, params: &[Value]) -> Result<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// The one row a query must give.
    pub(crate) fn query_one(&self, sql: &str, params: &[Value]) -> Result<Row> {
        self.query_opt(sql, params)?.ok_or_else(|| StoreError::Schema { detail: format!("no row from: {}", first_line(sql)) })
    }

    /// The first column of the one row a query gives.
    pub(crate) fn scalar<T: FromValue>(&self, sql: &str, params: &[Value]) -> Result<T> {
        self.query_one(sql, params)?.get(0)
    }

    /// Inserts one row and returns its `id` (the statement must end in `RETURNING id`).
    pub(crate) fn insert(&self, sql: &str, params: &[Value]) -> Result<i64> {
        self.scalar(sql, params)
    }

    /// Runs `f` in a transaction that commits when it returns `Ok` and rolls back otherwise (a panic
    /// included). Inside another transaction, `f` simply joins it.
    pub(crate) fn transaction<T>(&self, kind: TxKind, f: impl FnOnce(&Db) -> Result<T>) -> Result<T> {
        self.transaction_with(kind, f)
    }

    /// `transaction` for closures with an error type of their own.
    pub(crate) fn transaction_with<T, E: From<StoreError>>(&self, kind: TxKind, f: impl FnOnce(&Db) -> Result<T, E>) -> Result<T, E> {
        if self.in_transaction.get() {
            return f(self);
        }
        let begin = match (self.engine(), kind) {
            (Engine::Sqlite, TxKind::Write) => "BEGIN IMMEDIATE",
            (Engine::Sqlite, TxKind::Snapshot) => "BEGIN DEFERRED",
            (Engine::Postgres, TxKind::Write) => "BEGIN",
            (Engine::Postgres, TxKind::Snapshot) => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        };
        self.batch(begin)?;
        self.in_transaction.set(true);
        // Rolls back unless committed, also when `f` panics.
        struct Open<'a>(&'a Db, bool);
        impl Drop for Open<'_> {
            fn drop(&mut self) {
                if !self.1 {
                    let _ = self.0.batch("ROLLBACK");
                }
                self.0.in_transaction.set(false);
            }
        }
        let mut open = Open(self, false);
        let out = f(self)?;
        self.batch("COMMIT")?;
        open.1 = true;
        drop(open);
        Ok(out)
    }

    /// Locks one row until the transaction ends, on PostgreSQL where writers run side by side;
    /// SQLite's write transaction already holds the whole file.
    pub(crate) fn lock_row(&self, table: &str, id: i64) -> Result<()> {
        if self.engine() == Engine::Postgres {
            self.query(&format!("SELECT 1 FROM {table} WHERE id = ?1 FOR UPDATE"), &vals![id])?;
        }
        Ok(())
    }
}

fn first_line(sql: &str) -> &str {
    sql.trim().lines().next().unwrap_or("")
}

/// `?1` → `$1`. The store's SQL holds no `?` inside string literals.
pub(crate) fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(|n| n.is_ascii_digit()) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

struct SqliteValue<'a>(&'a Value);

impl rusqlite::ToSql for SqliteValue<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Bool(b) => ToSqlOutput::Borrowed(ValueRef::Integer(*b as i64)),
            Value::Real(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

fn from_sqlite(v: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
    }
}

fn from_postgres(row: &postgres::Row) -> std::result::Result<Row, String> {
    use postgres::types::Type;
    let mut values = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let err = |e: postgres::Error| format!("column {}: {e}", column.name());
        let value = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i).map_err(err)?.map(Value::Int)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i).map_err(err)?.map(|v| Value::Int(v.into()))
        } else if *ty == Type::INT2 {
            row.try_get::<_, Option<i16>>(i).map_err(err)?.map(|v| Value::Int(v.into()))
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(i).map_err(err)?.map(Value::Bool)
        } else if *ty == Type::FLOAT8 {
            row.try_get::<_, Option<f64>>(i).map_err(err)?.map(Value::Real)
        } else if *ty == Type::FLOAT4 {
            row.try_get::<_, Option<f32>>(i).map_err(err)?.map(|v| Value::Real(v.into()))
        } else if *ty == Type::BYTEA {
            row.try_get::<_, Option<Vec<u8>>>(i).map_err(err)?.map(Value::Bytes)
        } else if [Type::TEXT, Type::VARCHAR, Type::NAME, Type::BPCHAR].contains(ty) {
            row.try_get::<_, Option<String>>(i).map_err(err)?.map(Value::Text)
        } else {
            return Err(format!("column {} has type {ty}, which the store does not read", column.name()));
        };
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(Row { values })
}

impl postgres::types::ToSql for Value {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> std::result::Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use postgres::types::{IsNull, Type};
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) if *ty == Type::INT8 => i.to_sql(ty, out),
            Value::Int(i) if *ty == Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
            Value::Int(i) if *ty == Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
            Value::Int(i) if *ty == Type::BOOL => (*i != 0).to_sql(ty, out),
            Value::Int(i) if *ty == Type::FLOAT8 => (*i as f64).to_sql(ty, out),
            Value::Bool(b) if *ty == Type::BOOL => b.to_sql(ty, out),
            Value::Bool(b) if *ty == Type::INT8 => (*b as i64).to_sql(ty, out),
            Value::Real(f) if *ty == Type::FLOAT8 => f.to_sql(ty, out),
            Value::Text(s) => s.as_str().to_sql(ty, out),
            Value::Bytes(b) if *ty == Type::BYTEA => b.as_slice().to_sql(ty, out),
            other => Err(format!("cannot pass {other:?} as {ty}").into()),
        }
    }

    fn accepts(_: &postgres::types::Type) -> bool {
        // Checked per value in `to_sql`, which knows what the value is.
        true
    }

    postgres::types::to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::dollar_placeholders;

    #[test]
    fn placeholders_become_dollars() {
        assert_eq!(dollar_placeholders("SELECT ?1, ?12 WHERE a = ?2"), "SELECT $1, $12 WHERE a = $2");
        assert_eq!(dollar_placeholders("SELECT '?'"), "SELECT '?'");
    }
}
