// One order: the moves its lifecycle plugin allows from where it is (as buttons, each
// asking for what that kind of change carries), its changes (changes.js), its timeline,
// events, price and provenance.

import { api } from '/console/api.js';
import { refresh } from '/console/app.js';
import { changesSection } from '/console/changes.js';
import { follow } from '/console/live.js';
import { addressLines, clearProblems, field, generalProblem, h, money, notify, short, showProblems, table, when } from '/console/ui.js';

/// The two kinds of change, by the PATCH of the API that makes them.
const CHANGES = {
  status: { path: 'status', target: 'status' },
  payment: { path: 'payment', target: 'payment_status' },
};

const NOTE = ['notes', 'Note (optional, kept in the timeline)', { maxlength: 1000 }];
const REASON = ['notes', 'Reason (kept in the timeline)', { maxlength: 1000 }];

/// What a move asks for, and a line saying why: `{fields: [[name, label, attributes]],
/// about}`. The workflow's description (status/options) says which moves there are, not
/// what each carries; these are the shipped lifecycle rules' (the plugin SDK's
/// machine.rs, which standard-lifecycle and b2b-lifecycle follow): shipping needs a
/// tracking number, with its carrier; a payment marked paid takes its transaction id; a
/// cancellation, a refund or a failed payment its reason; any other move a note. The
/// plugin still decides: what it refuses is shown beside the field it names.
function asks(change, to) {
  if (change === CHANGES.status && to === 'shipped') {
    return {
      about: 'Shipping needs the parcel’s tracking number; name its carrier too.',
      fields: [['tracking_number', 'Tracking number', { maxlength: 200, autocomplete: 'off' }], ['carrier', 'Carrier', { maxlength: 200, suggestions: ['UPS', 'FedEx', 'USPS', 'DHL'] }], NOTE],
    };
  }
  if (change === CHANGES.payment && to === 'paid') {
    return { about: 'The payment provider’s id for the payment, if there is one.', fields: [['transaction_id', 'Transaction id', { maxlength: 200, autocomplete: 'off' }], NOTE] };
  }
  if (to === 'refunded') return { about: 'A refund moves the order and its payment to refunded; only a paid order can be refunded.', fields: [REASON] };
  if (to === 'cancelled') return { about: 'The order is cancelled for good, except for a refund.', fields: [REASON] };
  if (to === 'failed') return { about: 'The payment is marked failed; it can still be paid later.', fields: [REASON] };
  return { about: 'Nothing else is needed.', fields: [NOTE] };
}

export async function render(page, _query, id) {
  const [order, changes, events, workflows, health] = await Promise.all([
    api(`/api/v1/orders/${id}`),
    api(`/api/v1/orders/${id}/changes`),
    api(`/api/v1/orders/${id}/events`),
    api('/api/v1/workflows'),
    api('/health').catch(() => null),
  ]);
  // Without Kafka (KAFKA_ENABLED unset) nothing publishes the events: say so rather than
  // "not yet", which would never change.
  const relayOff = health?.events?.relay?.state === 'disabled';
  const machine = await machineOf(order.provenance.workflow, workflows);
  page.append(
    h('h1', {}, `Order ${order.order_number}`),
    h('dl', { class: 'facts' },
      fact('Status', h('span', { class: `badge ${order.status}`, 'data-status': order.status }, order.status)),
      fact('Payment', h('span', { 'data-payment': order.payment_status }, order.payment_status)),
      fact('Total', money(order.pricing.total), 'total'),
      fact('Created', when(order.created_at), 'created')),
    customer(order),
    moves(order, machine),
    changesSection(order, changes),
    h('div', { class: 'columns' },
      h('section', { 'aria-labelledby': 'timeline' }, h('h2', { id: 'timeline' }, 'Timeline'), timeline(order)),
      h('section', { 'aria-labelledby': 'events' }, h('h2', { id: 'events' }, 'Events'), eventList(events, relayOff))),
    h('section', { 'aria-labelledby': 'price' }, h('h2', { id: 'price' }, 'Price'), price(order)),
    h('section', { 'aria-labelledby': 'provenance' }, h('h2', { id: 'provenance' }, 'Provenance'), provenance(order)));
  live(page, order, events);
}

/// What the page's forms hold: compared with what they held when drawn, it tells whether
/// the person has started filling one in.
const entered = (page) => JSON.stringify([...page.querySelectorAll('form')].map((form) =>
  [...form.elements].map((el) => el.value)));

/// Follows the order's stream from its last event shown: a change made anywhere (another
/// person, a rule, the expiry) shows at once. The page is drawn again unless the person is
/// filling in a move or a change, who is told instead and redraws it when ready.
function live(page, order, events) {
  const notice = h('p', { class: 'live-notice', role: 'status', 'data-live': '' });
  page.prepend(notice);
  const last = events.length ? events[events.length - 1].event.event_id : null;
  const drawn = entered(page);
  const filling = () => page.querySelector('form.move, form:focus-within') || entered(page) !== drawn;
  follow(`/api/v1/orders/${order.id}/stream`, (event) => {
    // What the page shows already (a move made here draws the page again itself).
    if (event.data.order.version <= order.version) return;
    if (!filling()) {
      refresh({ quietly: true });
      return;
    }
    notice.replaceChildren(`This order changed meanwhile (${event.type}, now ${event.data.order.status}). `,
      h('button', { type: 'button', onclick: () => refresh() }, 'Show it'));
  }, last);
}

function fact(term, value, name, wide = false) {
  return h('div', { class: wide ? 'wide' : null }, h('dt', {}, term), h('dd', { 'data-fact': name }, value));
}

/// Who ordered and where it goes: what support is asked about first.
function customer(order) {
  const { address } = order.shipping;
  const { full_name: name, email } = order.customer;
  const tracking = order.shipping.tracking_number;
  return h('section', { 'aria-labelledby': 'customer' }, h('h2', { id: 'customer' }, 'Customer and delivery'),
    h('dl', { class: 'facts' },
      fact('Customer (user id)', order.user_id, 'user'),
      fact('Name', name || '—', 'name'),
      fact('Email', email ? h('a', { href: `mailto:${email}` }, email) : '—', 'email'),
      fact('Ship to', addressLines(address).map((line) => h('div', {}, line)), 'address', true),
      fact('Phone', address.phone || '—', 'phone'),
      fact('Shipping method', order.shipping.method, 'shipping-method'),
      fact('Payment method', order.payment.method, 'payment-method'),
      fact('Transaction id', order.payment.transaction_id || '—', 'transaction'),
      fact('Discount code', order.discount_code || 'none', 'discount-code'),
      fact('Tracking', tracking ? `${tracking}${order.shipping.carrier ? ` (${order.shipping.carrier})` : ''}` : 'not shipped', 'tracking')));
}

/// The state machine of the order's workflow, as its lifecycle plugin describes it: asked
/// by one of the workflow's sales channels, or with none for the default workflow.
async function machineOf(workflow, workflows) {
  const channel = (workflows.find((w) => w.name === workflow) || { channels: [] }).channels[0];
  const options = await api(`/api/v1/orders/status/options${channel ? `?sales_channel=${encodeURIComponent(channel)}` : ''}`);
  return options.workflow === workflow ? options : null;
}

function moves(order, machine) {
  const section = h('section', { 'aria-labelledby': 'moves', class: 'moves' }, h('h2', { id: 'moves' }, 'Next moves'));
  if (!machine) {
    section.append(h('p', { class: 'failure' }, `The moves of workflow ${order.provenance.workflow} cannot be looked up: it has no sales channel and is not the default.`));
    return section;
  }
  const allowed = (edges, from) => edges.filter((e) => e.from === from && e.roles.includes('admin')).map((e) => e.to);
  const buttons = [
    ...allowed(machine.status_edges, order.status).map((to) => [CHANGES.status, to, `Move to ${to}`]),
    ...allowed(machine.payment_edges, order.payment_status).map((to) => [CHANGES.payment, to, `Payment: ${to}`]),
  ];
  if (!buttons.length) {
    section.append(h('p', { class: 'empty' }, `None: ${order.status} is final for an admin in workflow ${machine.workflow}.`));
    return section;
  }
  const panel = h('div', { class: 'move-panel' });
  section.append(
    h('div', { class: 'actions wrap' }, buttons.map(([change, to, label]) =>
      h('button', { type: 'button', 'data-move': `${change.target}:${to}`, onclick: () => openMove(panel, order, change, to, label) }, label))),
    panel);
  return section;
}

function openMove(panel, order, change, to, label) {
  const { about, fields } = asks(change, to);
  const submit = h('button', { type: 'submit', class: 'primary' }, label);
  // A refusal is said here, where the focus goes, and announced.
  const refusal = h('p', { class: 'refusal', role: 'alert', tabindex: '-1' });
  const form = h('form', { class: 'move', 'data-move-form': `${change.target}:${to}`, 'aria-label': label },
    h('h3', {}, label),
    refusal,
    h('p', { class: 'hint' }, `${about} The workflow’s lifecycle plugin decides.`),
    h('span', { class: 'problem', 'data-for': change.target }),
    fields.map(([name, text, attrs]) => field(name, text, attrs)),
    generalProblem(),
    h('div', { class: 'actions' },
      h('button', { type: 'button', onclick: () => panel.replaceChildren() }, 'Cancel'),
      submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblems(form);
    refusal.textContent = '';
    const body = { [change.target]: to };
    for (const [name] of fields) {
      const value = form.elements[name].value.trim();
      if (value) body[name] = value;
    }
    submit.disabled = true;
    try {
      await api(`/api/v1/orders/${order.id}/${change.path}`, { method: 'PATCH', json: body });
    } catch (failure) {
      submit.disabled = false;
      if (failure.status === 409) {
        notify('Someone changed this order meanwhile: it is shown as it is now; try the move again.');
        return refresh();
      }
      showProblems(form, failure);
      const problems = failure.problems.length ? failure.problems.map((p) => p.message).join('; ') : failure.message;
      refusal.textContent = `Refused: ${problems}.`;
      refusal.focus();
      return;
    }
    notify(`${order.order_number}: ${label.toLowerCase()} done.`, 'ok');
    refresh();
  });
  panel.replaceChildren(form);
  form.querySelector('input').focus();
}

function timeline(order) {
  return h('ol', { class: 'timeline', 'data-entries': String(order.status_history.length) },
    order.status_history.map((entry, i) => {
      const before = order.status_history[i - 1];
      // One change may move both (a refund, say), or neither (a note).
      const changes = before ? [
        before.status !== entry.status ? `status ${before.status} → ${entry.status}` : null,
        before.payment_status !== entry.payment_status ? `payment ${before.payment_status} → ${entry.payment_status}` : null,
      ].filter(Boolean) : [];
      const what = !before ? `placed: ${entry.status}, payment ${entry.payment_status}` : changes.join(', ') || 'noted';
      return h('li', { 'data-status': entry.status, 'data-payment': entry.payment_status },
        h('strong', {}, what),
        h('div', { class: 'hint' }, `${when(entry.at)} by ${entry.by} (${entry.role})`),
        entry.note ? h('div', {}, `“${entry.note}”`) : null,
        entry.events.length ? h('div', { class: 'hint' }, `events: ${entry.events.join(', ')}`) : null);
    }));
}

function eventList(events, relayOff) {
  const unpublished = relayOff ? 'relay off' : 'not yet';
  return h('div', {},
    table(['event', 'occurred', 'published'], events.map(({ event, published_at }) =>
      h('tr', { 'data-event': event.event_type },
        h('th', { scope: 'row' }, event.event_type),
        h('td', {}, when(event.occurred_at)),
        h('td', { 'data-published': String(Boolean(published_at)) }, published_at ? when(published_at) : unpublished)))),
    relayOff ? h('p', { class: 'hint', 'data-relay-off': '' }, 'This service relays no events (Kafka is off: KAFKA_ENABLED is not set); they wait in its outbox.') : null);
}

function price(order) {
  const p = order.pricing;
  return h('div', { class: 'columns' },
    table(['item', 'unit price', 'quantity', 'line total'], order.items.map((i) =>
      h('tr', {}, h('th', { scope: 'row' }, `${i.name} (${i.sku}) `, order.reservation ? h('a', { href: `#/stock/${encodeURIComponent(i.product_id)}`, 'data-stock-link': i.product_id }, 'stock') : null), h('td', { class: 'number' }, money(i.unit_price)),
        h('td', { class: 'number' }, String(i.quantity)), h('td', { class: 'number' }, money(i.line_total))))),
    h('div', {},
      h('dl', { class: 'facts price' },
        ['subtotal', 'discount', 'tax', 'shipping', 'total'].map((k) => fact(k, h('span', { 'data-amount': k, 'data-minor': String(p[k].minor) }, money(p[k]))))),
      h('h3', {}, 'Rules applied'),
      h('ul', { class: 'rules' }, p.applied.map((r) => h('li', {}, h('code', {}, r.rule), ` ${r.description}: ${money(r.amount)}`)))));
}

function provenance(order) {
  const p = order.provenance;
  return h('div', {},
    h('p', {}, 'Workflow ', h('a', { href: '#/workflows' }, p.workflow), ' at ', short(p.workflow_digest)),
    table(['decision', 'plugin', 'version', 'at'], p.decisions.map((d) =>
      h('tr', {}, h('th', { scope: 'row' }, d.call), h('td', {}, h('a', { href: `#/plugins/${d.plugin}` }, d.plugin)), h('td', {}, short(d.digest)), h('td', {}, when(d.at))))));
}
