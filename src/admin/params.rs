//! Query strings of the admin list routes, and their checks. A bad value is a 400 naming the parameter.

use chrono::{DateTime, Utc};
use reminder_core::ids::UserId;
use serde::Deserialize;
use uuid::Uuid;

use super::action_log::AuditFilter;
use crate::http::pagination::Page;
use crate::http::{ApiError, FieldError};

/// Longest email substring searched for (an email address is at most 254 characters).
const MAX_QUERY_CHARS: usize = 254;
const MAX_ACTION_CHARS: usize = 64;

/// Declares an admin list route's query string: its own fields, then `?page=&pageSize=` with their bounds, in
/// one place. The page fields are written into each struct rather than shared with `#[serde(flatten)]`,
/// which makes serde read every query value as a string and so rejects `page=2`.
macro_rules! paged_query {
    ($(#[$attr:meta])* pub struct $name:ident { $($(#[$field_attr:meta])* pub $field:ident: $ty:ty,)* }) => {
        $(#[$attr])*
        #[derive(Debug, Deserialize, utoipa::IntoParams)]
        #[serde(rename_all = "camelCase")]
        #[into_params(parameter_in = Query)]
        pub struct $name {
            $($(#[$field_attr])* pub $field: $ty,)*
            #[param(minimum = 1, maximum = 100000)]
            pub page: Option<u32>,
            #[param(minimum = 1, maximum = 100)]
            pub page_size: Option<u32>,
        }

        impl $name {
            /// The page asked for; a bad number is noted in `errors`.
            fn checked_page(&self, errors: &mut Vec<FieldError>) -> Page {
                Page::from_query(self.page, self.page_size, errors)
            }
        }
    };
}

paged_query! {
    /// `?page=&pageSize=`.
    pub struct PageQuery {}
}

paged_query! {
    /// `GET /v1/admin/users`.
    pub struct UserSearchQuery {
        /// Part of the email address, any case; every user without it.
        pub q: Option<String>,
    }
}

paged_query! {
    /// `GET /v1/admin/audit`.
    pub struct AuditQuery {
        /// The acting admin (`adminId` of an entry).
        pub admin_id: Option<Uuid>,
        pub target_user_id: Option<Uuid>,
        /// An action name such as `user.suspend`.
        pub action: Option<String>,
        /// Entries at or after this instant.
        pub from: Option<DateTime<Utc>>,
        /// Entries before this instant.
        pub to: Option<DateTime<Utc>>,
    }
}

paged_query! {
    /// `GET /v1/admin/health/history`.
    pub struct HistoryQuery {
        /// Snapshots taken at or after this instant.
        pub from: Option<DateTime<Utc>>,
        /// Snapshots taken before this instant.
        pub to: Option<DateTime<Utc>>,
    }
}

fn finish<T>(value: T, errors: Vec<FieldError>) -> Result<T, ApiError> {
    if errors.is_empty() { Ok(value) } else { Err(ApiError::validation(errors)) }
}

fn check_range(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>, errors: &mut Vec<FieldError>) {
    if let (Some(from), Some(to)) = (from, to)
        && from >= to
    {
        errors.push(FieldError::new("to", "must be after from"));
    }
}

impl PageQuery {
    pub fn checked(&self) -> Result<Page, ApiError> {
        let mut errors = Vec::new();
        let page = self.checked_page(&mut errors);
        finish(page, errors)
    }
}

impl UserSearchQuery {
    /// The page and the trimmed search text (none when blank).
    pub fn checked(&self) -> Result<(Page, Option<String>), ApiError> {
        let mut errors = Vec::new();
        let page = self.checked_page(&mut errors);
        let q = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
        if q.is_some_and(|q| q.chars().count() > MAX_QUERY_CHARS) {
            errors.push(FieldError::new("q", format!("must be at most {MAX_QUERY_CHARS} characters")));
        }
        finish((page, q.map(str::to_owned)), errors)
    }
}

impl AuditQuery {
    pub fn checked(&self) -> Result<(Page, AuditFilter), ApiError> {
        let mut errors = Vec::new();
        let page = self.checked_page(&mut errors);
        check_range(self.from, self.to, &mut errors);
        if self.action.as_ref().is_some_and(|a| a.chars().count() > MAX_ACTION_CHARS) {
            errors.push(FieldError::new("action", format!("must be at most {MAX_ACTION_CHARS} characters")));
        }
        let filter = AuditFilter {
            admin_id: self.admin_id,
            target_user_id: self.target_user_id.map(UserId),
            action: self.action.clone(),
            from: self.from,
            to: self.to,
        };
        finish((page, filter), errors)
    }
}

impl HistoryQuery {
    pub fn checked(&self) -> Result<Page, ApiError> {
        let mut errors = Vec::new();
        let page = self.checked_page(&mut errors);
        check_range(self.from, self.to, &mut errors);
        finish(page, errors)
    }
}
