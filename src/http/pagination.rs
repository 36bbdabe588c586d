//! `?page=&pageSize=` for list routes: checked, turned into LIMIT/OFFSET, and into the envelope's `Pagination`.

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
        }
    }
}
