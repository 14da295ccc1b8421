//! Queries from configuration files (custom queries): SQL the exporter did
//! not write, run so that the session is as it was afterwards.

use std::time::Duration;

use tokio_postgres::error::SqlState;

use super::{error_chain, marked, marked_all, Conn, SESSION_SETTINGS};

impl Conn {
    /// Runs SQL text from a configuration file: one statement that returns
    /// rows, in a read-only transaction of its own (with `timeout` as its
    /// `statement_timeout`, if given), reading at most `max_rows` rows; every
    /// value arrives as text (the simple query protocol). The SQL is first
    /// parsed alone (the extended protocol's Parse takes one statement only):
    /// several statements (`COMMIT; BEGIN READ WRITE; …`) and statements that
    /// return no rows (`SET`, `BEGIN`, `PREPARE`, `DECLARE`, `DO`…) are
    /// refused before anything runs. Afterwards the session is as it was
    /// whatever the SQL did: the transaction ended (nothing was written in it;
    /// COMMIT rather than ROLLBACK keeps `xact_rollback` for the application's
    /// own rollbacks), the role and every setting reset (`set_config()`
    /// included; [`SESSION_SETTINGS`] made again) and every advisory lock
    /// released. The outer error means the session could not be put back in
    /// order (it must not be reused); the inner result is the SQL's own.
    pub async fn isolated_query(
        &mut self,
        sql: &str,
        timeout: Option<Duration>,
        max_rows: usize,
    ) -> Result<Result<QueryResult, Refused>, tokio_postgres::Error> {
        let query = marked(sql);
        // The SQL is the configuration's, written for PostgreSQL's default
        // search path, not the exporter's pinned `pg_catalog`.
        let statement_timeout =
            timeout.map(|t| format!("SET LOCAL statement_timeout = {}", t.as_millis().max(1)));
        let mut begin = vec![
            "BEGIN READ ONLY",
            "SET LOCAL search_path = \"$user\", public",
        ];
        begin.extend(statement_timeout.as_deref());
        self.client.batch_execute(&marked_all(&begin)).await?;
        let result = self.read_rows(&query, max_rows).await;
        self.client
            .batch_execute(&marked_all(&[
                "COMMIT",
                // RESET ALL leaves the role (and session authorization) as set.
                "RESET SESSION AUTHORIZATION",
                "RESET ROLE",
                "RESET ALL",
                "SELECT pg_advisory_unlock_all()",
                SESSION_SETTINGS,
            ]))
            .await?;
        Ok(result)
    }

    async fn read_rows(&mut self, sql: &str, max_rows: usize) -> Result<QueryResult, Refused> {
        use futures::TryStreamExt;
        let statement = self.client.prepare(sql).await.map_err(Refused::parsing)?;
        if statement.columns().is_empty() {
            return Err(Refused::NotAQuery);
        }
        let columns = statement
            .columns()
            .iter()
            .map(|c| c.name().to_string())
            .collect();
        drop(statement);
        let stream = self.client.simple_query_raw(sql).await?;
        futures::pin_mut!(stream);
        let mut rows = Vec::new();
        while let Some(message) = stream.try_next().await? {
            if let tokio_postgres::SimpleQueryMessage::Row(row) = message {
                if rows.len() == max_rows {
                    // Dropping the stream discards the rest as it arrives.
                    return Err(Refused::TooManyRows(max_rows));
                }
                rows.push(row);
            }
        }
        Ok(QueryResult { columns, rows })
    }
}

/// What a query from a configuration file returned.
#[derive(Debug)]
pub struct QueryResult {
    /// The result's column names, in order (known even without rows).
    pub columns: Vec<String>,
    pub rows: Vec<tokio_postgres::SimpleQueryRow>,
}

/// Why a query from a configuration file gave no result.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("{}", error_chain(.0))]
    Sql(#[from] tokio_postgres::Error),
    #[error("it holds more than one statement; a query is one statement")]
    Several,
    #[error("it is not a query that returns rows (SET, BEGIN, COMMIT, PREPARE, DO and the like are refused)")]
    NotAQuery,
    #[error("it returned more than {0} rows (--collector.custom_queries.max-rows)")]
    TooManyRows(usize),
}

impl Refused {
    /// Why the SQL could not be parsed as one statement.
    fn parsing(error: tokio_postgres::Error) -> Refused {
        let several = error.as_db_error().is_some_and(|db| {
            *db.code() == SqlState::SYNTAX_ERROR && db.message().contains("multiple commands")
        });
        if several {
            Refused::Several
        } else {
            Refused::Sql(error)
        }
    }
}
