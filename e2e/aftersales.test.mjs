// An after-sales return end to end in the browser: an agent opens a
// return from a ticket (the linked order's items, a reason, a photo) and
// approves it; the customer, signed in to the portal with the order
// number and their email, sees the case in plain words and adds a photo
// and the return's tracking number; the agent sees both, records the
// parcel's receipt, the inspection with a photo and the refund; the
// customer sees the refund. Then the after-sales report and its CSV.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startKefu, browser, signIn, shot, png } from './kefu.mjs';

let kefu, agent, customer, pa, pc;
let key;
const email = 'zhou.min@example.com';
const number = 'SO-E2E-RET-1';

before(async () => {
  kefu = await startKefu({ tickets: 5 });
  agent = await browser();
  customer = await browser();
  pa = await agent.page();
  pc = await customer.page();
  await signIn(pa, kefu, 'admin@demo.kefu.local');
  // The shop's order, delivered two days ago, and the customer's ticket
  // about it; working days count in the demo's first calendar.
  const api = (method, path, data) => pa.request.fetch(kefu.url + '/api/v1' + path, { method, data });
  const delivered = new Date(Date.now() - 2 * 24 * 3600 * 1000);
  let res = await api('POST', '/orders', { number, status: 'delivered', ordered_at: new Date(delivered - 3 * 24 * 3600 * 1000).toISOString(),
    delivered_at: delivered.toISOString(), payment_method: 'alipay', customer: { email, name: 'Zhou Min', language: 'en' },
    items: [{ sku: 'DRS-001-M-RED', name: 'Silk dress red M', quantity: 1, unit_price: '599' },
      { sku: 'TEE-100-M-WHT', name: 'Cotton tee white M', quantity: 2, unit_price: '99' }] });
  assert.equal(res.status(), 201, await res.text());
  res = await api('POST', '/tickets', { subject: 'The dress zip broke', channel: 'email', category: 'return_exchange', order_number: number,
    customer: { email }, message: { text: 'The zip of the dress broke on the first day. I want to return it.' } });
  assert.equal(res.status(), 201, await res.text());
  key = (await res.json()).key;
  const cals = await (await api('GET', '/calendars')).json();
  res = await api('GET', '/aftersales/settings');
  const settings = await res.json();
  settings.calendar_id = cals.calendars[0].id;
  settings.return_address = 'Tianhe after-sales, 100 Wensan Road, Hangzhou';
  res = await pa.request.put(kefu.url + '/api/v1/aftersales/settings', { data: settings, headers: { 'If-Match': res.headers()['etag'] } });
  assert.equal(res.status(), 200, await res.text());
});

after(async () => {
  await agent?.close();
  await customer?.close();
  await kefu?.stop();
  assert.deepEqual([...(agent?.errors ?? []), ...(customer?.errors ?? [])], [], 'no script errors in the pages');
});

// act opens an action of the case and submits it after fill.
async function act(label, fill) {
  const card = pa.locator('#ticket-cases details.case').first();
  const action = card.locator('details.case-action', { has: pa.getByText(label, { exact: true }) }).first();
  await action.locator('summary').click();
  if (fill) await fill(action);
  await action.getByRole('button', { name: label }).click();
}

async function step(text) {
  await pa.locator('#ticket-cases .case-step').filter({ hasText: text }).first().waitFor();
}

test('an agent opens a return from the ticket and approves it', async () => {
  await pa.goto(kefu.url + '/t/' + key);
  const panel = pa.locator('#ticket-cases');
  await panel.getByText('Open an after-sales case').click();
  await panel.getByLabel('Kind').selectOption('return');
  await panel.getByLabel('Reason').selectOption('quality_defect');
  await panel.getByRole('checkbox', { name: /DRS-001-M-RED/ }).check();
  await panel.getByLabel('The problem, in the customer\'s words').fill('Zip broke on the first day');
  await panel.locator('#case-photos').setInputFiles({ name: 'zip.png', mimeType: 'image/png', buffer: png });
  await panel.getByRole('button', { name: 'Open case' }).click();
  await step('Requested');
  const card = panel.locator('details.case').first();
  assert.match(await card.locator('.eligibility').first().textContent(), /Returns are open until/);
  assert.equal(await card.locator('.case-photos img').count(), 1, 'the evidence photo shows');
  await shot(pa, '60-case-opened');
  await act('Approve');
  await step('Approved');
  await act('Arrange the return', async (a) => { await a.getByLabel('The customer sends it').check(); });
  await step('Return arranged');
});

test('the customer sees the case in the portal and adds a photo and the tracking number', async () => {
  await pc.goto(kefu.url + '/portal/signin?lang=en');
  await pc.locator('#po-order').fill(number);
  await pc.locator('#po-email').fill(email);
  await pc.getByRole('button', { name: 'Open my request' }).click();
  await pc.waitForURL(/\/portal(\/t\/|$)/);
  await pc.goto(kefu.url + '/portal/t/' + key + '?lang=en');
  const panel = pc.locator('section.c-cases');
  await panel.locator('.c-stage').filter({ hasText: 'Waiting for your parcel' }).waitFor();
  assert.match(await panel.textContent(), /Tianhe after-sales, 100 Wensan Road/, 'the address to send it to');
  await panel.getByLabel('Add photos').setInputFiles({ name: 'box.png', mimeType: 'image/png', buffer: png });
  await panel.getByRole('button', { name: 'Upload photos' }).click();
  await pc.locator('.c-ok').filter({ hasText: 'Thank you' }).waitFor();
  await pc.locator('section.c-cases').getByLabel('Carrier').fill('SF Express');
  await pc.locator('section.c-cases').getByLabel('Tracking number').fill('SF1400000001');
  await pc.locator('section.c-cases').getByRole('button', { name: 'Send tracking number' }).click();
  await pc.locator('section.c-cases .c-stage').filter({ hasText: 'On its way back to us' }).waitFor();
  assert.match(await pc.locator('section.c-cases').textContent(), /SF1400000001/);
  await shot(pc, '61-portal-case');
});

test('the agent records receipt, inspection and the refund', async () => {
  await pa.reload();
  await step('On its way back');
  const card = pa.locator('#ticket-cases details.case').first();
  assert.match(await card.textContent(), /SF1400000001/, 'the customer\'s tracking number');
  assert.equal(await card.locator('.case-photos img').count(), 2, 'the customer\'s photo');
  await act('Record receipt');
  await step('Received');
  await act('Record inspection', async (a) => {
    await a.locator('input[type=file]').setInputFiles({ name: 'qc.png', mimeType: 'image/png', buffer: png });
  });
  await step('Refund due');
  assert.match(await card.textContent(), /599\.00/, 'the refund due is the dress');
  await act('Record refund', async (a) => { await a.getByLabel('Payment reference').fill('ALI-E2E-1'); });
  await step('Refunded');
  await shot(pa, '62-case-refunded');
  await pc.reload();
  await pc.locator('section.c-cases').getByText('599.00 refunded to your original payment method').waitFor();
});

test('the after-sales report shows the return and exports CSV', async () => {
  await pa.goto(kefu.url + '/reports/aftersales');
  await pa.getByRole('heading', { name: 'After-sales report' }).first().waitFor();
  assert.match(await pa.locator('table[data-chart="reason"]').textContent(), /Quality defect/);
  assert.match(await pa.locator('table[data-chart="sku"]').textContent(), /DRS-001-M-RED/);
  await shot(pa, '63-aftersales-report');
  const res = await pa.request.get(kefu.url + '/reports/aftersales.csv');
  assert.equal(res.status(), 200);
  assert.match(await res.text(), /DRS-001-M-RED/);
});
