//! Customers: the profile an order records of who placed it. From the user service over
//! HTTP when `USER_SERVICE_URL` is set, else from the caller's own token claims.
//!
//! The user service's contract: `GET {base}/api/v1/users/me` with the caller's bearer token
//! → `200 {"id", "email", "full_name", "role"}`; `401`/`403` when it rejects the token.
//! Anything else means the service is unavailable, which is not the customer's fault.

mod client;

pub use client::UserService;

use crate::orders::{Caller, Customer};
use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CustomerError {
    /// The token is valid here but its user is unknown there (or someone else).
    #[error("the user service rejected the token")]
    Rejected,
    #[error("user service unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Customers: Send + Sync + 'static {
    /// The profile of the caller, as it is now.
    async fn profile(&self, caller: &Caller) -> Result<Customer, CustomerError>;
}

/// Profiles as the token's claims give them (`email`, `name`): no user service asked.
pub struct FromClaims;

#[async_trait]
impl Customers for FromClaims {
    async fn profile(&self, caller: &Caller) -> Result<Customer, CustomerError> {
        Ok(caller.customer.clone())
    }
}
