//! Extensions the collectors read from (`pg_stat_statements`, `pgstattuple`):
//! whether one is installed in the session's database, its version and the
//! schema its objects live in.

use super::Conn;

const EXTENSION_SQL: &str = include_str!("../../queries/extension.sql");

/// An extension installed in the exporter's database.
#[derive(Debug, Clone)]
pub struct Extension {
    /// `extversion`, e.g. `1.10`.
    pub version: String,
    /// The schema of its objects, quoted for SQL.
    pub schema: String,
}

impl Extension {
    /// The installed extension `name`, if any.
    pub async fn find(
        conn: &mut Conn,
        name: &str,
    ) -> Result<Option<Extension>, tokio_postgres::Error> {
        let rows = conn.query(EXTENSION_SQL, &[&name]).await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        Ok(Some(Extension {
            version: row.try_get("version")?,
            schema: quote_ident(&row.try_get::<_, String>("schemaname")?),
        }))
    }

    /// `"1.10"` → `(1, 10)`.
    pub fn version(&self) -> Option<(u32, u32)> {
        let (major, minor) = self.version.split_once('.')?;
        Some((major.parse().ok()?, minor.parse().ok()?))
    }

    /// An SQL text with `{schema}` replaced by the extension's schema.
    pub fn sql(&self, template: &str) -> String {
        template.replace("{schema}", &self.schema)
    }
}

/// The identifier quoted for SQL.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_extension_versions() {
        assert_eq!(quote_ident("public"), "\"public\"");
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
        let ext = |version: &str| Extension {
            version: version.into(),
            schema: quote_ident("x"),
        };
        assert_eq!(ext("1.10").version(), Some((1, 10)));
        assert!(ext("1.10").version() > ext("1.9").version());
        assert_eq!(ext("x").version(), None);
        assert_eq!(ext("1.8").sql("{schema}.f()"), "\"x\".f()");
    }
}
