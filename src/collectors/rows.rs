//! From rows to families: the one mapping most collectors use (numeric
//! columns to families, label columns to labels), the per-session families
//! with a shortened statement text, and the test rows that let each
//! collector's mapping be checked without a server.

use tokio_postgres::Row;

use super::statement_text::collapse_query;
use super::CollectError;
use crate::metrics::{Desc, Family};

/// Maps one numeric result column to a metric family.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Column name in the query (aliased and cast to `float8` in the SQL).
    pub column: &'static str,
    pub desc: Desc,
}

impl Column {
    pub const fn new(column: &'static str, desc: Desc) -> Column {
        Column { column, desc }
    }
}

/// Numeric columns that share one label set, checked when the constant is
/// compiled: a table whose columns disagree on labels does not build.
#[derive(Debug, Clone, Copy)]
pub struct Columns(&'static [Column]);

impl Columns {
    /// `columns`, which must all have the same label names.
    pub const fn new(columns: &'static [Column]) -> Columns {
        let mut i = 1;
        while i < columns.len() {
            assert!(
                same_names(columns[0].desc.labels, columns[i].desc.labels),
                "every column of a table must have the same labels"
            );
            i += 1;
        }
        Columns(columns)
    }

    /// The columns, in order.
    pub fn all(self) -> &'static [Column] {
        self.0
    }

    /// The label names every column shares.
    pub fn labels(self) -> &'static [&'static str] {
        self.0.first().map(|c| c.desc.labels).unwrap_or(&[])
    }
}

/// Whether two lists of names are equal, usable in constants.
pub const fn same_names(a: &[&str], b: &[&str]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        let (x, y) = (a[i].as_bytes(), b[i].as_bytes());
        if x.len() != y.len() {
            return false;
        }
        let mut j = 0;
        while j < x.len() {
            if x[j] != y[j] {
                return false;
            }
            j += 1;
        }
        i += 1;
    }
    true
}

/// The descriptions of `columns`, for [`super::Collector::metrics`].
pub fn descs(columns: Columns) -> impl Iterator<Item = &'static Desc> {
    columns.0.iter().map(|c| &c.desc)
}

/// One result row as the mapping reads it: a `tokio_postgres::Row`, or a row
/// made up in a unit test.
pub trait Cells {
    /// Whether the row has this column at all.
    fn has(&self, column: &str) -> bool;
    /// A text column (`NULL`: `None`).
    fn text(&self, column: &str) -> Result<Option<String>, CollectError>;
    /// A `float8` column (`NULL`: `None`).
    fn number(&self, column: &str) -> Result<Option<f64>, CollectError>;
    /// A text column that is never NULL.
    fn required_text(&self, column: &str) -> Result<String, CollectError>;
    /// A `float8` column that is never NULL.
    fn required_number(&self, column: &str) -> Result<f64, CollectError>;
}

/// Text as the server sent it, bytes that are not UTF-8 replaced (U+FFFD): a
/// name or statement from a `SQL_ASCII` database may hold any byte, and must
/// not make the collector fail.
struct LossyText(String);

impl<'a> tokio_postgres::types::FromSql<'a> for LossyText {
    fn from_sql(
        _: &tokio_postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(LossyText(String::from_utf8_lossy(raw).into_owned()))
    }

    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        <String as tokio_postgres::types::FromSql>::accepts(ty)
    }
}

impl Cells for Row {
    fn has(&self, column: &str) -> bool {
        self.columns().iter().any(|c| c.name() == column)
    }

    fn text(&self, column: &str) -> Result<Option<String>, CollectError> {
        Ok(self.try_get::<_, Option<LossyText>>(column)?.map(|t| t.0))
    }

    fn number(&self, column: &str) -> Result<Option<f64>, CollectError> {
        Ok(self.try_get(column)?)
    }

    fn required_text(&self, column: &str) -> Result<String, CollectError> {
        Ok(self.try_get::<_, LossyText>(column)?.0)
    }

    fn required_number(&self, column: &str) -> Result<f64, CollectError> {
        Ok(self.try_get(column)?)
    }
}

impl<R: Cells> Cells for &R {
    fn has(&self, column: &str) -> bool {
        (*self).has(column)
    }

    fn text(&self, column: &str) -> Result<Option<String>, CollectError> {
        (*self).text(column)
    }

    fn number(&self, column: &str) -> Result<Option<f64>, CollectError> {
        (*self).number(column)
    }

    fn required_text(&self, column: &str) -> Result<String, CollectError> {
        (*self).required_text(column)
    }

    fn required_number(&self, column: &str) -> Result<f64, CollectError> {
        (*self).required_number(column)
    }
}

/// Turns rows into one family per [`Column`]: the label columns (`text`,
/// named as the columns' labels, which all columns share) give the labels,
/// each numeric column (`float8`) a family. A NULL value means "no sample", a
/// column missing from the query (a version variant without it) means no
/// samples at all, and a NULL label value becomes the empty string.
pub fn families_from_rows<R: Cells>(
    rows: &[R],
    columns: Columns,
) -> Result<Vec<Family>, CollectError> {
    let mut families = FamiliesFromRows::new(columns, rows.len());
    for row in rows {
        families.push(row)?;
    }
    Ok(families.finish())
}

/// [`families_from_rows`] a row at a time, for rows read as they arrive.
pub struct FamiliesFromRows {
    labels: &'static [&'static str],
    columns: &'static [Column],
    families: Vec<Family>,
}

impl FamiliesFromRows {
    /// Room for `rows` samples per family, reserved once, so that a family
    /// of 10,000 tables does not pass through the doubling of a growing vector.
    pub fn new(columns: Columns, rows: usize) -> FamiliesFromRows {
        FamiliesFromRows {
            labels: columns.labels(),
            columns: columns.all(),
            families: columns
                .all()
                .iter()
                .map(|c| {
                    let mut family = c.desc.family();
                    family.samples.reserve_exact(rows);
                    family
                })
                .collect(),
        }
    }

    /// Adds one row's samples.
    pub fn push<R: Cells>(&mut self, row: &R) -> Result<(), CollectError> {
        let mut label_values = Vec::with_capacity(self.labels.len());
        for label in self.labels {
            label_values.push(row.text(label)?.unwrap_or_default());
        }
        let values = crate::metrics::label_values(&label_values);
        for (family, column) in self.families.iter_mut().zip(self.columns) {
            // A column that this server's query variant lacks gives no sample.
            if !row.has(column.column) {
                continue;
            }
            if let Some(value) = row.number(column.column)? {
                family.push(values.clone(), value);
            }
        }
        Ok(())
    }

    pub fn finish(self) -> Vec<Family> {
        self.families
    }
}

/// Longest statement text kept in a `query` label.
pub const QUERY_LABEL_CHARS: usize = 100;

/// Labels of families that name one session, so that the on-call engineer
/// sees which pid to pass to `pg_cancel_backend()`.
pub const SESSION_LABELS: &[&str] = &["pid", "datname", "usename", "state", "query"];

/// Labels that name a table.
pub const TABLE_LABELS: &[&str] = &["datname", "schemaname", "relname"];

/// The description of a family labelled by session ([`SESSION_LABELS`]): the
/// type makes those labels certain, so [`session_family`] can fill them.
#[derive(Debug)]
pub struct SessionDesc(Desc);

impl SessionDesc {
    /// A gauge with one series per session.
    pub const fn gauge(name: &'static str, help: &'static str) -> SessionDesc {
        SessionDesc(Desc::gauge(name, SESSION_LABELS, help))
    }

    /// The family's description, for the catalogue.
    pub fn desc(&'static self) -> &'static Desc {
        &self.0
    }
}

/// A family of `desc` (labelled with [`SESSION_LABELS`]) with one series per
/// session row: the row's `pid`, `datname`, `usename`, `state` and `query`
/// (shortened) columns as labels and its `value_column` as value.
pub fn session_family<R: Cells>(
    desc: &SessionDesc,
    rows: &[R],
    value_column: &str,
    query_chars: usize,
) -> Result<Family, CollectError> {
    let mut family = desc.0.family();
    for row in rows {
        let query = row.required_text("query")?;
        family.push(
            vec![
                row.required_text("pid")?,
                row.required_text("datname")?,
                row.required_text("usename")?,
                row.required_text("state")?,
                collapse_query(&query, query_chars),
            ],
            row.required_number(value_column)?,
        );
    }
    Ok(family)
}

#[cfg(test)]
mod tests {
    use super::super::testing::TestRow;
    use super::*;

    const A: Desc = Desc::gauge("pg_a", &["datname", "relname"], "a");
    const B: Desc = Desc::counter("pg_b_total", &["datname", "relname"], "b");
    const COLUMNS: Columns = Columns::new(&[Column::new("a", A), Column::new("b", B)]);

    #[test]
    fn rows_become_families_nulls_give_no_sample_and_missing_columns_none() {
        let rows = [
            TestRow::default()
                .text("datname", Some("festivals"))
                .text("relname", Some("orders"))
                .number("a", Some(1.5))
                .number("b", None),
            TestRow::default()
                .text("datname", None)
                .text("relname", Some("tickets"))
                .number("a", Some(2.0)),
        ];
        let families = families_from_rows(&rows, COLUMNS).unwrap();
        assert_eq!(families.len(), 2);
        let a = &families[0];
        assert_eq!(a.name, "pg_a");
        assert_eq!(a.samples.len(), 2);
        assert_eq!(a.samples[0].values, ["festivals", "orders"]);
        assert_eq!(a.samples[0].value, 1.5);
        assert_eq!(
            a.samples[1].values,
            ["", "tickets"],
            "a NULL label is empty"
        );
        assert!(
            families[1].samples.is_empty(),
            "NULL and missing give no sample"
        );
        let no_label = [TestRow::default()
            .text("datname", Some("x"))
            .number("a", Some(1.0))];
        assert!(
            families_from_rows(&no_label, COLUMNS).is_err(),
            "a label column is required"
        );
    }

    #[test]
    fn a_session_row_names_its_session_with_a_short_one_line_query() {
        static LONGEST: SessionDesc = SessionDesc::gauge("pg_x_seconds", "x");
        let long = format!("SELECT\n  {}", "x, ".repeat(100));
        let row = TestRow::default()
            .text("pid", Some("42"))
            .text("datname", Some("festivals"))
            .text("usename", Some("app"))
            .text("state", Some("active"))
            .text("query", Some(&long))
            .number("seconds", Some(7.5));
        let family = session_family(&LONGEST, &[row], "seconds", QUERY_LABEL_CHARS).unwrap();
        let sample = &family.samples[0];
        assert_eq!(sample.value, 7.5);
        assert_eq!(
            sample.values.to_vec()[..4],
            ["42", "festivals", "app", "active"]
        );
        assert!(
            sample.values[4].starts_with("SELECT x, x,"),
            "{}",
            &sample.values[4]
        );
        assert_eq!(sample.values[4].chars().count(), QUERY_LABEL_CHARS - 1);
        let null_state = TestRow::default()
            .text("pid", Some("1"))
            .text("datname", Some("d"))
            .text("usename", Some("u"))
            .text("state", None)
            .text("query", Some("q"))
            .number("seconds", Some(1.0));
        assert!(session_family(&LONGEST, &[null_state], "seconds", 1).is_err());
    }

    #[test]
    fn label_lists_compare_by_content() {
        assert!(same_names(&["a", "b"], &["a", "b"]));
        assert!(!same_names(&["a", "b"], &["a", "c"]));
        assert!(!same_names(&["a"], &["a", "b"]));
        assert!(same_names(&[], &[]));
    }
}
