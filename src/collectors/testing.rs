//! Rows made up for the unit tests of the collectors' mappings, read through
//! the same [`Cells`] trait as a server's rows.

use super::rows::Cells;
use super::CollectError;

/// A row made up for unit tests of a collector's mapping.
#[derive(Debug, Default)]
pub struct TestRow(Vec<(&'static str, TestCell)>);

/// One cell of a [`TestRow`].
#[derive(Debug, Clone)]
pub enum TestCell {
    Text(Option<String>),
    Number(Option<f64>),
}

impl TestRow {
    /// Adds a text cell.
    pub fn text(mut self, column: &'static str, value: Option<&str>) -> TestRow {
        self.0
            .push((column, TestCell::Text(value.map(str::to_string))));
        self
    }

    /// Adds a number cell.
    pub fn number(mut self, column: &'static str, value: Option<f64>) -> TestRow {
        self.0.push((column, TestCell::Number(value)));
        self
    }

    fn cell(&self, column: &str) -> Result<&TestCell, CollectError> {
        self.0
            .iter()
            .find(|(name, _)| *name == column)
            .map(|(_, cell)| cell)
            .ok_or_else(|| CollectError::Unsupported(format!("no column {column}")))
    }
}

impl Cells for TestRow {
    fn has(&self, column: &str) -> bool {
        self.cell(column).is_ok()
    }

    fn text(&self, column: &str) -> Result<Option<String>, CollectError> {
        match self.cell(column)? {
            TestCell::Text(value) => Ok(value.clone()),
            TestCell::Number(_) => Err(CollectError::Unsupported(format!("{column} is a number"))),
        }
    }

    fn number(&self, column: &str) -> Result<Option<f64>, CollectError> {
        match self.cell(column)? {
            TestCell::Number(value) => Ok(*value),
            TestCell::Text(_) => Err(CollectError::Unsupported(format!("{column} is text"))),
        }
    }

    fn required_text(&self, column: &str) -> Result<String, CollectError> {
        self.text(column)?
            .ok_or_else(|| CollectError::Unsupported(format!("{column} is NULL")))
    }

    fn required_number(&self, column: &str) -> Result<f64, CollectError> {
        self.number(column)?
            .ok_or_else(|| CollectError::Unsupported(format!("{column} is NULL")))
    }
}
