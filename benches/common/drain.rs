//! A burst with no-op channels (`WORKER_NOOP_CHANNELS`): fire, offer, claim and record as in production,
//! with no HTTP, so what is measured is the engine's own Postgres and Redis work.

use std::time::{Duration, Instant};

use diesel::sql_types::Timestamptz;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

use super::{Process, count};

#[derive(diesel::QueryableByName)]
struct Seconds {
    #[diesel(sql_type = diesel::sql_types::Double)]
    seconds: f64,
}

/// What one no-op burst did.
pub struct Drain {
    pub finished: bool,
    /// Seconds from the due instant to the last episode's creation: the schedulers' part.
    pub fired_after: f64,
    /// Seconds from the due instant to the last recorded send.
    pub drain: f64,
    pub sent: i64,
    pub roles: Vec<Value>,
}

impl Drain {
    pub fn rate(&self) -> f64 {
        self.sent as f64 / self.drain
    }
}

/// Clears every episode and delivery of an earlier run and vacuums, so the next run starts as clean as the
/// first.
pub async fn clear(conn: &mut AsyncPgConnection) {
    // Deleting the episodes deletes their deliveries (statement trigger).
    diesel::sql_query("DELETE FROM escalations").execute(conn).await.expect("clear episodes");
    for table in ["escalations", "deliveries", "reminders"] {
        diesel::sql_query(format!("VACUUM ANALYZE {table}")).execute(conn).await.expect("vacuum");
    }
}

/// With all `n` reminders due at `due_at` (`make_all_due`), starts `schedulers` scheduler processes and one
/// worker with no-op channels (and `extra` environment), and waits until everything is fired and sent.
pub async fn noop_burst(
    conn: &mut AsyncPgConnection,
    env: &[(String, String)],
    extra: &[(&str, &str)],
    n: i64,
    schedulers: usize,
    due_at: chrono::DateTime<chrono::Utc>,
) -> Drain {
    let mut env = env.to_vec();
    env.push(("WORKER_NOOP_CHANNELS".to_owned(), "true".to_owned()));
    env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let mut processes: Vec<Process> = (0..schedulers).map(|_| Process::start(&["--role", "scheduler"], &env)).collect();
    processes.push(Process::start(&["--role", "worker"], &env));
    // Done when nothing of the burst is still due and nothing is owed: both checks read small partial
    // indexes, and the count of episodes runs only once they pass. (Reminders due later, as in a table
    // of a million, do not count.)
    let deadline = Instant::now() + Duration::from_secs(1800);
    let done_sql = format!(
        "SELECT count(*) AS n FROM escalations
         WHERE NOT EXISTS (SELECT 1 FROM reminders WHERE status = 'active' AND next_trigger_at <= '{}')
           AND NOT EXISTS (SELECT 1 FROM deliveries WHERE status IN ('pending', 'sending'))",
        due_at.to_rfc3339()
    );
    let finished = loop {
        let done = count(conn, &done_sql).await >= n;
        if done || Instant::now() >= deadline {
            break done;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let roles = processes.iter().map(Process::usage_json).collect();
    drop(processes);
    let seconds_since_due = async |conn: &mut AsyncPgConnection, sql: &str| -> f64 {
        let seconds: Seconds =
            diesel::sql_query(sql).bind::<Timestamptz, _>(due_at).get_result(conn).await.expect("seconds since due");
        seconds.seconds
    };
    let drain = seconds_since_due(
        conn,
        "SELECT COALESCE(EXTRACT(EPOCH FROM max(sent_at) - $1)::float8, 0) AS seconds FROM deliveries",
    )
    .await;
    let fired_after = seconds_since_due(
        conn,
        "SELECT COALESCE(EXTRACT(EPOCH FROM max(created_at) - $1)::float8, 0) AS seconds FROM escalations",
    )
    .await;
    let sent = count(conn, "SELECT count(*) AS n FROM deliveries WHERE status = 'sent'").await;
    Drain { finished, fired_after, drain, sent, roles }
}
