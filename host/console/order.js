// One order: the moves its lifecycle plugin allows from where it is (as buttons, each
// asking for what that kind of change carries), its timeline, events, price and provenance.

import { api } from '/console/api.js';
import { refresh } from '/console/app.js';
import { clearProblems, field, generalProblem, h, money, notify, short, showProblems, table, when } from '/console/ui.js';

/// What each kind of change sends besides its target (the PATCH bodies of the API).
const CHANGES = {
  status: { path: 'status', target: 'status', fields: [['tracking_number', 'Tracking number'], ['carrier', 'Carrier'], ['notes', 'Note']] },
  payment: { path: 'payment', target: 'payment_status', fields: [['transaction_id', 'Transaction id'], ['notes', 'Note']] },
};

export async function render(page, _query, id) {
  const [order, events, workflows] = await Promise.all([
    api(`/api/v1/orders/${id}`),
    api(`/api/v1/orders/${id}/events`),
    api('/api/v1/workflows'),
  ]);
  const machine = await machineOf(order.provenance.workflow, workflows);
  page.append(
    h('h1', {}, `Order ${order.order_number}`),
    h('dl', { class: 'facts' },
      fact('Status', h('span', { class: `badge ${order.status}`, 'data-status': order.status }, order.status)),
      fact('Payment', h('span', { 'data-payment': order.payment_status }, order.payment_status)),
      fact('Total', money(order.pricing.total)),
      fact('Customer', `${order.user_id}${order.customer.email ? ` <${order.customer.email}>` : ''}`),
      fact('Created', when(order.created_at)),
      order.shipping.tracking_number ? fact('Tracking', `${order.shipping.tracking_number}${order.shipping.carrier ? ` (${order.shipping.carrier})` : ''}`) : null),
    moves(order, machine),
    h('div', { class: 'columns' },
      h('section', { 'aria-labelledby': 'timeline' }, h('h2', { id: 'timeline' }, 'Timeline'), timeline(order)),
      h('section', { 'aria-labelledby': 'events' }, h('h2', { id: 'events' }, 'Events'), eventList(events))),
    h('section', { 'aria-labelledby': 'price' }, h('h2', { id: 'price' }, 'Price'), price(order)),
    h('section', { 'aria-labelledby': 'provenance' }, h('h2', { id: 'provenance' }, 'Provenance'), provenance(order)));
}

function fact(term, value) {
  return h('div', {}, h('dt', {}, term), h('dd', {}, value));
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
  const submit = h('button', { type: 'submit', class: 'primary' }, label);
  const form = h('form', { class: 'move', 'data-move-form': `${change.target}:${to}`, 'aria-label': label },
    h('h3', {}, label),
    h('p', { class: 'hint' }, 'Fill in what this move needs; the workflow’s lifecycle plugin says if something is missing.'),
    h('span', { class: 'problem', 'data-for': change.target }),
    change.fields.map(([name, text]) => field(name, text, name === 'notes' ? { maxlength: 1000 } : { maxlength: 200 })),
    generalProblem(),
    h('div', { class: 'actions' },
      h('button', { type: 'button', onclick: () => panel.replaceChildren() }, 'Cancel'),
      submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblems(form);
    const body = { [change.target]: to };
    for (const [name] of change.fields) {
      const value = form.elements[name].value.trim();
      if (value) body[name] = value;
    }
    submit.disabled = true;
    try {
      await api(`/api/v1/orders/${order.id}/${change.path}`, { method: 'PATCH', json: body });
    } catch (failure) {
      submit.disabled = false;
      if (failure.status !== 409) return showProblems(form, failure);
      notify('Someone changed this order meanwhile: it is shown as it is now; try the move again.');
      return refresh();
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

function eventList(events) {
  return table(['event', 'occurred', 'published'], events.map(({ event, published_at }) =>
    h('tr', { 'data-event': event.event_type },
      h('th', { scope: 'row' }, event.event_type),
      h('td', {}, when(event.occurred_at)),
      h('td', { 'data-published': String(Boolean(published_at)) }, published_at ? when(published_at) : 'not yet'))));
}

function price(order) {
  const p = order.pricing;
  return h('div', { class: 'columns' },
    table(['item', 'unit price', 'quantity', 'line total'], order.items.map((i) =>
      h('tr', {}, h('th', { scope: 'row' }, `${i.name} (${i.sku})`), h('td', { class: 'number' }, money(i.unit_price)),
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
