//! Lists that GitHub answers page by page: every page is read (`Link: rel="next"`), and a list
//! longer than factory will read is an error that says so, never a silently shortened list.

use serde_json::Value;

use super::GithubForge;
use super::http::{Method, next_link};
use crate::forge::ForgeError;

/// Pages read at most per list: 10,000 items at 100 a page. Lists this long come from a query
/// that is not narrow enough; the error says which.
pub const MAX_PAGES: u32 = 100;

impl GithubForge {
    /// The body of every page of a list, first page first.
    pub(super) fn pages(&self, first: String) -> Result<Vec<Value>, ForgeError> {
        let mut out = Vec::new();
        let mut url = Some(first);
        while let Some(u) = url {
            if out.len() as u32 == MAX_PAGES {
                let path = u.strip_prefix(self.api.as_str()).unwrap_or(&u).to_string();
                return Err(ForgeError::Api(format!(
                    "GET {path}: the list goes on past {MAX_PAGES} pages ({} items); factory reads no further rather than act on part of it — report this with the query, it should be narrower",
                    u64::from(MAX_PAGES) * 100
                )));
            }
            let r = self.request(Method::Get, &u, None)?;
            if r.status == 404 {
                return Err(self.not_found(&u));
            }
            url = r.link.as_deref().and_then(next_link);
            out.push(r.body);
        }
        Ok(out)
    }

    /// Every item of a list answered as a JSON array.
    pub(super) fn list(&self, first: String) -> Result<Vec<Value>, ForgeError> {
        self.list_in(first, None)
    }

    /// Every item of a list: the array itself, or the array under `field` of an object answer
    /// (check runs come as `{"total_count": …, "check_runs": […]}`).
    pub(super) fn list_in(
        &self,
        first: String,
        field: Option<&str>,
    ) -> Result<Vec<Value>, ForgeError> {
        Ok(self
            .pages(first)?
            .into_iter()
            .flat_map(|page| {
                let items = match field {
                    Some(f) => page.get(f).cloned(),
                    None => Some(page),
                };
                match items {
                    Some(Value::Array(a)) => a,
                    _ => Vec::new(),
                }
            })
            .collect())
    }
}
