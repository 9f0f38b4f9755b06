// Helpers for the browser tests: build and start the real binary on a
// temporary demo store, and drive Debian's chromium through
// playwright-core (which never downloads a browser of its own).
import { spawn, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const artifacts = path.join(root, 'e2e', 'artifacts');
fs.mkdirSync(artifacts, { recursive: true });

const chromiumPath = process.env.KEFU_E2E_CHROMIUM || '/usr/bin/chromium';

async function freePort() {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  srv.close();
  await once(srv, 'close');
  return port;
}

// startKefu builds cmd/kefu and runs `kefu demo` on a fresh SQLite store;
// it resolves once the server prints its address and password.
export async function startKefu({ tickets = 50 } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kefu-e2e-'));
  // KEFU_E2E_BIN runs a binary built beforehand (the same one for every
  // test file) instead of building one per file.
  const bin = process.env.KEFU_E2E_BIN || path.join(dir, 'kefu');
  if (!process.env.KEFU_E2E_BIN) execFileSync('go', ['build', '-o', bin, './cmd/kefu'], { cwd: root, stdio: 'inherit' });
  const port = await freePort();
  const proc = spawn(bin, ['demo', '--db', path.join(dir, 'kefu.db'), '--data-dir', dir,
    '--listen', `127.0.0.1:${port}`, '--tickets', String(tickets)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stderr.on('data', (d) => { if (process.env.KEFU_E2E_VERBOSE) process.stderr.write(d); });
  const password = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('kefu demo did not start in 60s:\n' + out)), 60000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /^\s*password\s+(\S+)/m.exec(out);
      if (m && out.includes('running at')) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`kefu demo exited ${code}:\n${out}`)); });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    password,
    async stop() {
      proc.kill('SIGTERM');
      await Promise.race([once(proc, 'exit'), new Promise((r) => setTimeout(r, 5000))]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// browser opens a fresh chromium profile (its own user data directory).
export async function browser() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kefu-chromium-'));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1280, height: 860 },
    locale: 'en-US',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const errors = [];
  ctx.on('page', (p) => p.on('pageerror', (e) => errors.push(e.message)));
  return {
    ctx,
    errors,
    async page() { const p = ctx.pages()[0] || await ctx.newPage(); p.on('pageerror', (e) => errors.push(e.message)); return p; },
    async close() { await ctx.close(); fs.rmSync(dir, { recursive: true, force: true }); },
  };
}

export async function signIn(page, kefu, email) {
  await page.goto(kefu.url + '/signin');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(kefu.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/queue\//);
}

export async function shot(page, name) {
  await page.screenshot({ path: path.join(artifacts, name + '.png'), fullPage: true });
}

// A 2×2 PNG, small enough to write inline.
export const png = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAYAAABytg0kAAAAFklEQVR4nGNk+M9Qz0AEYBxVSF+FAAhKDveksOjmAAAAAElFTkSuQmCC', 'base64');
