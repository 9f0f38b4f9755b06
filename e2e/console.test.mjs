// The agent console end to end: the real binary on a demo store, Debian's
// chromium, two signed-in staff members.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startKefu, browser, signIn, shot, png } from './kefu.mjs';

let kefu, a, b, pa, pb;
let ticketKey;

before(async () => {
  kefu = await startKefu({ tickets: 50 });
  a = await browser();
  b = await browser();
  pa = await a.page();
  pb = await b.page();
});

after(async () => {
  await a?.close();
  await b?.close();
  await kefu?.stop();
  assert.deepEqual([...(a?.errors ?? []), ...(b?.errors ?? [])], [], 'no script errors in the pages');
});

test('sign in', async () => {
  await pa.goto(kefu.url + '/signin');
  await pa.getByLabel('Email').fill('admin@demo.kefu.local');
  await pa.getByLabel('Password').fill('not the password');
  await pa.getByRole('button', { name: 'Sign in' }).click();
  await pa.getByRole('alert').filter({ hasText: 'Wrong email or password' }).waitFor();
  await signIn(pa, kefu, 'admin@demo.kefu.local');
  await pa.getByRole('heading', { name: 'My open tickets' }).waitFor();
  await shot(pa, '01-signed-in');
});

test('open a queue and move with the keyboard', async () => {
  await pa.getByRole('link', { name: /^Unassigned/ }).click();
  await pa.getByRole('heading', { name: 'Unassigned' }).waitFor();
  // Counts arrive after the page (GET /counts), as they would for a reader.
  await pa.locator('.views [data-count="unassigned"]').filter({ hasText: /^\d+\+?$/ }).waitFor({ timeout: 5000 });
  const rows = pa.locator('#queue-list [data-row]');
  assert.ok(await rows.count() > 0, 'unassigned tickets are listed');
  await pa.locator('main h1').click();
  await pa.keyboard.press('j');
  await pa.keyboard.press('j');
  await pa.keyboard.press('k');
  const current = pa.locator('#queue-list tr.current');
  await current.waitFor();
  ticketKey = (await current.locator('.key a').textContent()).trim();
  assert.equal(ticketKey, (await rows.first().locator('.key a').textContent()).trim());
  await shot(pa, '02-queue');
  await pa.keyboard.press('Enter');
  await pa.waitForURL(new RegExp('/t/' + ticketKey + '$'));
});

test('open a ticket', async () => {
  await pa.locator('.ticket-head h1').filter({ hasText: ticketKey }).waitFor();
  assert.ok(await pa.locator('#thread .msg').count() > 0, 'the thread has messages');
  await pa.getByRole('region', { name: 'Properties' }).waitFor();
  await shot(pa, '03-ticket');
});

test('reply with an attachment', async () => {
  await pa.keyboard.press('r');
  const text = pa.getByRole('textbox', { name: 'Message' });
  assert.ok(await text.evaluate((el) => el === document.activeElement), 'r focuses the composer');
  await text.fill('您好，建议选 M 码。尺码表见附件。');
  await pa.locator('#composer input[type=file]').setInputFiles({ name: '尺码表.png', mimeType: 'image/png', buffer: png });
  await pa.getByLabel('Proposes a solution').check();
  await pa.getByRole('button', { name: 'Send reply' }).click();
  const msg = pa.locator('#thread .msg.reply').filter({ hasText: '建议选 M 码' });
  await msg.waitFor();
  await msg.locator('img[alt="尺码表.png"]').waitFor();
  const ok = await msg.locator('img').evaluate((img) => img.complete && img.naturalWidth === 2);
  assert.ok(ok, 'the image attachment shows inline');
  await shot(pa, '04-reply');
});

test('add a note with a mention', async () => {
  await pa.keyboard.press('Escape');
  await pa.locator('body').press('n');
  const text = pa.getByRole('textbox', { name: 'Message' });
  await text.pressSequentially('请 @陈');
  await pa.locator('.suggest li', { hasText: '陈静' }).click();
  await text.pressSequentially('看一下');
  await pa.getByRole('button', { name: 'Add note' }).click();
  await pa.locator('#thread .msg.note').filter({ hasText: '请 @陈静 看一下' }).waitFor();
});

test('change the status', async () => {
  await pa.locator('#props select[name=status]').selectOption('pending_internal');
  await pa.locator('#thread .msg.event').filter({ hasText: /status: \w+ → pending_internal/ }).waitFor();
  assert.equal(await pa.locator('#props select[name=status]').inputValue(), 'pending_internal');
});

test("another agent's change arrives live", async () => {
  await signIn(pb, kefu, 'chen.jing@demo.kefu.local');
  // 陈静 works in Chinese; this test reads English.
  await pb.getByLabel('语言').selectOption('en');
  await pb.getByRole('heading', { name: 'My open tickets' }).waitFor();
  await pb.goto(kefu.url + '/t/' + ticketKey);
  // A's sidebar shows 陈静 online as soon as she signs in.
  await pa.locator('#team li').filter({ hasText: '陈静' }).waitFor({ timeout: 5000 });
  // Each sees the other on the ticket.
  await pa.locator('#viewers').filter({ hasText: '陈静 is viewing' }).waitFor({ timeout: 5000 });
  await pb.locator('#viewers').filter({ hasText: /Demo admin.* is viewing/ }).waitFor({ timeout: 5000 });
  await shot(pb, '05-viewers');
  const before = await pa.locator('#props select[name=priority]').inputValue();
  const next = before === 'high' ? 'urgent' : 'high';
  const started = Date.now();
  await pa.locator('#props select[name=priority]').selectOption(next);
  await pb.locator(`#props select[name=priority] option[value=${next}]:checked`).waitFor({ state: 'attached', timeout: 3000 });
  const ms = Date.now() - started;
  console.log(`live update reached the other console in ${ms} ms`);
  assert.ok(ms < 1500, `live update took ${ms} ms`);
  await pb.locator('#thread .msg.event').filter({ hasText: 'priority:' }).last().waitFor();
  await shot(pb, '06-live');
});

test('a stale edit is refused and shows the other change', async () => {
  // B misses the next update (its properties panel cannot refresh), as
  // if the change and B's edit crossed.
  await pb.route('**/props', (route) => route.abort());
  await pa.locator('#props select[name=status]').selectOption('open');
  await pa.locator('#thread .msg.event').filter({ hasText: 'pending_internal → open' }).waitFor();
  const priority = await pb.locator('#props select[name=priority]').inputValue();
  await pb.locator('#props select[name=priority]').selectOption('low');
  const alert = pb.locator('#props .conflict');
  await alert.waitFor();
  const text = await alert.textContent();
  assert.match(text, /Someone changed this ticket/);
  assert.match(text, /Status: Pending internal → Open/);
  assert.match(text, /was not saved/);
  assert.equal(await pb.locator('#props select[name=priority]').inputValue(), priority, 'the panel shows the current value');
  await shot(pb, '07-stale');
  await pb.unroute('**/props');
});

test('bulk assign from a queue', async () => {
  await pb.goto(kefu.url + '/queue/unassigned');
  const first = pb.locator('#queue-list [data-row]').first();
  const key = (await first.locator('.key a').textContent()).trim();
  await first.locator('input[name=id]').check();
  await pb.locator('#bulk-action').selectOption('assign');
  await pb.getByRole('button', { name: 'Apply' }).click();
  await pb.locator('#bulk-result').filter({ hasText: '1 of 1 tickets changed' }).waitFor();
  await pb.locator(`#queue-list a:text-is("${key}")`).waitFor({ state: 'detached' });
});

test('switch to Simplified Chinese', async () => {
  await pa.goto(kefu.url + '/queue/mine');
  await pa.getByLabel('Language').selectOption('zh-CN');
  await pa.getByRole('heading', { name: '我的待办' }).waitFor();
  assert.equal(await pa.locator('html').getAttribute('lang'), 'zh-CN');
  await pa.goto(kefu.url + '/t/' + ticketKey);
  await pa.getByRole('button', { name: '发送回复' }).waitFor();
  await shot(pa, '08-zh-CN');
  await pa.getByLabel('语言').selectOption('en');
  await pa.getByRole('button', { name: 'Send reply' }).waitFor();
});

test('the layout holds at phone width', async () => {
  await pa.setViewportSize({ width: 390, height: 844 });
  await pa.goto(kefu.url + '/queue/pending');
  await pa.getByRole('heading', { name: 'Pending customer' }).waitFor();
  const overflow = await pa.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `page is ${overflow}px wider than the phone`);
  await shot(pa, '09-phone');
  await pa.setViewportSize({ width: 1280, height: 860 });
});

test('an admin page refuses a bad field, then saves', async () => {
  await pa.goto(kefu.url + '/admin/departments');
  await pa.getByRole('heading', { name: 'Departments' }).first().waitFor();
  await pa.getByLabel('Name', { exact: true }).fill('Returns desk');
  await pa.getByLabel('Chinese name').fill('退货组');
  await pa.getByLabel('Slug').fill('Returns Desk');
  await pa.getByRole('button', { name: 'Save' }).click();
  const err = pa.locator('#a-slug-error');
  await err.waitFor();
  assert.match(await err.textContent(), /lower-case letters/);
  assert.equal(await pa.getByLabel('Slug').getAttribute('aria-invalid'), 'true');
  assert.equal(await pa.getByLabel('Chinese name').inputValue(), '退货组', 'what was typed is kept');
  await shot(pa, '10-admin-error');
  await pa.getByLabel('Slug').fill('returns-desk');
  await pa.getByRole('button', { name: 'Save' }).click();
  await pa.getByRole('status').filter({ hasText: 'Saved: Returns desk' }).waitFor();
  await pa.getByRole('cell', { name: '退货组' }).waitFor();
  await shot(pa, '11-admin-saved');
});

test('search finds a Chinese word', async () => {
  await pa.goto(kefu.url + '/queue/mine');
  await pa.locator('main h1').click();
  await pa.keyboard.press('/');
  await pa.keyboard.type('羊毛大衣');
  // Results appear under the box while typing, before Enter.
  await pa.locator('#search-suggest .suggest-hits mark').first().waitFor();
  await shot(pa, '12-search-as-you-type');
  await pa.keyboard.press('Enter');
  await pa.getByRole('heading', { name: 'Search' }).waitFor();
  const hit = pa.locator('ul.hits li').filter({ has: pa.locator('mark', { hasText: '羊毛大衣' }) }).first();
  await hit.waitFor();
  await shot(pa, '12-search');
  await hit.getByRole('link').first().click();
  await pa.waitForURL(/\/t\/KF-\d+$/);
});

test('SLA views list tickets by deadline', async () => {
  await pa.goto(kefu.url + '/queue/breached');
  await pa.getByRole('heading', { name: 'SLA breached' }).waitFor();
  const late = pa.locator('#queue-list td.clock.late');
  if (await late.count() > 0) {
    assert.match(await late.first().textContent(), /^\s*-/, 'a breached clock shows negative time left');
  }
  await shot(pa, '13-breached');
});

test('assign and solve from the keyboard', async () => {
  await pa.goto(kefu.url + '/queue/unassigned');
  await pa.locator('main h1').click();
  await pa.keyboard.press('j');
  await pa.keyboard.press('Enter');
  await pa.waitForURL(/\/t\/KF-\d+$/);
  await pa.locator('#props').waitFor();
  await pa.locator('main h1').click();
  await pa.keyboard.press('a');
  await pa.locator('#props select[name=assignee] option:checked', { hasText: 'Demo admin' }).waitFor({ state: 'attached' });
  await pa.locator('#props button[data-key=a][disabled]').waitFor({ state: 'attached' });
  await pa.keyboard.press('s');
  await pa.locator('#thread .msg.event').filter({ hasText: '→ solved' }).waitFor();
  assert.equal(await pa.locator('#props select[name=status]').inputValue(), 'solved');
  await pa.keyboard.press('Shift+?');
  await pa.getByRole('dialog', { name: 'Keyboard shortcuts' }).waitFor();
  await shot(pa, '14-shortcuts');
  await pa.keyboard.press('Escape');
});

test('a calendar with a lunch break answers what-if', async () => {
  await pa.goto(kefu.url + '/admin/calendars');
  await pa.getByRole('heading', { name: 'New calendar' }).waitFor();
  await pa.getByLabel('Name', { exact: true }).fill('Lunch break office');
  await pa.getByLabel('Monday').fill('09:00-12:00, 11:30-18:00');
  await pa.getByRole('button', { name: 'Save' }).click();
  const err = pa.locator('[id="a-weekly.mon-error"]');
  await err.waitFor();
  assert.match(await err.textContent(), /overlap/);
  assert.equal(await pa.getByLabel('Monday').inputValue(), '09:00-12:00, 11:30-18:00', 'what was typed is kept');
  await pa.getByLabel('Monday').fill('09:00-12:00, 13:30-18:00');
  await pa.getByRole('button', { name: 'Save' }).click();
  await pa.getByRole('status').filter({ hasText: 'Saved: Lunch break office' }).waitFor();
  await pa.getByLabel('What if a request arrives at').fill('2026-03-02T11:55');
  await pa.getByLabel('with a target of').fill('10');
  await pa.getByLabel('with a target of').press('Enter');
  const due = pa.locator('#sim-due');
  await due.waitFor();
  assert.match(await due.textContent(), /2026-03-02 13:35/);
  await shot(pa, '20-calendar-what-if');
});

test('an SLA policy refused with an error, then saved', async () => {
  await pa.goto(kefu.url + '/admin/sla');
  await pa.getByRole('heading', { name: 'New policy' }).waitFor();
  await pa.getByLabel('Name', { exact: true }).fill('Urgent first response');
  await pa.getByLabel('Business calendar').selectOption({ label: 'Lunch break office (Asia/Shanghai)' });
  await pa.getByLabel('Urgent', { exact: true }).check();
  await pa.getByLabel('Minutes (empty: no target)').first().fill('30');
  await pa.getByLabel('Warn minutes before').first().fill('45');
  await pa.getByRole('button', { name: 'Save' }).click();
  const err = pa.locator('[id="a-t.first_response.warn_before-error"]');
  await err.waitFor();
  assert.match(await err.textContent(), /less than the target/);
  await shot(pa, '21-sla-policy-error');
  await pa.getByLabel('Warn minutes before').first().fill('10');
  await pa.getByRole('button', { name: 'Save' }).click();
  await pa.getByRole('status').filter({ hasText: 'Saved: Urgent first response' }).waitFor();
  await pa.getByRole('link', { name: 'Urgent first response' }).waitFor();
  await shot(pa, '22-sla-policy-saved');
});

test('a canned reply made in admin is inserted into a reply and sent', async () => {
  await pa.goto(kefu.url + '/admin/canned');
  await pa.getByLabel('Title').fill('Refund done');
  await pa.getByLabel('Text').fill('Dear {{customer.email}}, refund for {{ticket.key}} is done.');
  await pa.getByRole('button', { name: 'Save' }).click();
  const err = pa.locator('#a-body-error');
  await err.waitFor();
  assert.match(await err.textContent(), /\{\{customer\.email\}\}/);
  await pa.getByLabel('Text').fill('Dear {{customer.name}}, the refund for {{ticket.key}} is done.');
  await pa.getByRole('button', { name: 'Save' }).click();
  await pa.getByRole('status').filter({ hasText: 'Saved: Refund done' }).waitFor();

  await pa.goto(kefu.url + '/t/' + ticketKey);
  const text = pa.getByRole('textbox', { name: 'Message' });
  await text.fill('Hello. ');
  await pa.locator('body').click();
  await pa.keyboard.press('c');
  const filter = pa.getByRole('combobox', { name: 'Type to filter' });
  await filter.waitFor();
  await pa.locator('#canned-list [role=option]').first().waitFor();
  await filter.fill('refund');
  await shot(pa, '23-canned-picker');
  await filter.press('Enter');
  const value = await text.inputValue();
  assert.match(value, new RegExp('^Hello\\. Dear .*, the refund for ' + ticketKey + ' is done\\.$'));
  assert.ok(!value.includes('{{'), 'variables are filled');
  await pa.getByRole('button', { name: 'Send reply' }).click();
  await pa.locator('#thread .msg.reply').filter({ hasText: 'the refund for ' + ticketKey }).waitFor();
  await shot(pa, '24-canned-sent');
});

test('a tag renamed in admin', async () => {
  await pa.goto(kefu.url + '/admin/tags');
  const first = pa.locator('table.grid tbody tr td:first-child a').first();
  const tag = (await first.textContent()).trim();
  await pa.getByLabel('Tag', { exact: true }).fill(tag);
  await pa.getByLabel('New name').fill(tag + '-renamed');
  await pa.getByRole('button', { name: 'Rename' }).click();
  await pa.getByRole('status').filter({ hasText: 'Saved: ' + tag + '-renamed' }).waitFor();
  await pa.getByRole('link', { name: tag + '-renamed', exact: true }).waitFor();
  await shot(pa, '25-tag-renamed');
});
