//! `?page=&pageSize=` for list routes: checked, turned into LIMIT/OFFSET, and into the envelope's `Pagination`;
//! `?cursor=` for the long lists that offer keyset paging.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::FieldError;
use super::envelope::Pagination;

/// Largest page a client may ask for (API contract).
pub const MAX_PAGE_SIZE: u32 = 100;
/// Highest page number accepted: deep enough for any real list, small enough that OFFSET stays sane.
pub const MAX_PAGE: u32 = 100_000;
const DEFAULT_PAGE_SIZE: u32 = 20;

/// A checked page request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub page: u32,
    pub page_size: u32,
}

impl Page {
    /// Defaults page 1 of 20; records an error for a page outside 1..=100 000 or a pageSize outside 1..=100.
    pub fn from_query(page: Option<u32>, page_size: Option<u32>, errors: &mut Vec<FieldError>) -> Page {
        let page = page.unwrap_or(1);
        let page_size = page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE).contains(&page) {
            errors.push(FieldError::new("page", format!("must be 1 to {MAX_PAGE}")));
        }
        if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            errors.push(FieldError::new("pageSize", format!("must be 1 to {MAX_PAGE_SIZE}")));
        }
        Page { page: page.clamp(1, MAX_PAGE), page_size: page_size.clamp(1, MAX_PAGE_SIZE) }
    }

    pub fn limit(self) -> i64 {
        i64::from(self.page_size)
    }

    pub fn offset(self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.page_size)
    }

    /// The envelope's page information for `total` matching items.
    pub fn pagination(self, total: i64) -> Pagination {
        let total_items = u64::try_from(total).unwrap_or(0);
        Pagination {
            page: self.page,
            page_size: self.page_size,
            total_items,
            total_pages: total_items.div_ceil(u64::from(self.page_size)),
            next_cursor: None,
        }
    }
}

/// A keyset position in a list ordered by `(created_at DESC, id DESC)`: the last row a client has seen.
/// Offsets skip or repeat rows when rows with equal sort keys move between requests or new rows arrive;
/// a position in a unique order does neither.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    /// Opaque to clients: base64url of `<microseconds>.<uuid>`.
    pub fn encode(self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}.{}", self.created_at.timestamp_micros(), self.id.simple()))
    }

    /// Records an error on `cursor` when the text is not one we issued.
    pub fn decode(text: &str, errors: &mut Vec<FieldError>) -> Option<Cursor> {
        let parsed = URL_SAFE_NO_PAD.decode(text).ok().and_then(|bytes| {
            let text = String::from_utf8(bytes).ok()?;
            let (micros, id) = text.split_once('.')?;
            let created_at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
            Some(Cursor { created_at, id: Uuid::parse_str(id).ok()? })
        });
        if parsed.is_none() {
            errors.push(FieldError::new("cursor", "is not a cursor this API issued"));
        }
        parsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_foreign_text_is_a_field_error() {
        let cursor =
            Cursor { created_at: DateTime::from_timestamp_micros(1_767_225_600_123_456).unwrap(), id: Uuid::now_v7() };
        let mut errors = Vec::new();
        assert_eq!(Cursor::decode(&cursor.encode(), &mut errors), Some(cursor));
        assert!(errors.is_empty());
        for bad in ["", "not base64!", "MTIz", &URL_SAFE_NO_PAD.encode("12.nope")] {
            assert_eq!(Cursor::decode(bad, &mut errors), None, "{bad}");
        }
        assert_eq!(errors.len(), 4);
        assert!(errors.iter().all(|e| e.field == "cursor"));
    }
}
