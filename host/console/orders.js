// Orders: the admin listing (admin/all) with every filter and sort it takes, paged; the
// filters live in the address (#/orders?status=…), so back and forward and links work.

import { api } from '/console/api.js';
import { field, generalProblem, h, money, showProblems, table, when } from '/console/ui.js';

const FILTERS = [
  ['status', 'Status'],
  ['payment_status', 'Payment status'],
  ['user_id', 'Customer (user id)'],
  ['order_number', 'Order number'],
  ['from', 'Created from', { type: 'date' }],
  ['to', 'Created to', { type: 'date' }],
  ['min_total', 'Total at least (minor units)', { type: 'number', step: '1' }],
  ['max_total', 'Total at most (minor units)', { type: 'number', step: '1' }],
];
const SORTS = [['newest', 'Newest first'], ['oldest', 'Oldest first'], ['total_desc', 'Highest total'], ['total_asc', 'Lowest total']];
const SIZES = [['20', '20 a page'], ['50', '50 a page'], ['100', '100 a page']];

export async function render(page, query) {
  // The default workflow's states, offered in the filters (other workflows' can be typed).
  const states = await api('/api/v1/orders/status/options');
  const suggested = { status: states.statuses, payment_status: states.payment_statuses };
  const form = h('form', { class: 'filters', 'aria-label': 'Filters' },
    FILTERS.map(([name, label, attrs]) => field(name, label, { suggestions: suggested[name], ...attrs })),
    field('sort', 'Sort', { options: SORTS }),
    field('page_size', 'Page size', { options: SIZES }),
    generalProblem(),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Filter'),
      h('a', { href: '#/orders', class: 'button' }, 'Clear')));
  for (const [name, value] of query) if (form.elements[name]) form.elements[name].value = value;
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const wanted = new URLSearchParams();
    for (const el of form.elements) if (el.name && el.value) wanted.set(el.name, el.value.trim());
    window.location.hash = `#/orders?${wanted}`;
  });
  page.append(h('h1', {}, 'Orders'), form);
  let listing;
  try {
    listing = await api(`/api/v1/orders/admin/all?${query}`);
  } catch (e) {
    if (e.status !== 400) throw e;
    showProblems(form, e);
    return;
  }
  const rows = listing.items.map((o) =>
    h('tr', { 'data-order': o.id },
      h('th', { scope: 'row' }, h('a', { href: `#/orders/${o.id}` }, o.order_number)),
      h('td', { 'data-label': 'created' }, when(o.created_at)),
      h('td', { 'data-label': 'customer' }, o.user_id),
      h('td', { 'data-label': 'status' }, h('span', { class: `badge ${o.status}` }, o.status)),
      h('td', { 'data-label': 'payment' }, o.payment_status),
      h('td', { class: 'number', 'data-label': 'total', 'data-total': String(o.pricing.total.minor) }, money(o.pricing.total)),
      h('td', { 'data-label': 'workflow' }, o.provenance.workflow)));
  const pages = Math.max(1, Math.ceil(listing.total / listing.page_size));
  const at = (n) => {
    const q = new URLSearchParams(query);
    q.set('page', n);
    return `#/orders?${q}`;
  };
  page.append(
    h('p', { class: 'hint', 'data-total-orders': String(listing.total) }, `${listing.total} orders; page ${listing.page} of ${pages}.`),
    rows.length ? table(['order', 'created', 'customer', 'status', 'payment', 'total', 'workflow'], rows, { class: 'orders' }) : h('p', { class: 'empty' }, 'No order matches.'),
    h('nav', { class: 'pager', 'aria-label': 'Pages of orders' },
      listing.page > 1 ? h('a', { href: at(listing.page - 1), rel: 'prev' }, '← Previous') : null,
      listing.page < pages ? h('a', { href: at(listing.page + 1), rel: 'next' }, 'Next →') : null));
}
