//! Engine benchmark, scenario "writes": what one delivery of a burst costs Postgres, in figures that do not
//! depend on how busy the machine is. `BENCH_N` (default 20 000) one-off reminders with one webhook tier
//! become due at once; the real binary runs as a `--role scheduler` and a `--role worker` process, sending to
//! a sink on loopback; the burst runs twice, with Redis and without it (workers claim from Postgres).
//!
//! Per delivery it reports:
//! * statements, round trips (`Sync`) and transactions the roles sent, counted by a proxy in front of
//!   Postgres that reads the wire protocol (the server may not have `pg_stat_statements` loaded);
//! * row versions per table (`n_tup_ins`, `n_tup_upd`, `n_tup_hot_upd`, `n_tup_del` of `pg_stat_user_tables`);
//! * WAL records and bytes of this database only (`pg_walinspect` over the run's LSN range, filtered by the
//!   database's oid, so other databases on a shared server do not count), by relation and record type: a
//!   `Btree/INSERT_LEAF` (or `INSERT_POST`) is one index entry written, `Heap/UPDATE` a row version that was
//!   not HOT. Full-page images depend on when the server last checkpointed, so `wal_bytes_without_full_pages`
//!   is the steady figure;
//! * the size of `deliveries` afterwards (heap and indexes, per delivery) and its average row.
//!
//! `cargo bench --bench engine_writes`. Needs the local PostgreSQL (superuser, for `pg_walinspect`) and
//! Redis. Prints one JSON object per mode and writes them to `bench-results/engine_writes.json`.

// Test and benchmark code may unwrap: a failed setup should stop with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::{Process, round};
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::main]
async fn main() {
    let n: i64 = std::env::var("BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    // The shared setup's own reading of BENCH_N (default 100 000) is not used: this one's default is smaller.
    let common::Setup { database, env, mut conn, .. } = common::setup().await;
    let (sink, log) = common::start_sink().await;
    diesel::sql_query("CREATE EXTENSION IF NOT EXISTS pg_walinspect").execute(&mut conn).await.expect("walinspect");
    common::seed(&mut conn, n, &sink).await;
    drop(conn);

    let proxy = Proxy::start().await;
    let mut roles_env: Vec<(String, String)> = env.iter().filter(|(k, _)| k != "DATABASE_URL").cloned().collect();
    roles_env
        .push(("DATABASE_URL".to_owned(), format!("postgres://postgres@{}/{database}?sslmode=disable", proxy.addr)));
    roles_env.push(("WORKER_CONCURRENCY".to_owned(), "64".to_owned()));

    let mut reports = Vec::new();
    for mode in ["redis", "postgres_only"] {
        let mut run_env = roles_env.clone();
        if mode == "postgres_only" {
            run_env.retain(|(k, _)| k != "REDIS_URL");
        }
        reports.push(burst(mode, n, &database, &run_env, &proxy, &log).await);
    }
    common::drop_database(&database).await;
    common::report("engine_writes", &reports);
}

/// One burst of `n` due reminders through the roles; the per-delivery figures.
async fn burst(
    mode: &str,
    n: i64,
    database: &str,
    env: &[(String, String)],
    proxy: &Proxy,
    log: &Arc<std::sync::Mutex<common::SinkLog>>,
) -> Value {
    // The roles start first: the scheduler's first tick finds the stream empty and would re-offer whatever
    // were pending then, which is no part of a burst.
    let scheduler = Process::start(&["--role", "scheduler"], env);
    let worker = Process::start(&["--role", "worker"], env);
    tokio::time::sleep(Duration::from_secs(3)).await;
    // The previous run's rows go, and the tables are vacuumed, so each run starts from the same state. The
    // setup's writes are made on a connection that is closed before the counters are read: its statistics
    // are flushed when it ends.
    {
        let mut conn = common::connect(database).await;
        diesel::sql_query("DELETE FROM escalations").execute(&mut conn).await.expect("clear episodes");
        for table in ["escalations", "deliveries", "reminders", "reminder_schedules"] {
            diesel::sql_query(format!("VACUUM ANALYZE {table}")).execute(&mut conn).await.expect("vacuum");
        }
        common::make_all_due(&mut conn, 8).await;
    }
    *log.lock().expect("sink log") = common::SinkLog::default();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut conn = common::connect(database).await;
    // The run's WAL is kept until it has been read (a temporary slot, dropped with this connection), however
    // much the other databases of a shared server write meanwhile.
    diesel::sql_query("SELECT pg_create_physical_replication_slot('engine_writes_' || pg_backend_pid(), true, true)")
        .execute(&mut conn)
        .await
        .expect("slot");
    let before = Snapshot::take(&mut conn).await;
    proxy.reset();
    let fired_before = common::count(&mut conn, "SELECT count(*) AS n FROM escalations").await;

    let arrived = common::wait_until(Duration::from_secs(600), || {
        let seen = log.lock().expect("sink log").arrivals.len() as i64;
        async move { seen >= n }
    })
    .await;
    // Every outcome recorded: nothing owed is left.
    let mut settled = false;
    for _ in 0..600 {
        let owed =
            common::count(&mut conn, "SELECT count(*) AS n FROM deliveries WHERE status IN ('pending', 'sending')")
                .await;
        if owed == 0 {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let roles = [scheduler.usage_json(), worker.usage_json()];
    drop((scheduler, worker));
    let wire = proxy.counts();
    // The roles' backends flush their statistics as they exit.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = Snapshot::take(&mut conn).await;
    let sent = common::count(&mut conn, "SELECT count(*) AS n FROM deliveries WHERE status = 'sent'").await;
    let stored: Stored = diesel::sql_query(
        "SELECT pg_relation_size('deliveries') AS heap, pg_indexes_size('deliveries') AS indexes,
                COALESCE((SELECT avg(pg_column_size(d.*)) FROM deliveries d), 0)::int8 AS row_bytes",
    )
    .get_result(&mut conn)
    .await
    .expect("sizes");
    let duplicates: usize = log.lock().expect("sink log").arrivals.values().map(|t| t.len() - 1).sum();
    let per = |v: f64| round(v / sent.max(1) as f64, 3);

    let mut tables = serde_json::Map::new();
    for (table, after_counts) in &after.tables {
        let before_counts = before.tables.get(table).copied().unwrap_or_default();
        let diff: Vec<i64> = after_counts.iter().zip(before_counts).map(|(a, b)| a - b).collect();
        if diff.iter().all(|d| *d == 0) {
            continue;
        }
        let [ins, upd, hot, del] = [diff[0], diff[1], diff[2], diff[3]];
        tables.insert(
            table.clone(),
            json!({"ins": per(ins as f64), "upd": per(upd as f64), "hot_upd": per(hot as f64),
                   "non_hot_upd": per((upd - hot) as f64), "del": per(del as f64)}),
        );
    }
    let wal = wal_between(&mut conn, database, &before.lsn, &after.lsn).await;
    let records_total: i64 = wal.iter().map(|r| r.records).sum();
    let bytes_total: i64 = wal.iter().map(|r| r.bytes).sum();
    let fpi_total: i64 = wal.iter().map(|r| r.fpi_bytes).sum();
    // An entry goes into a leaf as a new tuple or, when an equal key is there already, into its posting list.
    let index_entries: i64 = wal
        .iter()
        .filter(|r| matches!(r.kind.as_str(), "Btree/INSERT_LEAF" | "Btree/INSERT_POST"))
        .map(|r| r.records)
        .sum();
    let mut by_kind: BTreeMap<String, f64> = BTreeMap::new();
    let mut by_relation: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for row in &wal {
        *by_kind.entry(row.kind.clone()).or_default() += row.records as f64;
        *by_relation.entry(row.relation.clone()).or_default().entry(row.kind.clone()).or_default() +=
            row.records as f64;
    }
    let by_kind: BTreeMap<String, f64> = by_kind.into_iter().map(|(k, v)| (k, per(v))).collect();
    let by_relation: BTreeMap<String, BTreeMap<String, f64>> = by_relation
        .into_iter()
        .map(|(rel, kinds)| (rel, kinds.into_iter().map(|(k, v)| (k, per(v))).collect()))
        .collect();
    drop(conn);
    json!({
        "scenario": "writes",
        "mode": mode,
        "reminders": n,
        "arrived": arrived,
        "settled": settled,
        "deliveries_marked_sent": sent,
        "duplicates": duplicates,
        // Should be 0: the burst starts after the counters were read.
        "fired_before_counting": fired_before,
        "per_delivery": {
            "statements": per(wire.executes as f64 + wire.simple_queries as f64),
            "round_trips": per(wire.syncs as f64 + wire.simple_queries as f64),
            "transactions": per(wire.begins as f64),
            "row_versions": tables,
            "wal_records": per(records_total as f64),
            "wal_bytes": per(bytes_total as f64),
            "wal_bytes_without_full_pages": per((bytes_total - fpi_total) as f64),
            "index_entries": per(index_entries as f64),
            // What the table holds once the burst is over (old row versions not yet vacuumed included).
            "deliveries_heap_bytes": per(stored.heap as f64),
            "deliveries_index_bytes": per(stored.indexes as f64),
            "wal_records_by_kind": by_kind,
            "wal_records_by_relation": by_relation,
        },
        "wire_totals": {"executes": wire.executes, "simple_queries": wire.simple_queries, "syncs": wire.syncs,
                        "begins": wire.begins},
        "deliveries_average_row_bytes": stored.row_bytes,
        "roles": roles,
    })
}

#[derive(diesel::QueryableByName)]
struct Stored {
    #[diesel(sql_type = BigInt)]
    heap: i64,
    #[diesel(sql_type = BigInt)]
    indexes: i64,
    #[diesel(sql_type = BigInt)]
    row_bytes: i64,
}

/// Counters of this database at one moment.
struct Snapshot {
    lsn: String,
    /// Per table: inserted, updated, HOT-updated, deleted row versions.
    tables: BTreeMap<String, [i64; 4]>,
}

#[derive(diesel::QueryableByName)]
struct TableRow {
    #[diesel(sql_type = Text)]
    relname: String,
    #[diesel(sql_type = BigInt)]
    ins: i64,
    #[diesel(sql_type = BigInt)]
    upd: i64,
    #[diesel(sql_type = BigInt)]
    hot: i64,
    #[diesel(sql_type = BigInt)]
    del: i64,
}

#[derive(diesel::QueryableByName)]
struct Lsn {
    #[diesel(sql_type = Text)]
    lsn: String,
}

impl Snapshot {
    async fn take(conn: &mut AsyncPgConnection) -> Snapshot {
        diesel::sql_query("SELECT pg_stat_clear_snapshot()").execute(conn).await.expect("fresh statistics");
        let rows: Vec<TableRow> = diesel::sql_query(
            "SELECT relname::text, n_tup_ins AS ins, n_tup_upd AS upd, n_tup_hot_upd AS hot, n_tup_del AS del
             FROM pg_stat_user_tables",
        )
        .load(conn)
        .await
        .expect("table statistics");
        let lsn: Lsn =
            diesel::sql_query("SELECT pg_current_wal_lsn()::text AS lsn").get_result(conn).await.expect("lsn");
        Snapshot { lsn: lsn.lsn, tables: rows.into_iter().map(|r| (r.relname, [r.ins, r.upd, r.hot, r.del])).collect() }
    }
}

#[derive(diesel::QueryableByName)]
struct WalRow {
    #[diesel(sql_type = Text)]
    relation: String,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = BigInt)]
    records: i64,
    #[diesel(sql_type = BigInt)]
    bytes: i64,
    #[diesel(sql_type = BigInt)]
    fpi_bytes: i64,
}

/// This database's WAL records between two LSNs, by the relation of their first block and their type.
async fn wal_between(conn: &mut AsyncPgConnection, database: &str, from: &str, to: &str) -> Vec<WalRow> {
    diesel::sql_query(
        "WITH db AS (SELECT oid::text AS oid FROM pg_database WHERE datname = $3),
         w AS (SELECT resource_manager || '/' || record_type AS kind, record_length, fpi_length,
                      substring(block_ref FROM 'rel \\d+/' || (SELECT oid FROM db) || '/(\\d+)')::oid AS node
               FROM pg_get_wal_records_info($1::pg_lsn, $2::pg_lsn)
               WHERE block_ref LIKE '%/' || (SELECT oid FROM db) || '/%')
         SELECT COALESCE(c.relname::text, w.node::text) AS relation, w.kind, count(*) AS records,
                sum(w.record_length)::int8 AS bytes, sum(w.fpi_length)::int8 AS fpi_bytes
         FROM w LEFT JOIN pg_class c ON c.relfilenode = w.node
         GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .bind::<Text, _>(from)
    .bind::<Text, _>(to)
    .bind::<Text, _>(database)
    .load(conn)
    .await
    .expect("wal records")
}

/// A TCP proxy in front of Postgres that counts the frontend messages the roles send: `Execute` (a statement
/// of the extended protocol), `Query` (a simple-protocol statement; `BEGIN` starts a transaction) and `Sync`
/// (the end of a round trip).
struct Proxy {
    addr: String,
    counters: Arc<Counters>,
}

#[derive(Default)]
struct Counters {
    executes: AtomicU64,
    simple_queries: AtomicU64,
    syncs: AtomicU64,
    begins: AtomicU64,
}

#[derive(Clone, Copy)]
struct WireCounts {
    executes: u64,
    simple_queries: u64,
    syncs: u64,
    begins: u64,
}

impl Proxy {
    async fn start() -> Proxy {
        let upstream = common::server_url();
        let upstream = upstream.rsplit('@').next().unwrap_or("127.0.0.1:5432").split('/').next().unwrap().to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address").to_string();
        let counters = Arc::new(Counters::default());
        let shared = Arc::clone(&counters);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (upstream, counters) = (upstream.clone(), Arc::clone(&shared));
                tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else { return };
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut server_read, mut server_write) = server.into_split();
                    let to_client = tokio::io::copy(&mut server_read, &mut client_write);
                    let to_server = forward_counting(&mut client_read, &mut server_write, &counters);
                    let _ = tokio::join!(to_client, to_server);
                });
            }
        });
        Proxy { addr, counters }
    }

    fn reset(&self) {
        for c in [&self.counters.executes, &self.counters.simple_queries, &self.counters.syncs, &self.counters.begins] {
            c.store(0, Ordering::Relaxed);
        }
    }

    fn counts(&self) -> WireCounts {
        WireCounts {
            executes: AtomicU64::load(&self.counters.executes, Ordering::Relaxed),
            simple_queries: AtomicU64::load(&self.counters.simple_queries, Ordering::Relaxed),
            syncs: AtomicU64::load(&self.counters.syncs, Ordering::Relaxed),
            begins: AtomicU64::load(&self.counters.begins, Ordering::Relaxed),
        }
    }
}

/// Copies the client's messages to the server, counting them. The first messages have no type byte (an SSL
/// or GSS request, then the startup message); every later one is a type byte and a length.
async fn forward_counting(
    from: &mut tokio::net::tcp::OwnedReadHalf,
    to: &mut tokio::net::tcp::OwnedWriteHalf,
    counters: &Counters,
) -> std::io::Result<()> {
    let mut buffer: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    let mut startup = true;
    loop {
        let read = from.read(&mut chunk).await?;
        if read == 0 {
            return to.shutdown().await;
        }
        buffer.extend_from_slice(&chunk[..read]);
        let mut at = 0;
        loop {
            let rest = &buffer[at..];
            if startup {
                if rest.len() < 8 {
                    break;
                }
                let length = u32::from_be_bytes(rest[0..4].try_into().unwrap()) as usize;
                if rest.len() < length {
                    break;
                }
                let code = u32::from_be_bytes(rest[4..8].try_into().unwrap());
                // 80877103: SSLRequest, 80877104: GSSENCRequest; anything else is the startup message.
                startup = matches!(code, 80_877_103 | 80_877_104);
                at += length;
                continue;
            }
            if rest.len() < 5 {
                break;
            }
            let length = u32::from_be_bytes(rest[1..5].try_into().unwrap()) as usize;
            if rest.len() < 1 + length {
                break;
            }
            match rest[0] {
                b'E' => {
                    counters.executes.fetch_add(1, Ordering::Relaxed);
                }
                b'S' => {
                    counters.syncs.fetch_add(1, Ordering::Relaxed);
                }
                b'Q' => {
                    counters.simple_queries.fetch_add(1, Ordering::Relaxed);
                    let text = String::from_utf8_lossy(&rest[5..(1 + length).min(rest.len())]).to_ascii_uppercase();
                    if text.trim_start().starts_with("BEGIN") {
                        counters.begins.fetch_add(1, Ordering::Relaxed);
                    }
                }
                _ => {}
            }
            at += 1 + length;
        }
        to.write_all(&buffer[..at]).await?;
        buffer.drain(..at);
    }
}
