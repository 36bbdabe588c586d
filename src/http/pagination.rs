//! `?page=&pageSize=` for list routes: checked, turned into LIMIT/OFFSET, and into the envelope's `Pagination`.

use super::FieldError;
use super::envelope::Pagination;

/// Largest page a client may ask for (API contract).
pub const MAX_PAGE_SIZE: u32 = 100;
const DEFAULT_PAGE_SIZE: u32 = 20;

/// A checked page request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub page: u32,
    pub page_size: u32,
}

impl Page {
    /// Defaults page 1 of 20; records an error for page 0, pageSize 0 or pageSize above 100.
    pub fn from_query(page: Option<u32>, page_size: Option<u32>, errors: &mut Vec<FieldError>) -> Page {
        let page = page.unwrap_or(1);
        let page_size = page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if page == 0 {
            errors.push(FieldError::new("page", "must be 1 or more"));
        }
        if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            errors.push(FieldError::new("pageSize", format!("must be 1 to {MAX_PAGE_SIZE}")));
        }
        Page { page: page.max(1), page_size: page_size.clamp(1, MAX_PAGE_SIZE) }
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
