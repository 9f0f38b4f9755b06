// The customer's side end to end: a shop's page (on another site) with the
// embedded contact form, a photo, the ticket an agent sees, the
// acknowledgement mail; then the portal: sign-in by a one-time code read
// from the mail Kefu really sent (to a loopback SMTP server), the promise,
// a reply with a photo that the agent sees, the agent's answer, sign-out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { startKefu, browser, signIn, shot, png } from './kefu.mjs';
import { smtpSink } from './smtp.mjs';

let kefu, smtp, shop, agent, customer, pa, pc;
let key;
const email = 'lin.xiao@example.com';

before(async () => {
  kefu = await startKefu({ tickets: 5 });
  smtp = await smtpSink();
  // The shop's own site, on another host name: the form in it is cross-site.
  shop = http.createServer((req, res) => {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(`<!doctype html><html lang="en"><head><title>Shop</title></head><body>
      <h1>Sunny Shop — help</h1>
      <div data-kefu-contact data-order="SO-E2E-1" data-title="Contact Sunny Shop"></div>
      <script src="${kefu.url}/contact/embed.js" async></script></body></html>`);
  });
  shop.listen(0, '127.0.0.1');
  await once(shop, 'listening');
  agent = await browser();
  customer = await browser();
  pa = await agent.page();
  pc = await customer.page();
  await signIn(pa, kefu, 'admin@demo.kefu.local');
  // The shop's mailbox sends through the loopback server, with an
  // acknowledgement template.
  const res = await pa.request.post(kefu.url + '/api/v1/mailboxes', { data: {
    address: 'service@sunny.example', display_name: 'Sunny Shop', is_default: true, enabled: true,
    imap: {}, smtp: { host: '127.0.0.1', port: smtp.port, security: 'none' }, signature: '',
    ack_en: 'Dear {{name}}, we received your request {{key}}.', ack_zh: '{{name}} 您好，我们已收到您的请求 {{key}}。',
  } });
  assert.equal(res.status(), 201, await res.text());
});

after(async () => {
  await agent?.close();
  await customer?.close();
  await kefu?.stop();
  smtp?.close();
  shop?.close();
  assert.deepEqual([...(agent?.errors ?? []), ...(customer?.errors ?? [])], [], 'no script errors in the pages');
});

test('the contact form embedded in a shop page opens a ticket with a photo', async () => {
  const shopURL = `http://localhost:${shop.address().port}/`;
  await pc.goto(shopURL);
  const frame = pc.frameLocator('iframe[title="Contact Sunny Shop"]');
  await frame.getByRole('heading', { name: 'Contact us' }).waitFor();
  assert.equal(await frame.getByLabel('Order number').inputValue(), 'SO-E2E-1', 'the page prefilled the order');
  // Nothing but the name: every other problem is shown under its field.
  await frame.getByLabel('Your name').fill('Lin Xiao');
  await frame.getByRole('button', { name: 'Send' }).click();
  await frame.locator('#cf-description-error').filter({ hasText: 'Tell us what happened' }).waitFor();
  assert.match(await frame.locator('#cf-email-error').textContent(), /email address or a phone number/);
  assert.equal(await frame.getByLabel('Your name').inputValue(), 'Lin Xiao', 'what was typed is kept');

  await frame.getByLabel('Email address').fill(email);
  await frame.getByLabel('What is it about?').selectOption('return_exchange');
  await frame.getByLabel('Tell us what happened').fill('The zip of the jacket broke on the first day.\nPhoto attached.');
  await frame.getByLabel('Photos').setInputFiles({ name: 'zip.png', mimeType: 'image/png', buffer: png });
  await frame.getByRole('button', { name: 'Send' }).click();
  await frame.getByRole('heading', { name: 'Thank you' }).waitFor();
  key = (await frame.locator('.c-key').textContent()).trim();
  assert.match(key, /^KF-\d+$/);
  const height = await pc.locator('iframe[title="Contact Sunny Shop"]').evaluate((f) => f.getBoundingClientRect().height);
  assert.ok(height > 100, 'the frame follows the form\'s height');
  await shot(pc, '40-contact-embedded');

  const ack = await smtp.waitFor((m) => m.to.includes(email) && m.text.includes(key));
  assert.match(ack.text, /Dear Lin Xiao, we received your request KF-\d+/);
});

test('the agent sees the request with its photo', async () => {
  await pa.goto(kefu.url + '/t/' + key);
  await pa.locator('.ticket-head h1').filter({ hasText: 'The zip of the jacket broke' }).waitFor();
  const msg = pa.locator('#thread .msg').filter({ hasText: 'Photo attached.' });
  await msg.locator('img[alt="zip.png"]').waitFor();
  assert.ok(await msg.locator('img[alt="zip.png"]').evaluate((img) => img.complete && img.naturalWidth === 2), 'the photo shows');
  assert.equal(await pa.getByRole('region', { name: 'Properties' }).getByLabel('Order number').inputValue(), 'SO-E2E-1');
});

let code;

test('the customer signs in to the portal with a code from the mail', async () => {
  await pc.goto(kefu.url + '/portal');
  await pc.waitForURL(/\/portal\/signin/);
  await pc.getByLabel('Email address or phone number').fill(email);
  await pc.getByRole('button', { name: 'Send me a code' }).click();
  await pc.getByRole('heading', { name: 'Enter your code' }).waitFor();
  assert.match(await pc.locator('main').textContent(), /l•••@example\.com/);
  const mail = await smtp.waitFor((m) => m.to.includes(email) && m.subject === 'Your sign-in code');
  code = /\b(\d{6})\b/.exec(mail.text)[1];
  assert.match(mail.text, new RegExp(kefu.url.replace(/[.]/g, '\\.') + '/portal/link\\?t='), 'the mail carries a sign-in link too');

  // A wrong code first: told how many tries are left.
  await pc.getByLabel('6-digit code').fill(code === '000000' ? '111111' : '000000');
  await pc.getByRole('button', { name: 'Sign in' }).click();
  await pc.locator('#pv-code-error').filter({ hasText: '4 more tries' }).waitFor();
  await pc.getByLabel('6-digit code').fill(code);
  await pc.getByRole('button', { name: 'Sign in' }).click();
  await pc.waitForURL(/\/portal$/);
  await pc.getByRole('heading', { name: 'My requests' }).waitFor();
  await pc.getByRole('link', { name: new RegExp(key) }).click();
  await pc.waitForURL(new RegExp('/portal/t/' + key));
  const status = pc.getByRole('region', { name: 'Status' });
  assert.match(await status.textContent(), /Received/);
  assert.match(await status.textContent(), /We will reply by|We are late with our answer/, 'the next promised contact is stated');
  await shot(pc, '41-portal-ticket');
});

test('a portal reply with a photo reaches the agent, and the answer reaches the customer', async () => {
  await pc.getByLabel('Your message').fill('Here is another photo of the zip.');
  await pc.getByLabel('Photos').setInputFiles({ name: 'zip-2.png', mimeType: 'image/png', buffer: png });
  await pc.getByRole('button', { name: 'Send' }).click();
  await pc.getByRole('status').filter({ hasText: 'Your message was sent.' }).waitFor();
  await pc.locator('.c-msg.you').filter({ hasText: 'another photo' }).locator('img[alt="zip-2.png"]').waitFor();

  await pa.reload();
  const msg = pa.locator('#thread .msg').filter({ hasText: 'Here is another photo of the zip.' });
  await msg.waitFor();
  await msg.locator('img[alt="zip-2.png"]').waitFor();

  await pa.keyboard.press('r');
  await pa.getByRole('textbox', { name: 'Message' }).fill('Sorry about that! A new jacket is on its way.');
  await pa.getByRole('button', { name: 'Send reply' }).click();
  await pa.locator('#thread .msg.reply').filter({ hasText: 'A new jacket is on its way' }).waitFor();

  await pc.reload();
  await pc.locator('.c-msg.shop').filter({ hasText: 'A new jacket is on its way' }).waitFor();
  assert.equal(await pc.locator('.c-msg').filter({ hasText: /^status:/ }).count(), 0, 'no events in the customer\'s thread');
  // The reply went out by mail as well: the form's customer left an address.
  await smtp.waitFor((m) => m.to.includes(email) && m.text.includes('A new jacket is on its way'));
});

test('an internal note never shows in the portal', async () => {
  await pa.locator('body').press('n');
  await pa.getByRole('textbox', { name: 'Message' }).fill('Internal: check the supplier batch.');
  await pa.getByRole('button', { name: 'Add note' }).click();
  await pa.locator('#thread .msg.note').filter({ hasText: 'supplier batch' }).waitFor();
  await pc.reload();
  await pc.locator('.c-msg.shop').first().waitFor();
  assert.ok(!(await pc.locator('main').textContent()).includes('supplier batch'));
});

test('the portal in Chinese, and signing out', async () => {
  await pc.getByLabel('Language').selectOption('zh-CN');
  await pc.getByRole('heading', { name: '状态' }).waitFor();
  await shot(pc, '42-portal-zh');
  await pc.getByRole('button', { name: '退出' }).click();
  await pc.waitForURL(/\/portal\/signin/);
  await pc.goto(kefu.url + '/portal/t/' + key);
  await pc.waitForURL(/\/portal\/signin/);
  await pc.getByLabel('邮箱或手机号码').fill(email);
  await pc.getByRole('button', { name: '发送验证码' }).click();
  await pc.getByRole('heading', { name: '输入验证码' }).waitFor();
});
