// Live order events for the pages: the API's Server-Sent Events streams, read with fetch
// (EventSource cannot send the admin token), resumed after the last event id when a stream
// ends or is cut, and closed when the person leaves the page.

import { session } from '/console/api.js';

/// What the page being shown follows; closed when another page is shown.
let following = new AbortController();

/// Closes the streams of the page being left.
export function leave() {
  following.abort();
  following = new AbortController();
}

/// Calls `onEvent({id, type, data})` for each event of the stream at `path`, from after
/// `lastId` if given, until the page is left. Reconnects after a second when the stream
/// ends or the service is away.
export function follow(path, onEvent, lastId = null) {
  const { signal } = following;
  (async () => {
    while (!signal.aborted) {
      try {
        lastId = await read(path, lastId, onEvent, signal);
      } catch (e) {
        if (signal.aborted) return;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  })();
}

/// One connection: events until it ends; the last id seen.
async function read(path, lastId, onEvent, signal) {
  const headers = { Accept: 'text/event-stream', Authorization: `Bearer ${session.token()}` };
  if (lastId) headers['Last-Event-ID'] = lastId;
  const response = await fetch(path, { headers, signal });
  if (!response.ok) throw new Error(`the stream answered ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return lastId;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = { id: null, type: 'message', data: null };
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue; // a heartbeat's comment
        const value = line.slice(colon + 1).replace(/^ /, '');
        const name = line.slice(0, colon);
        if (name === 'id') event.id = value;
        else if (name === 'event') event.type = value;
        else if (name === 'data') event.data = JSON.parse(value);
      }
      if (event.id) lastId = event.id;
      // A page left may still be reading what came before it was: it is not told.
      if (signal.aborted) return lastId;
      if (event.data !== null && event.type !== 'ready' && event.type !== 'cut') onEvent(event);
    }
  }
}
