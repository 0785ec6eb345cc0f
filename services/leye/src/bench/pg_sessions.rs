//! PostgreSQL's CPU by session kind over a cluster bench run: each backend of
//! the run's database, its CPU from `/proc/<pid>/stat`, labelled by the
//! `application_name` its server gave the connection (`leye-writer`,
//! `leye-reader`, `leye-keys`, `leye-listen`, …). Sessions that ended before
//! the run's end are not counted; one that began during the run counts from
//! zero.

use std::collections::BTreeMap;

/// Each backend of the database (but the asking session): its label and CPU seconds so far.
pub(super) struct Sessions(BTreeMap<i32, (String, f64)>);

impl Sessions {
    pub(super) async fn now(c: &tokio_postgres::Client) -> anyhow::Result<Self> {
        let rows = c
            .query(
                "SELECT pid, application_name FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .await?;
        let sessions = rows
            .iter()
            .map(|r| {
                let (pid, name): (i32, String) = (r.get(0), r.get(1));
                let label = if name.is_empty() { "unnamed".to_owned() } else { name };
                (pid, (label, super::pid_cpu_secs(&pid.to_string())))
            })
            .collect();
        Ok(Self(sessions))
    }

    /// CPU seconds by label from `before` to `self`.
    pub(super) fn since(&self, before: &Self) -> BTreeMap<String, f64> {
        let mut by = BTreeMap::new();
        for (pid, (label, cpu)) in &self.0 {
            let start = before.0.get(pid).map_or(0.0, |(_, c)| *c);
            *by.entry(label.clone()).or_insert(0.0) += cpu - start;
        }
        by
    }
}
