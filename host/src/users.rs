//! The user service: the customer profile an order records, when `USER_SERVICE_URL` is set.
//! `GET {base}/api/v1/users/me` with the caller's bearer token →
//! `200 {"id", "email", "full_name", "role"}`; `401` when it rejects the token.

use crate::orders::Customer;
use serde::Deserialize;
use std::time::Duration;

pub struct UserService {
    client: reqwest::Client,
    base: String,
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("the user service rejected the token")]
    Rejected,
    #[error("user service unavailable: {0}")]
    Unavailable(String),
}

#[derive(Deserialize)]
struct Profile {
    id: String,
    email: Option<String>,
    full_name: Option<String>,
}

impl UserService {
    pub fn new(base: &str, timeout: Duration) -> anyhow::Result<Self> {
        Ok(UserService {
            client: reqwest::Client::builder().timeout(timeout).build()?,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    /// The profile of the token's user; a profile of someone else than `user_id` is a
    /// rejection (the two services disagree about who this is).
    pub async fn customer(&self, token: &str, user_id: &str) -> Result<Customer, UserError> {
        let response = self
            .client
            .get(format!("{}/api/v1/users/me", self.base))
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| UserError::Unavailable(e.to_string()))?;
        match response.status().as_u16() {
            200 => {
                let body = response
                    .bytes()
                    .await
                    .map_err(|e| UserError::Unavailable(e.to_string()))?;
                let profile: Profile = serde_json::from_slice(&body)
                    .map_err(|e| UserError::Unavailable(format!("malformed profile: {e}")))?;
                if profile.id != user_id {
                    return Err(UserError::Rejected);
                }
                Ok(Customer {
                    email: profile.email,
                    full_name: profile.full_name,
                })
            }
            401 | 403 => Err(UserError::Rejected),
            status => Err(UserError::Unavailable(format!("status {status}"))),
        }
    }
}
