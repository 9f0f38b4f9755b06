// Live chat end to end: a shop's page on another site embeds the one
// script tag; a visitor chats from the widget (pre-chat form, messages
// both ways, typing, a photo each way, read marks, language switch, a
// phone-sized screen) while an agent in a second browser accepts the
// chat from the queue and answers in the console. With nobody online the
// widget says so and the message becomes a ticket.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { startKefu, browser, signIn, shot, png } from './kefu.mjs';
import { smtpSink } from './smtp.mjs';

let kefu, smtp, shop, agentB, visitorB, lateB, pa, pv, pl;
let shopURL, key;

before(async () => {
  kefu = await startKefu({ tickets: 5 });
  // The shop's own site: localhost, while Kefu is 127.0.0.1, so every
  // widget call is cross-site, as on a real shop.
  shop = http.createServer((req, res) => {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(`<!doctype html><html lang="en"><head><title>Sunny Shop</title>
      <meta name="viewport" content="width=device-width, initial-scale=1">
      <style>body{font-family:serif;color:purple} button{background:red!important} *{font-size:30px!important}</style></head>
      <body><h1>Sunny Shop</h1><p>Linen dress, size S–XL.</p>
      <script src="${kefu.url}/chat.js" async></script></body></html>`);
  });
  shop.listen(0, '127.0.0.1');
  await once(shop, 'listening');
  shopURL = `http://localhost:${shop.address().port}/dress`;
  agentB = await browser();
  visitorB = await browser();
  pa = await agentB.page();
  pv = await visitorB.page();
  await signIn(pa, kefu, 'admin@demo.kefu.local');
  // The shop's mailbox sends through a loopback server, which keeps what
  // it receives: answers to offline messages and transcripts.
  smtp = await smtpSink();
  const res = await pa.request.post(kefu.url + '/api/v1/mailboxes', { data: {
    address: 'service@sunny.example', display_name: 'Sunny Shop', is_default: true, enabled: true,
    imap: {}, smtp: { host: '127.0.0.1', port: smtp.port, security: 'none' }, signature: '', ack_en: '', ack_zh: '',
  } });
  assert.equal(res.status(), 201, await res.text());
});

after(async () => {
  await agentB?.close();
  await visitorB?.close();
  await lateB?.close();
  await kefu?.stop();
  shop?.close();
  smtp?.close();
  assert.deepEqual([...(agentB?.errors ?? []), ...(visitorB?.errors ?? []), ...(lateB?.errors ?? [])], [], 'no script errors in the pages');
});

test('an admin offers chat whenever an agent is online, and finds the embed code', async () => {
  await pa.goto(kefu.url + '/admin/chat');
  await pa.getByRole('heading', { name: 'Live chat', level: 1 }).waitFor();
  const snippet = await pa.locator('pre.snippet').textContent();
  assert.equal(snippet.trim(), `<script src="${kefu.url}/chat.js" async></script>`);
  await pa.getByLabel('Whenever an agent is online').check();
  await pa.getByRole('button', { name: 'Save' }).click();
  await pa.getByRole('status').filter({ hasText: 'Live chat' }).waitFor();
  assert.ok(await pa.getByLabel('Whenever an agent is online').isChecked());
  await shot(pa, 'chat-01-admin');
});

test('with nobody online, the widget takes a message that becomes a ticket answered by email', async () => {
  // The only agent signed in steps away.
  await pa.goto(kefu.url + '/queue/mine');
  await pa.locator('#presence').selectOption('away');
  await pa.locator('.presence .dot.away').waitFor();
  // Availability is cached for a couple of seconds on the server.
  await new Promise((r) => setTimeout(r, 2500));

  lateB = await browser();
  pl = await lateB.page();
  await pl.goto(shopURL);
  await pl.getByRole('button', { name: 'Chat with us' }).click();
  const panel = pl.getByRole('dialog', { name: 'Chat with us' });
  await panel.getByText('Nobody is available to chat right now.').waitFor();
  assert.ok(await panel.locator('form.pre').getByLabel('Phone').isHidden(), 'a reply by email needs an email address, not a phone');
  const form = panel.locator('form.pre');
  await form.getByLabel('Name').fill('Kim Late');
  await form.getByLabel('Email').fill('kim.late@example.com');
  await form.getByLabel('Message').fill('Do you ship linen dresses to Norway?');
  await panel.getByRole('button', { name: 'Start chat' }).click();
  await panel.getByText('We will answer by email to kim.late@example.com').waitFor();
  await panel.locator('li.visitor').filter({ hasText: 'ship linen dresses to Norway' }).waitFor();
  await shot(pl, 'chat-02-offline');

  // It is a ticket, on the chat channel, waiting for an answer by email.
  await pa.goto(kefu.url + '/queue/unassigned');
  await pa.locator('#queue-list').getByText('Do you ship linen dresses to Norway?').click();
  await pa.locator('.chat-bar').getByText('Offline message').waitFor();
  await pa.locator('.chat-bar').getByText('your reply is also mailed').waitFor();
  // The answer goes by email, and shows in the widget too.
  await pa.keyboard.press('r');
  await pa.getByRole('textbox', { name: 'Message' }).fill('Yes: Norway in 5 to 7 days, duties included.');
  await pa.getByRole('button', { name: 'Send reply' }).click();
  const answer = await smtp.waitFor((m) => m.to.includes('kim.late@example.com') && /Norway in 5 to 7 days/.test(m.text));
  assert.match(answer.subject, /KF-\d+/);
  await panel.locator('li.agent').filter({ hasText: 'Norway in 5 to 7 days' }).waitFor();
  // The visitor asks for the transcript: it comes by mail, in their words and ours.
  await panel.getByRole('button', { name: 'Email me this chat' }).click();
  await panel.getByText('The transcript is on its way to your email.').waitFor();
  const transcript = await smtp.waitFor((m) => m.to.includes('kim.late@example.com') && /Your chat with us/.test(m.subject));
  assert.match(transcript.text, /Do you ship linen dresses to Norway\?/);
  assert.match(transcript.text, /Norway in 5 to 7 days/);
  await pa.goto(kefu.url + '/queue/mine');
  await pa.locator('#presence').selectOption('online');
  await pa.locator('.presence .dot.online').waitFor();
  await new Promise((r) => setTimeout(r, 2500));
});

test('a visitor starts a chat from the shop page and waits in the queue', async () => {
  await pv.goto(shopURL);
  const bubble = pv.getByRole('button', { name: 'Chat with us' });
  await bubble.click();
  const panel = pv.getByRole('dialog', { name: 'Chat with us' });
  await panel.getByText('Hello! Ask us about products').waitFor();
  // The shop's CSS does not reach inside the widget.
  const size = await panel.getByRole('button', { name: 'Start chat' }).evaluate((b) => getComputedStyle(b).fontSize);
  assert.equal(size, '14px', 'the shop page\'s * { font-size: 30px } stays outside');
  await panel.getByRole('button', { name: 'Start chat' }).click();
  await panel.getByText('Please fill this in.').waitFor();
  const form = panel.locator('form.pre');
  await form.getByLabel('Name').fill('王芳');
  await form.getByLabel('Phone').fill('+86 138 0013 8000');
  await form.getByLabel('Order number (optional)').fill('SO-1001');
  await form.getByLabel('Message').fill('这条裙子 S 码的腰围是多少？');
  await panel.getByRole('button', { name: 'Start chat' }).click();
  await panel.locator('li.visitor').filter({ hasText: '这条裙子 S 码的腰围是多少？' }).waitFor();
  await panel.getByText(/You are number 1 in the queue/).waitFor();
  await shot(pv, 'chat-03-queued');
});

test('the agent is alerted, accepts the chat and answers with a photo', async () => {
  await pa.goto(kefu.url + '/queue/mine');
  const waiting = pa.locator('#chat-side [data-chat-waiting]');
  await waiting.filter({ hasText: '1' }).waitFor();
  assert.ok(await waiting.evaluate((a) => a.classList.contains('alert')), 'a waiting chat is shown as an alert');
  await waiting.click();
  await pa.getByRole('heading', { name: 'Live chat' }).waitFor();
  const row = pa.locator('tr[data-chat]').filter({ hasText: '王芳' });
  key = await row.getAttribute('data-chat');
  await row.getByRole('button', { name: 'Accept the chat with 王芳' }).click();
  await pa.waitForURL(new RegExp('/t/' + key + '$'));
  await pa.locator('.chat-bar').getByText('Live chat').waitFor();
  await pa.locator('#thread .msg.customer').filter({ hasText: '腰围' }).waitFor();
  await shot(pa, 'chat-04-accepted');

  const panel = pv.getByRole('dialog', { name: 'Chat with us' });
  await panel.getByRole('status').getByText(/You are chatting with/).waitFor();

  // The agent types: the visitor sees it.
  await pa.keyboard.press('r');
  await pa.getByRole('textbox', { name: 'Message' }).fill('您好，S 码腰围 66 cm，');
  await panel.getByText(/is typing/).waitFor();
  await pa.getByRole('textbox', { name: 'Message' }).fill('您好，S 码腰围 66 cm，见尺码表。');
  await pa.locator('#composer input[type=file]').setInputFiles({ name: '尺码表.png', mimeType: 'image/png', buffer: png });
  await pa.getByRole('button', { name: 'Send reply' }).click();

  const reply = panel.locator('li.agent').filter({ hasText: 'S 码腰围 66 cm' });
  await reply.waitFor();
  await reply.locator('img[alt="尺码表.png"]').waitFor();
  const loaded = await reply.locator('img').evaluate((img) => new Promise((ok) => {
    if (img.complete) ok(img.naturalWidth); else img.onload = () => ok(img.naturalWidth);
  }));
  assert.equal(loaded, 2, 'the photo loads in the widget, cross-site');
  // The visitor has the chat open: the agent sees it was read.
  await pa.locator('#chat-seen').getByText('Seen by the customer').waitFor();
  await shot(pv, 'chat-05-reply');
});

test('the visitor types, sends a photo, and the agent sees it live', async () => {
  const panel = pv.getByRole('dialog', { name: 'Chat with us' });
  const box = panel.locator('form.compose').getByRole('textbox', { name: 'Message' });
  await box.pressSequentially('谢谢');
  await pa.locator('#chat-typing').getByText('The customer is typing').waitFor();
  await panel.locator('input[type=file]').setInputFiles({ name: 'stain.png', mimeType: 'image/png', buffer: png });
  await panel.getByText('stain.png').waitFor();
  await box.fill('谢谢！还有，收到的裙子上有污渍，见照片。');
  await box.press('Enter');
  const msg = pa.locator('#thread .msg.customer').filter({ hasText: '污渍' });
  await msg.waitFor();
  await msg.locator('img[alt="stain.png"]').waitFor();
  // The agent's page is in sight: the visitor gets "Read".
  await panel.locator('li.visitor').last().getByText('Read').waitFor();
  await shot(pa, 'chat-06-console');
});

test('the visitor switches to Chinese and the chat survives a reload', async () => {
  const panel = pv.getByRole('dialog', { name: 'Chat with us' });
  await panel.getByRole('button', { name: '中文' }).click();
  const zh = pv.getByRole('dialog', { name: '在线客服' });
  await zh.getByRole('button', { name: '发送', exact: true }).waitFor();
  await pv.reload();
  await pv.getByRole('button', { name: '在线咨询' }).click();
  await zh.locator('li.visitor').filter({ hasText: '腰围' }).waitFor();
  await zh.locator('li.agent').filter({ hasText: '66 cm' }).waitFor();
  // A message after the reload reaches the agent on the same ticket.
  await zh.locator('form.compose').getByRole('textbox', { name: '消息' }).fill('我回来了');
  await zh.getByRole('button', { name: '发送', exact: true }).click();
  await pa.locator('#thread .msg.customer').filter({ hasText: '我回来了' }).waitFor();
  assert.ok(pa.url().endsWith('/t/' + key));
});

test('on a phone the chat fills the screen', async () => {
  await pv.setViewportSize({ width: 390, height: 800 });
  const box = await pv.getByRole('dialog', { name: '在线客服' }).boundingBox();
  assert.ok(box.width >= 389 && box.height >= 799, `panel ${box.width}×${box.height}`);
  await shot(pv, 'chat-07-phone');
  await pv.setViewportSize({ width: 1280, height: 860 });
});

test('the agent ends the chat by solving the ticket; the visitor is told', async () => {
  await pa.getByRole('textbox', { name: 'Message' }).fill('不客气，退货标签已发到您的手机。');
  await pa.locator('#composer-status').selectOption('solved');
  await pa.getByRole('button', { name: 'Send reply' }).click();
  const zh = pv.getByRole('dialog', { name: '在线客服' });
  await zh.locator('li.agent').filter({ hasText: '退货标签' }).waitFor();
  await zh.locator('li.sys').filter({ hasText: '对话已结束' }).waitFor();
  await pa.locator('.chat-bar').getByText('Chat ended').waitFor();
});
