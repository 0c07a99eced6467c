// Orders: the admin listing (admin/all) with every filter and sort it takes, paged; the
// filters live in the address (#/orders?status=…), so back and forward and links work.

import { api } from '/console/api.js';
import { refresh } from '/console/app.js';
import { follow } from '/console/live.js';
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

/// The service has no text search: a search looks through this many of the newest orders
/// that match the filters, 100 a call.
const SEARCHED = 500;

/// What a search looks at in an order: any part of it, in any case.
const searchable = (o) => [o.order_number, o.user_id, o.customer.full_name, o.customer.email, o.shipping.address.full_name]
  .filter(Boolean).join('\n').toLowerCase();

export async function render(page, query) {
  // The default workflow's states, offered in the filters (other workflows' can be typed).
  const states = await api('/api/v1/orders/status/options');
  const suggested = { status: states.statuses, payment_status: states.payment_statuses };
  const search = (query.get('q') || '').trim();
  const set = FILTERS.filter(([name]) => query.get(name)).length;
  const toggle = h('button', { type: 'button', class: 'filters-toggle', 'aria-expanded': 'false', 'aria-controls': 'order-filters' },
    set ? `Filters (${set} set)` : 'Filters');
  const fields = h('div', { class: 'filter-fields', id: 'order-filters' },
    FILTERS.map(([name, label, attrs]) => field(name, label, { suggestions: suggested[name], ...attrs })),
    field('sort', 'Sort', { options: SORTS }),
    field('page_size', 'Page size', { options: SIZES }),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Filter'),
      h('a', { href: '#/orders', class: 'button' }, 'Clear')));
  const form = h('form', { class: 'filters', 'aria-label': 'Search and filters' },
    h('div', { class: 'search' },
      field('q', 'Search: order number, customer, name or email', { type: 'search', 'aria-describedby': 'search-hint' }),
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Search'))),
    h('p', { class: 'hint', id: 'search-hint' },
      `Any part, in any case. The service has no text search: this looks through the newest ${SEARCHED} orders that match the filters.`),
    toggle,
    fields,
    generalProblem());
  // On a phone the filters wait behind their button, so that the orders are on the first
  // screen; on a wider one they are always shown (the button is not).
  const open = (yes) => {
    toggle.setAttribute('aria-expanded', String(yes));
    fields.classList.toggle('open', yes);
  };
  toggle.addEventListener('click', () => open(toggle.getAttribute('aria-expanded') !== 'true'));
  for (const [name, value] of query) if (form.elements[name]) form.elements[name].value = value;
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const wanted = new URLSearchParams();
    for (const el of form.elements) if (el.name && el.value.trim()) wanted.set(el.name, el.value.trim());
    window.location.hash = `#/orders?${wanted}`;
  });
  page.append(h('h1', {}, 'Orders'), form);
  // The API's own filters: everything in the address but the search.
  const filters = new URLSearchParams(query);
  filters.delete('q');
  let listing;
  let items;
  try {
    if (search) {
      [listing, items] = await newest(filters);
    } else {
      listing = await api(`/api/v1/orders/admin/all?${filters}`);
      items = listing.items;
    }
  } catch (e) {
    if (e.status !== 400) throw e;
    open(true);
    showProblems(form, e);
    return;
  }
  const needle = search.toLowerCase();
  const shown = search ? items.filter((o) => searchable(o).includes(needle)) : items;
  const rows = shown.map((o) =>
    h('tr', { 'data-order': o.id },
      h('th', { scope: 'row' }, h('a', { href: `#/orders/${o.id}` }, o.order_number)),
      h('td', { 'data-label': 'created' }, when(o.created_at)),
      h('td', { 'data-label': 'customer' }, o.user_id,
        o.customer.full_name || o.customer.email ? h('div', { class: 'hint' }, [o.customer.full_name, o.customer.email].filter(Boolean).join(', ')) : null),
      h('td', { 'data-label': 'status' }, h('span', { class: `badge ${o.status}` }, o.status)),
      h('td', { 'data-label': 'payment' }, o.payment_status),
      h('td', { class: 'number', 'data-label': 'total', 'data-total': String(o.pricing.total.minor) }, money(o.pricing.total)),
      h('td', { 'data-label': 'workflow' }, o.provenance.workflow)));
  const list = rows.length ? table(['order', 'created', 'customer', 'status', 'payment', 'total', 'workflow'], rows, { class: 'orders cards' }) : null;
  if (search) {
    const more = listing.total > items.length ? ` (the newest ${items.length} of the ${listing.total} that match the filters: narrow them to search older ones)` : '';
    page.append(
      h('p', { class: 'hint', role: 'status', 'data-matches': String(shown.length), 'data-searched': String(items.length) },
        `${shown.length} of the ${items.length} orders looked through match “${search}”${more}.`),
      list || h('p', { class: 'empty', 'data-no-match': '' },
        `No order matches “${search}”: check its spelling, search a shorter part of it, or clear the filters.`));
    return;
  }
  live(page, list);
  const pages = Math.max(1, Math.ceil(listing.total / listing.page_size));
  const at = (n) => {
    const q = new URLSearchParams(query);
    q.set('page', n);
    return `#/orders?${q}`;
  };
  page.append(
    h('p', { class: 'hint', 'data-total-orders': String(listing.total) }, `${listing.total} orders; page ${listing.page} of ${pages}.`),
    list || h('p', { class: 'empty' }, 'No order matches these filters.'),
    h('nav', { class: 'pager', 'aria-label': 'Pages of orders' },
      listing.page > 1 ? h('a', { href: at(listing.page - 1), rel: 'prev' }, '← Previous') : null,
      listing.page < pages ? h('a', { href: at(listing.page + 1), rel: 'next' }, 'Next →') : null));
}

/// Follows every order's events while the list is shown: a listed order's row takes its
/// new status and payment at once; orders placed meanwhile are counted in a notice that
/// shows them (the page's filters and sort decide where they belong).
function live(page, list) {
  let placed = 0;
  const notice = h('p', { class: 'live-notice', role: 'status', 'data-live': '' });
  page.querySelector('h1').after(notice);
  follow('/api/v1/orders/stream', ({ type, data }) => {
    const row = list?.querySelector(`tr[data-order="${data.order_id}"]`);
    if (row) {
      const badge = row.querySelector('[data-label="status"] .badge');
      badge.className = `badge ${data.order.status}`;
      badge.textContent = data.order.status;
      row.querySelector('[data-label="payment"]').textContent = data.order.payment_status;
    } else if (type === 'order.created') {
      placed += 1;
      notice.replaceChildren(`${placed} new ${placed === 1 ? 'order' : 'orders'} since this list was shown. `,
        h('button', { type: 'button', onclick: () => refresh({ quietly: true }) }, 'Show them'));
    }
  });
}

/// The newest orders (or first by the chosen sort) that match `filters`, up to
/// [`SEARCHED`]: the last page's listing (for its total) and the orders.
async function newest(filters) {
  const items = [];
  let listing;
  for (let n = 1; items.length < SEARCHED; n++) {
    const q = new URLSearchParams(filters);
    q.set('page', n);
    q.set('page_size', 100);
    listing = await api(`/api/v1/orders/admin/all?${q}`);
    items.push(...listing.items);
    if (!listing.items.length || items.length >= listing.total) break;
  }
  return [listing, items];
}
