// An after-sales workflow end to end (seed 002, service attitude): a
// customer complains through the contact form; a customer-service agent
// starts the chain from their department's queue; the customer-service
// manager and then the general manager each find it in their own
// "waiting for my department" queue, pick it up and decide; the customer
// follows every step on the portal, in plain words. The demo's staff
// work in Chinese, so their pages are read in Chinese here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startKefu, browser, signIn, shot } from './kefu.mjs';
import { smtpSink } from './smtp.mjs';

let kefu, smtp, agent, manager, gm, customer, pa, pm, pg, pc;
let key;
const email = 'zhou.min@example.com';
const subject = 'The agent hung up on me';

before(async () => {
  kefu = await startKefu({ tickets: 5 });
  smtp = await smtpSink();
  agent = await browser();
  manager = await browser();
  gm = await browser();
  customer = await browser();
  [pa, pm, pg, pc] = await Promise.all([agent.page(), manager.page(), gm.page(), customer.page()]);
  // The portal's sign-in codes go out through a loopback mail server.
  await signIn(pa, kefu, 'admin@demo.kefu.local');
  const res = await pa.request.post(kefu.url + '/api/v1/mailboxes', { data: {
    address: 'service@nanbei.example', display_name: 'Nanbei Chao', is_default: true, enabled: true,
    imap: {}, smtp: { host: '127.0.0.1', port: smtp.port, security: 'none' }, signature: '',
  } });
  assert.equal(res.status(), 201, await res.text());
  await pa.locator('form[action="/signout"] button').click();
  await pa.waitForURL(/\/signin/);
});

after(async () => {
  for (const b of [agent, manager, gm, customer]) await b?.close();
  await kefu?.stop();
  smtp?.close();
  assert.deepEqual([agent, manager, gm, customer].flatMap((b) => b?.errors ?? []), [], 'no script errors in the pages');
});

test('the customer complains about service attitude', async () => {
  await pc.goto(kefu.url + '/contact');
  await pc.getByLabel('Your name').fill('Zhou Min');
  await pc.getByLabel('Email address').fill(email);
  await pc.getByLabel('What is it about?').selectOption('complaint');
  await pc.getByLabel('Tell us what happened').fill(subject + ' when I called about my refund yesterday.');
  await pc.getByRole('button', { name: 'Send' }).click();
  await pc.getByRole('heading', { name: 'Thank you' }).waitFor();
  key = (await pc.locator('.c-key').textContent()).trim();
  assert.match(key, /^KF-\d+$/);
});

test('a customer-service agent starts the chain from their queue', async () => {
  await signIn(pa, kefu, 'li.na@demo.kefu.local');
  // A request from the form waits, unassigned, for customer service.
  await pa.locator('#views').getByRole('link', { name: /^未分配/ }).click();
  await pa.locator('#queue-list a', { hasText: key }).first().click();
  await pa.waitForURL(new RegExp('/t/' + key + '$'));
  const panel = pa.locator('#ticket-work');
  await panel.getByText('启动售后流程').click();
  await panel.getByLabel('流程', { exact: true }).selectOption('service_attitude');
  await panel.getByLabel('给客户的消息').fill('We are sorry. Your complaint is now with our customer service manager.');
  await panel.getByRole('button', { name: '启动' }).click();
  await pa.waitForURL(/\/work\/i\//);
  await pa.locator('.work-stage').filter({ hasText: '客服部经理' }).waitFor();
  // The manager's stage is for supervisors: the agent may not act on it,
  // and it is not in the agent's queue.
  assert.equal(await pa.getByRole('button', { name: '认领' }).count(), 0);
  assert.match(await pa.locator('.work-actions').textContent(), /「客服部经理」由客服部的主管处理/);
  await pa.locator('#work-side').getByRole('link', { name: /待本部门处理/ }).click();
  await pa.getByRole('heading', { name: '待本部门处理' }).waitFor();
  assert.equal(await pa.locator('#work-list tr', { hasText: key }).count(), 0);
  await shot(pa, '60-workflow-started');
});

let code;

test('the customer sees the step the complaint is at', async () => {
  await pc.goto(kefu.url + '/portal');
  await pc.getByLabel('Email address or phone number').fill(email);
  await pc.getByRole('button', { name: 'Send me a code' }).click();
  await pc.getByRole('heading', { name: 'Enter your code' }).waitFor();
  const mail = await smtp.waitFor((m) => m.to.includes(email) && m.subject === 'Your sign-in code');
  code = /\b(\d{6})\b/.exec(mail.text)[1];
  await pc.getByLabel('6-digit code').fill(code);
  await pc.getByRole('button', { name: 'Sign in' }).click();
  await pc.waitForURL(/\/portal$/);
  await pc.getByRole('link', { name: new RegExp(key) }).click();
  const progress = pc.getByRole('region', { name: 'Progress' });
  await progress.waitFor();
  const current = progress.locator('.c-step.current');
  assert.match(await current.textContent(), /Customer service manager/);
  assert.match(await current.textContent(), /The customer service manager is looking into your complaint\./);
  assert.match(await progress.locator('.c-step.next').textContent(), /General manager/);
  assert.match(await progress.textContent(), /Next feedback from us by /);
  await pc.locator('.c-msg.shop').filter({ hasText: 'now with our customer service manager' }).waitFor();
  await shot(pc, '61-portal-step-manager');
});

// act picks up the stage of the complaint in the signed-in person's
// queue and decides it.
async function act(page, decision, results, reply) {
  await page.locator('#work-side').getByRole('link', { name: /待本部门处理/ }).click();
  await page.getByRole('heading', { name: '待本部门处理' }).waitFor();
  await page.locator('#work-list tr', { hasText: key }).getByRole('link').click();
  await page.waitForURL(/\/work\/i\//);
  await page.getByRole('button', { name: '认领' }).click();
  await page.getByRole('status').filter({ hasText: '您已认领该环节。' }).waitFor();
  // Decided without its results, the stage says what is missing.
  await page.getByLabel('决定').selectOption({ label: decision });
  await page.getByRole('button', { name: '提交决定' }).click();
  await page.locator('.field-error').filter({ hasText: 'is required at stage' }).waitFor();
  await page.getByLabel('决定').selectOption({ label: decision });
  for (const [label, value] of Object.entries(results)) await page.getByLabel(label).fill(value);
  await page.getByLabel('给客户的消息').fill(reply);
  await page.getByRole('button', { name: '提交决定' }).click();
  await page.getByRole('status').filter({ hasText: '已提交决定。' }).waitFor();
}

test('the customer-service manager passes it to the general manager from their queue', async () => {
  await signIn(pm, kefu, 'chen.jing@demo.kefu.local');
  await act(pm, '提交总经理 → 总经理', { '调查结果': 'The call recording confirms the agent hung up.' },
    'Our manager confirmed what happened and passed your complaint to the general manager.');
  await pm.locator('.work-stage').filter({ hasText: '总经理' }).waitFor();
  const history = await pm.locator('#history').textContent();
  assert.match(history, /陈静/);
  assert.match(history, /The call recording confirms the agent hung up\./);
  assert.match(await pm.locator('.work-status').textContent(), /已向客户反馈 2 次（至少 3 次）/);
  await shot(pm, '62-workflow-manager-decided');
});

test('the portal shows the manager done and the general manager at work', async () => {
  await pc.reload();
  const progress = pc.getByRole('region', { name: 'Progress' });
  assert.match(await progress.locator('.c-step.done').first().textContent(), /Customer service manager/);
  assert.match(await progress.locator('.c-step.current').textContent(), /General manager/);
  await pc.locator('.c-msg.shop').filter({ hasText: 'passed your complaint to the general manager' }).waitFor();
});

test('the general manager settles it from their queue', async () => {
  await signIn(pg, kefu, 'huang.zong@demo.kefu.local');
  await act(pg, '已解决 → 已解决', { '处理措施': 'Training for the agent; an apology and a voucher for the customer.' },
    'Our general manager apologises; a 50 yuan voucher is on its way to you.');
  await pg.locator('.work-outcome').filter({ hasText: '已解决' }).waitFor();
  // The route on the diagram: both hand-offs taken.
  assert.equal(await pg.locator('.work-diagram svg [data-edge="cs_manager>forward>general_manager"].on').count(), 1);
  assert.equal(await pg.locator('.work-diagram svg g.wf-end.on[data-edge="general_manager>close>@resolved"]').count(), 1);
  assert.match(await pg.locator('.work-status').textContent(), /已向客户反馈 3 次/);
  await shot(pg, '63-workflow-resolved');
});

test('the customer sees the complaint resolved, every step done', async () => {
  await pc.reload();
  const progress = pc.getByRole('region', { name: 'Progress' });
  assert.equal(await progress.locator('.c-step.done').count(), 2);
  assert.equal(await progress.locator('.c-step.current').count(), 0);
  assert.match(await progress.textContent(), /Completed: your request is resolved\./);
  await pc.locator('.c-msg.shop').filter({ hasText: 'a 50 yuan voucher is on its way' }).waitFor();
  await shot(pc, '64-portal-resolved');
  // In Chinese, in plain words too.
  await pc.goto(pc.url().split(/[?#]/)[0] + '?lang=zh-CN');
  await pc.getByRole('region', { name: '处理进度' }).waitFor();
  assert.match(await pc.getByRole('region', { name: '处理进度' }).textContent(), /客服部经理[\s\S]*总经理[\s\S]*已完成：您的问题已解决。/);
  await shot(pc, '65-portal-resolved-zh');
});
