// Admin › Mailboxes end to end: a mailbox refused then saved, its
// connection test against a closed loopback port (a clear failure, no
// hang), and the sender deny list.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { startKefu, browser, signIn, shot } from './kefu.mjs';

let kefu, a, pa, closed;

// closedPort is a loopback port nothing listens on.
async function closedPort() {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  srv.close();
  await once(srv, 'close');
  return String(port);
}

before(async () => {
  kefu = await startKefu({ tickets: 5 });
  a = await browser();
  pa = await a.page();
  closed = await closedPort();
  await signIn(pa, kefu, 'admin@demo.kefu.local');
});

after(async () => {
  await a?.close();
  await kefu?.stop();
  assert.deepEqual(a?.errors ?? [], [], 'no script errors in the page');
});

const field = (name) => pa.locator(`[id="a-${name}"]`);

test('a mailbox refused with errors, then saved', async () => {
  await pa.goto(kefu.url + '/admin/mailboxes');
  await pa.getByRole('heading', { name: 'New mailbox' }).waitFor();
  await field('address').fill('not an address');
  await field('display_name').fill('Shop service');
  await field('imap.host').fill('127.0.0.1');
  await field('imap.port').fill('99999');
  await field('imap.security').selectOption('none');
  await field('imap.password').fill('imap-secret');
  await field('smtp.host').fill('127.0.0.1');
  await field('smtp.port').fill(closed);
  await field('smtp.security').selectOption('none');
  await field('smtp.password').fill('smtp-secret');
  await field('ack_en').fill('We received your mail about "{{subject}}"; your ticket is {{key}}.');
  await pa.getByRole('button', { name: 'Save' }).click();
  await pa.locator('[id="a-address-error"]').waitFor();
  assert.match(await pa.locator('[id="a-imap.port-error"]').textContent(), /port number/);
  assert.match(await pa.locator('[id="a-imap.username-error"]').textContent(), /required/);
  assert.equal(await field('address').getAttribute('aria-invalid'), 'true');
  assert.equal(await field('display_name').inputValue(), 'Shop service', 'what was typed is kept');
  assert.equal(await field('imap.password').inputValue(), '', 'a password is never sent back');
  await shot(pa, '30-mailbox-error');

  await field('address').fill('service@shop.example');
  await field('imap.port').fill(closed);
  await field('imap.username').fill('service@shop.example');
  await field('imap.password').fill('imap-secret');
  await field('smtp.password').fill('smtp-secret');
  await pa.getByRole('button', { name: 'Save' }).click();
  await pa.getByRole('status').filter({ hasText: 'Saved: service@shop.example' }).waitFor();
  await pa.getByRole('link', { name: 'service@shop.example' }).waitFor();
  assert.equal(await field('imap.password').inputValue(), '');
  await pa.getByText('A password is stored. Leave blank to keep it.').first().waitFor();
});

test('the connection test reports a closed port at once', async () => {
  const started = Date.now();
  await pa.getByRole('button', { name: 'Test connection' }).click();
  const imap = pa.locator('#mb-check-imap');
  await imap.waitFor({ timeout: 20000 });
  const took = Date.now() - started;
  assert.match(await imap.textContent(), /IMAP: failed:.*(refused|connect)/s);
  assert.match(await pa.locator('#mb-check-smtp').textContent(), /SMTP: failed:.*(refused|connect)/s);
  assert.ok(took < 15000, `the test answered in ${took} ms`);
  await shot(pa, '31-mailbox-test-failed');
});

test('the deny list takes a domain and lets it go', async () => {
  await pa.getByLabel('Address or domain').fill('spam example');
  await pa.getByRole('button', { name: 'Deny', exact: true }).click();
  await pa.locator('#a-pattern-error').waitFor();
  await pa.getByLabel('Address or domain').fill('Spam.Example');
  await pa.getByLabel('Note').fill('bulk mail');
  await pa.getByRole('button', { name: 'Deny', exact: true }).click();
  await pa.getByRole('cell', { name: 'spam.example', exact: true }).waitFor();
  await shot(pa, '32-mailbox-deny');
  await pa.getByRole('button', { name: 'Remove spam.example from the deny list' }).click();
  await pa.getByRole('cell', { name: 'spam.example', exact: true }).waitFor({ state: 'detached' });
});

test('a mailbox is deleted after confirming', async () => {
  pa.once('dialog', (d) => d.accept());
  await pa.getByRole('button', { name: 'Delete service@shop.example' }).click();
  await pa.getByText('No mailboxes yet.').waitFor();
});
