//! Customers: the profile an order records of who placed it ([`Customers`], the seam the
//! order use case owns). From the user service over
//! HTTP when `USER_SERVICE_URL` is set, else from the caller's own token claims.
//!
//! The user service's contract: `GET {base}/api/v1/users/me` with the caller's bearer token
//! → `200 {"id", "email", "full_name", "role"}`; `401`/`403` when it rejects the token.
//! Anything else means the service is unavailable, which is not the customer's fault.

mod client;

pub use client::UserService;

use crate::orders::{Caller, Customer, CustomerError, Customers};
use async_trait::async_trait;

/// Profiles as the token's claims give them (`email`, `name`): no user service asked.
pub struct FromClaims;

#[async_trait]
impl Customers for FromClaims {
    async fn profile(&self, caller: &Caller) -> Result<Customer, CustomerError> {
        Ok(caller.customer.clone())
    }
}
