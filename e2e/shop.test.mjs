// The order beside the conversation: the shop's store sends an order
// (through the API, as an integration would), a customer writes about it,
// and the agent sees the order in the ticket's side column: the items
// with their windows in words (a skincare item refusing a change of mind),
// the parcel's tracking history and the notices. Changing the ticket's
// order number changes the panel without reloading the page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startKefu, browser, signIn, shot } from './kefu.mjs';

let kefu, b, page, key;
const number = 'SO-E2E-ORD-1';

before(async () => {
  kefu = await startKefu({ tickets: 5 });
  b = await browser();
  page = await b.page();
  await signIn(page, kefu, 'admin@demo.kefu.local');
  const api = (method, path, data) => page.request.fetch(kefu.url + '/api/v1' + path, { method, data });
  const day = 24 * 3600 * 1000;
  const ordered = new Date(Date.now() - 3 * day), shipped = new Date(Date.now() - 2 * day), delivered = new Date(Date.now() - day);
  let res = await api('PUT', '/orders/' + number, {
    status: 'delivered', ordered_at: ordered.toISOString(), payment_method: 'alipay',
    customer: { email: 'he.lan@example.com', name: 'He Lan', language: 'en' },
    items: [{ sku: 'DRS-001-M-RED', name: 'Silk dress red M', quantity: 1, unit_price: '599' },
      { sku: 'MASK-01-5', name: 'Hydrating mask', quantity: 2, unit_price: '129' }],
    shipments: [{ carrier: 'SF Express', tracking_number: 'SFE2E0001', shipped_at: shipped.toISOString(), status: 'delivered',
      events: [{ at: shipped.toISOString(), status: 'picked_up', description: 'Picked up', location: 'Hangzhou' },
        { at: delivered.toISOString(), status: 'delivered', description: 'Signed for in person', location: 'Shanghai' }] }],
  });
  assert.equal(res.status(), 201, await res.text());
  res = await api('POST', '/tickets', { subject: 'Mask irritates my skin', channel: 'email', category: 'return_exchange',
    order_number: number.toLowerCase(), customer: { email: 'he.lan@example.com' },
    message: { text: 'I opened one mask and do not like it. Can I return the pack?' } });
  assert.equal(res.status(), 201, await res.text());
  key = (await res.json()).key;
});

after(async () => {
  await b?.close();
  await kefu?.stop();
  assert.deepEqual(b?.errors ?? [], [], 'no script errors in the page');
});

test('the agent sees the order, its windows and its tracking beside the conversation', async () => {
  await page.goto(kefu.url + '/t/' + key);
  const panel = page.locator('#order');
  await panel.waitFor();
  const text = await panel.innerText();
  for (const want of ['Order ' + number, 'Delivered', 'Silk dress red M', 'DRS-001-M-RED · M · 红 red · 100% 桑蚕丝 mulberry silk · 杭州丝绸厂',
    'Returns are open until', 'Hydrating mask',
    'cannot be returned or exchanged for a personal reason (拆封后的护肤品 opened skincare)',
    'Repairs under warranty are not offered for this item.', 'SF Express', 'SFE2E0001', 'Signed for in person · Shanghai',
    'paid 857.00 by alipay']) {
    assert.ok(text.includes(want), `the order panel lacks ${JSON.stringify(want)}:\n${text}`);
  }
  // Open windows are marked apart from closed ones.
  assert.ok(await panel.locator('li.window.open').count() >= 3);
  assert.ok(await panel.locator('li.window.closed').count() >= 1);
  await shot(page, 'order-panel');
});

test('changing the order number changes the panel in place', async () => {
  await page.locator('#p-order').fill('SO-NOT-SENT');
  await page.locator('#p-order').dispatchEvent('change');
  await page.locator('#order', { hasText: 'Order SO-NOT-SENT' }).waitFor();
  assert.ok((await page.locator('#order').innerText()).includes('No shop has sent this order to Kefu yet.'));
  await page.locator('#p-order').fill(number);
  await page.locator('#p-order').dispatchEvent('change');
  await page.locator('#order', { hasText: 'Silk dress red M' }).waitFor();
});
