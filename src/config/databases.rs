//! `--auto-discover-databases`: which databases, besides the DSN's, the
//! per-database collectors visit.
//!
//! On every scrape the session to the DSN's database lists (see
//! [`crate::scrape`]) the databases that
//! accept connections (not templates, `datallowconn`, CONNECT granted to the
//! exporter's role); `--include-databases` and `--exclude-databases` narrow the
//! list. The DSN's database itself is always scraped whole, as postgres_exporter
//! does. A pattern is a regular expression that must match the whole name, so
//! a plain name matches only itself (up to `.` and other metacharacters).

use regex::Regex;

/// The databases to visit besides the DSN's, from the command line.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    include: Vec<Regex>,
    exclude: Vec<Regex>,
}

impl Discovery {
    /// Builds the filter from the comma-separated `--include-databases` and
    /// `--exclude-databases` values; an error names the flag and the pattern.
    pub fn new(include: &[String], exclude: &[String]) -> Result<Discovery, String> {
        Ok(Discovery {
            include: patterns("--include-databases", include)?,
            exclude: patterns("--exclude-databases", exclude)?,
        })
    }

    /// Whether a discovered database is visited: included (or no
    /// `--include-databases`) and not excluded.
    pub fn wants(&self, datname: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|r| r.is_match(datname)))
            && !self.excludes(datname)
    }

    /// Whether `--exclude-databases` names the database.
    pub fn excludes(&self, datname: &str) -> bool {
        self.exclude.iter().any(|r| r.is_match(datname))
    }

    /// The `--exclude-databases` patterns, which the `database` collector
    /// also applies, as postgres_exporter's does.
    pub fn exclude(&self) -> &[Regex] {
        &self.exclude
    }
}

fn patterns(flag: &str, items: &[String]) -> Result<Vec<Regex>, String> {
    items
        .iter()
        .map(|item| item.trim())
        .filter(|item| !item.is_empty())
        .map(|item| {
            Regex::new(&format!("^(?:{item})$")).map_err(|err| {
                let reason = err.to_string();
                let reason = reason.lines().last().unwrap_or("invalid").trim();
                crate::text::one_line(&format!(
                    "{flag}: '{item}' is not a valid regular expression ({reason})"
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn discovery(include: &[&str], exclude: &[&str]) -> Discovery {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Discovery::new(&strings(include), &strings(exclude)).unwrap()
    }

    #[test]
    fn names_and_patterns_match_whole_names() {
        let all = discovery(&[], &[]);
        assert!(all.wants("festivals") && all.wants("postgres"));

        let only = discovery(&["festivals", "tenant_.*"], &[]);
        assert!(only.wants("festivals"));
        assert!(only.wants("tenant_42"));
        assert!(!only.wants("festivals_archive"), "a name matches whole");
        assert!(!only.wants("old_tenant_1"));
        assert!(!only.wants("postgres"));

        let but = discovery(&["tenant_.*"], &["tenant_test", " "]);
        assert!(but.wants("tenant_1"));
        assert!(!but.wants("tenant_test"));

        let exclude = discovery(&[], &["rdsadmin", "scratch.*"]);
        assert!(exclude.wants("festivals"));
        assert!(!exclude.wants("rdsadmin") && !exclude.wants("scratch_2026"));
        assert!(
            exclude.excludes("rdsadmin") && !but.excludes("tenant_1") && !only.excludes("postgres")
        );
    }

    #[test]
    fn a_bad_pattern_is_one_line_naming_the_flag() {
        let err = Discovery::new(&["festivals(".to_string()], &[]).unwrap_err();
        assert!(
            err.starts_with("--include-databases: 'festivals(' is not a valid regular expression"),
            "{err}"
        );
        assert!(!err.contains('\n'), "{err}");
        let err = Discovery::new(&[], &["[z-a]".to_string()]).unwrap_err();
        assert!(err.starts_with("--exclude-databases: '[z-a]'"), "{err}");
    }
}
