//! The start of every collection: the server's identity (its answer is
//! `pg_up`) with the predefined roles the exporter's role has, and, with `--auto-discover-databases`, the other databases to
//! scrape, listed on the session to the DSN's database.

use std::sync::atomic::Ordering;

use tokio::time::Instant;

use super::Scraper;
use crate::config::Discovery;
use crate::db::{error_chain, is_connection_error, ServerInfo, PREDEFINED_ROLES};

/// Lists the databases a session may be opened to.
const DATABASES_SQL: &str = include_str!("../../queries/databases.sql");

impl Scraper {
    /// Reads the server's identity and, with `--auto-discover-databases`, the
    /// other databases to scrape; a broken idle session (a restarted server,
    /// a terminated backend) is replaced once within the same scrape.
    pub(super) async fn server_info(&self, deadline: Instant) -> Option<(ServerInfo, Vec<String>)> {
        for _attempt in 0..2 {
            let mut conn = match self.pool.acquire(deadline).await {
                Ok(conn) => conn,
                Err(err) => {
                    tracing::debug!(error = %error_chain(&err), "no session for this scrape");
                    return None;
                }
            };
            match tokio::time::timeout_at(deadline, conn.server_info()).await {
                Ok(Ok(info)) => {
                    let (others, reusable) = match &self.discovery {
                        Some(discovery) => self.discover(&mut conn, discovery, deadline).await,
                        None => (Vec::new(), true),
                    };
                    if reusable {
                        conn.reusable();
                    }
                    return Some((info, others));
                }
                Ok(Err(err)) if is_connection_error(&err) => {
                    tracing::debug!(error = %error_chain(&err), "session broken, reconnecting");
                    self.pool.log_broken(&err);
                }
                Ok(Err(err)) => {
                    tracing::warn!(error = %error_chain(&err), "cannot read the server version");
                    return None;
                }
                Err(_) => return None,
            }
        }
        None
    }

    /// The other databases to scrape, and whether the session may be
    /// reused. When they cannot be listed, the scrape goes on with the DSN's
    /// database alone and the log says so.
    async fn discover(
        &self,
        conn: &mut crate::db::PooledConn<'_>,
        discovery: &Discovery,
        deadline: Instant,
    ) -> (Vec<String>, bool) {
        let (listed, reusable) =
            match tokio::time::timeout_at(deadline, conn.query(DATABASES_SQL, &[])).await {
                Err(_) => (Err("scrape deadline reached".to_string()), false),
                Ok(Err(err)) => (Err(error_chain(&err)), !is_connection_error(&err)),
                // A name that is not UTF-8 (made in a SQL_ASCII database)
                // cannot be given to connect to: that database is skipped.
                Ok(Ok(rows)) => (
                    Ok(rows
                        .iter()
                        .filter_map(|row| row.try_get::<_, String>("datname").ok())
                        .collect::<Vec<_>>()),
                    true,
                ),
            };
        let failed_before = self
            .discovery_failed
            .swap(listed.is_err(), Ordering::Relaxed);
        let wanted = match listed {
            Ok(names) => {
                if failed_before {
                    tracing::info!("listing the databases works again");
                }
                names.into_iter().filter(|n| discovery.wants(n)).collect()
            }
            Err(error) => {
                if !failed_before {
                    tracing::warn!(%error, "cannot list the databases; scraping the DSN's database only");
                }
                Vec::new()
            }
        };
        (wanted, reusable)
    }

    /// Says once, and again when it changes, which predefined roles the
    /// exporter's role lacks: without them PostgreSQL hides other sessions'
    /// queries and statements and refuses some functions, so series shrink
    /// with no error of their own.
    pub(super) fn warn_if_roles_missing(&self, server: &ServerInfo) {
        let missing: Vec<&'static str> = PREDEFINED_ROLES
            .iter()
            .zip(&server.roles)
            .filter(|(_, has)| !**has)
            .map(|(role, _)| *role)
            .collect();
        let mut last = self.missing_roles.lock().expect("roles lock");
        if *last == missing {
            return;
        }
        if missing.is_empty() {
            tracing::info!("the exporter's role has pg_monitor's privileges again");
        } else {
            tracing::warn!(
                missing = %missing.join(","),
                "the exporter's role lacks predefined roles: other sessions' queries and statements read as hidden and some collectors fail (GRANT pg_monitor TO the exporter's role; see pg_exporter_role_granted)"
            );
        }
        *last = missing;
    }
}
