//! `/api/v1/orders/stream` and `/api/v1/orders/{id}/stream`: order events as Server-Sent
//! Events, as they commit ([`crate::live`]).
//!
//! Each event is `id:` (what `Last-Event-ID` resumes after), `event:` (its type) and
//! `data:` (the envelope Kafka gets). A stream of several orders starts with a `ready`
//! event whose id is where it stands; a stream cut off for reading too slowly ends with a
//! `cut` event, and the reader resumes from its last id. A comment every
//! [`HEARTBEAT`] keeps proxies from closing an idle stream.

use super::auth::AuthUser;
use super::error::ErrorBody;
use super::extract::Query;
use super::params::order_id;
use super::responses::{BadRequest, Unauthorized, Unavailable};
use super::{ApiError, AppState};
use crate::live::Position;
use crate::live::streams::{Interest, Message, Refused, Resume};
use crate::orders::refused;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use std::convert::Infallible;
use std::time::Duration;

/// How often an idle stream sends a comment: under the usual proxies' 60 s idle timeout.
const HEARTBEAT: Duration = Duration::from_secs(15);
/// What a browser waits before it reconnects a stream that ended.
const RECONNECT: Duration = Duration::from_secs(1);
const LAST_EVENT_ID: &str = "last-event-id";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/orders/stream", get(orders))
        .route("/api/v1/orders/{order_id}/stream", get(order))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct StreamParams {
    /// Only events whose order is in this status (after the event).
    status: Option<String>,
    /// Only orders of the workflow serving this sales channel.
    channel: Option<String>,
}

/// The caller's orders' events as they commit (an admin's: every order's), as Server-Sent
/// Events.
#[utoipa::path(get, path = "/api/v1/orders/stream", operation_id = "stream_orders", tag = "orders", params(StreamParams,
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id (`commit-index`)")),
    responses((status = 200, description = "`text/event-stream`: `ready`, then one event per order event (`id`, `event` = its type, `data` = the envelope)", content_type = "text/event-stream", body = String),
        BadRequest, Unauthorized, Unavailable,
        (status = 410, description = "The resume id is older than the store keeps", body = ErrorBody),
        (status = 422, description = "An unknown channel", body = ErrorBody),
        (status = 503, description = "As many streams are open as the service allows", body = ErrorBody)),
    security(("bearer" = [])))]
async fn orders(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    headers: HeaderMap,
    Query(params): Query<StreamParams>,
) -> Result<Response, ApiError> {
    let resume = match last_event_id(&headers)? {
        Some(id) => Some(Resume::At(id.parse::<Position>().map_err(|why| {
            ApiError::bad_request(why, Some("Last-Event-ID".into()))
        })?)),
        None => None,
    };
    let workflow = match params.channel.as_deref() {
        Some(channel) => Some(
            (state.orders.machine(Some(channel)))
                .map_err(|_| unknown_channel(channel))?
                .0,
        ),
        None => None,
    };
    let interest = Interest {
        user: (!caller.admin).then(|| caller.user_id.to_string()),
        status: params.status,
        workflow,
        ..Interest::default()
    };
    stream(&state, interest, resume).await
}

/// One order's events, its history first (after `Last-Event-ID`, if given), then as they
/// commit, as Server-Sent Events. Its owner's or an admin's.
#[utoipa::path(get, path = "/api/v1/orders/{order_id}/stream", operation_id = "stream_order", tag = "orders",
    params(("order_id" = String, Path, description = "The order id (UUID)"),
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id (an event of the order)")),
    responses((status = 200, description = "`text/event-stream`: one event per order event (`id` = its event id, `event` = its type, `data` = the envelope)", content_type = "text/event-stream", body = String),
        BadRequest, Unauthorized, Unavailable,
        (status = 404, description = "No such order, or not yours", body = ErrorBody),
        (status = 503, description = "As many streams are open as the service allows", body = ErrorBody)),
    security(("bearer" = [])))]
async fn order(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = order_id(&id)?;
    state.orders.get(&caller, id).await?;
    let resume = match last_event_id(&headers)? {
        Some(text) => Some(Resume::After(text.parse().map_err(|_| {
            ApiError::bad_request(
                "Last-Event-ID is not an event id of this order's stream",
                Some("Last-Event-ID".into()),
            )
        })?)),
        None => None,
    };
    let interest = Interest {
        order: Some(id),
        ..Interest::default()
    };
    stream(&state, interest, resume).await
}

fn last_event_id(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    match headers.get(LAST_EVENT_ID) {
        None => Ok(None),
        Some(value) => value.to_str().map(|v| Some(v.trim())).map_err(|_| {
            ApiError::bad_request("Last-Event-ID is not text", Some("Last-Event-ID".into()))
        }),
    }
}

fn unknown_channel(channel: &str) -> ApiError {
    ApiError::from(refused(
        "unknown_sales_channel",
        format!("no workflow serves the sales channel `{channel}`"),
        "channel".into(),
    ))
}

async fn stream(
    state: &AppState,
    interest: Interest,
    resume: Option<Resume>,
) -> Result<Response, ApiError> {
    let messages = state
        .streams
        .open(interest, resume)
        .await
        .map_err(|refused| match refused {
            Refused::Full => ApiError::Unavailable {
                code: "too_many_streams",
                public: "as many streams are open as this service allows; retry later".into(),
                detail: "the stream cap is reached".into(),
            },
            Refused::UnknownEvent => ApiError::bad_request(
                "Last-Event-ID is not an event of this order",
                Some("Last-Event-ID".into()),
            ),
            Refused::Gone => ApiError::Gone(
                "the resume id is older than the store keeps; read the orders again and stream afresh",
            ),
            Refused::Store(e) => ApiError::from(e),
        })?;
    Ok(Sse::new(events(messages))
        .keep_alive(KeepAlive::new().interval(HEARTBEAT))
        .into_response())
}

fn events(
    messages: impl Stream<Item = Message> + Send,
) -> impl Stream<Item = Result<Event, Infallible>> + Send {
    messages.map(|message| {
        Ok(match message {
            Message::Ready(at) => Event::default()
                .id(at.to_string())
                .event("ready")
                .retry(RECONNECT)
                .data("{}"),
            Message::Event { id, committed } => Event::default()
                .id(id)
                .event(&committed.event.event_type)
                .data(&committed.json),
            Message::Cut => Event::default()
                .event("cut")
                .data(r#"{"reason":"the stream fell behind; resume from the last id"}"#),
        })
    })
}
