//! Redis Streams operations on the dispatch stream.

use deadpool_redis::redis::{self, AsyncCommands, RedisResult, Value};
use reminder_core::ids::DeliveryId;
use uuid::Uuid;

/// Stream key suffix (namespaced by the configured prefix).
pub const STREAM: &str = "dispatch";
/// Consumer group of the workers.
pub const GROUP: &str = "workers";
/// Present while the stream's Redis has not lost its data; gone after a restart of an empty Redis.
pub const ALIVE_MARKER: &str = "dispatch:alive";
/// Approximate cap on stream length: entries are acknowledged quickly, this only bounds a backlog.
const MAX_LEN: usize = 1_000_000;

/// An entry read from the group: the stream entry id and the delivery it names.
#[derive(Debug, Clone)]
pub struct Entry {
    pub entry_id: String,
    pub delivery_id: Option<DeliveryId>,
}

/// Appends delivery ids in one pipelined round trip.
pub async fn add(conn: &mut deadpool_redis::Connection, key: &str, ids: &[DeliveryId]) -> RedisResult<()> {
    let mut pipe = redis::pipe();
    for id in ids {
        pipe.cmd("XADD").arg(key).arg("MAXLEN").arg("~").arg(MAX_LEN).arg("*").arg("d").arg(id.to_string()).ignore();
    }
    pipe.query_async::<()>(conn).await
}

/// Creates the consumer group (and the stream); an existing group is fine.
pub async fn ensure_group(conn: &mut deadpool_redis::Connection, key: &str) -> RedisResult<()> {
    let created: RedisResult<()> = conn.xgroup_create_mkstream(key, GROUP, "0").await;
    match created {
        Err(err) if err.code() == Some("BUSYGROUP") => Ok(()),
        other => other,
    }
}

/// Reads up to `count` new entries for `consumer`, blocking at most `block_ms`.
pub async fn read(
    conn: &mut deadpool_redis::Connection,
    key: &str,
    consumer: &str,
    count: usize,
    block_ms: usize,
) -> RedisResult<Vec<Entry>> {
    let reply: Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg(GROUP)
        .arg(consumer)
        .arg("COUNT")
        .arg(count)
        .arg("BLOCK")
        .arg(block_ms)
        .arg("STREAMS")
        .arg(key)
        .arg(">")
        .query_async(conn)
        .await?;
    Ok(entries_of_read(&reply))
}

/// Takes over entries another consumer read but never acknowledged (it died) after `min_idle_ms`.
pub async fn autoclaim(
    conn: &mut deadpool_redis::Connection,
    key: &str,
    consumer: &str,
    min_idle_ms: u64,
    count: usize,
) -> RedisResult<Vec<Entry>> {
    let reply: Value = redis::cmd("XAUTOCLAIM")
        .arg(key)
        .arg(GROUP)
        .arg(consumer)
        .arg(min_idle_ms)
        .arg("0-0")
        .arg("COUNT")
        .arg(count)
        .query_async(conn)
        .await?;
    // Reply: [next-start-id, [[id, [field, value, ...]], ...], [deleted ids]]
    Ok(match reply {
        Value::Array(parts) => parts.get(1).map(entries_of_list).unwrap_or_default(),
        _ => Vec::new(),
    })
}

/// Acknowledges entries so the group forgets them, and deletes them to keep the stream short.
pub async fn ack(conn: &mut deadpool_redis::Connection, key: &str, entry_ids: &[String]) -> RedisResult<()> {
    if entry_ids.is_empty() {
        return Ok(());
    }
    let mut pipe = redis::pipe();
    pipe.cmd("XACK").arg(key).arg(GROUP).arg(entry_ids).ignore();
    pipe.cmd("XDEL").arg(key).arg(entry_ids).ignore();
    pipe.query_async::<()>(conn).await
}

/// XREADGROUP reply: [[stream, [[id, [field, value]], ...]]] (or nil on timeout).
fn entries_of_read(reply: &Value) -> Vec<Entry> {
    let Value::Array(streams) = reply else { return Vec::new() };
    streams
        .iter()
        .filter_map(|stream| match stream {
            Value::Array(pair) => pair.get(1).map(entries_of_list),
            _ => None,
        })
        .flatten()
        .collect()
}

fn entries_of_list(list: &Value) -> Vec<Entry> {
    let Value::Array(items) = list else { return Vec::new() };
    items
        .iter()
        .filter_map(|item| {
            let Value::Array(parts) = item else { return None };
            let entry_id = text(parts.first()?)?;
            let delivery_id = match parts.get(1) {
                Some(Value::Array(fields)) => {
                    fields.get(1).and_then(text).and_then(|t| Uuid::parse_str(&t).ok()).map(DeliveryId)
                }
                _ => None,
            };
            Some(Entry { entry_id, delivery_id })
        })
        .collect()
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}
