//! The export of a person's data.

use diesel_async::AsyncPgConnection;
use reminder_core::ids::UserId;

use super::model::Export;
use super::store;
use crate::http::ApiError;

/// Everything `user` owns, read in one statement (one snapshot, no transaction held open across I/O).
pub async fn export(
    conn: &mut AsyncPgConnection,
    user: UserId,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Export, ApiError> {
    let tables = store::rows_of(conn, user).await?;
    Ok(Export { exported_at: now, tables })
}

/// The file name a download of the export gets.
pub fn file_name(export: &Export) -> String {
    format!("escalating-reminders-export-{}.json", export.exported_at.format("%Y-%m-%d"))
}
