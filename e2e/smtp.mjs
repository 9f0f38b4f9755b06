// A loopback SMTP server for browser tests: it accepts whatever Kefu
// sends (no TLS, no authentication, as a mailbox with security "none" on
// 127.0.0.1 speaks) and keeps each message, so a test reads a sign-in code
// or an acknowledgement the way a customer would: from the mail.
import net from 'node:net';
import { once } from 'node:events';

// decodeQP undoes quoted-printable (soft line breaks, =XX bytes).
function decodeQP(s) {
  const bytes = [];
  const flat = s.replace(/=\r?\n/g, '');
  for (let i = 0; i < flat.length; i++) {
    if (flat[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(flat.slice(i + 1, i + 3))) {
      bytes.push(parseInt(flat.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(flat[i], 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

// text returns a message's text/plain part, decoded.
function text(raw) {
  const parts = raw.split(/\r\n--[^\r\n]+\r\n/);
  for (const p of parts) {
    const [head, ...rest] = p.split('\r\n\r\n');
    if (!/content-type:\s*text\/plain/i.test(head)) continue;
    const body = rest.join('\r\n\r\n');
    if (/content-transfer-encoding:\s*base64/i.test(head)) return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    if (/content-transfer-encoding:\s*quoted-printable/i.test(head)) return decodeQP(body);
    return body;
  }
  return raw;
}

export async function smtpSink() {
  const messages = [];
  const waiters = [];
  const server = net.createServer((sock) => {
    let buf = '';
    let inData = false;
    let rcpt = [];
    sock.setEncoding('latin1'); // bytes as they come; decoded per part
    sock.write('220 sink.test ESMTP\r\n');
    sock.on('data', (chunk) => {
      buf += chunk;
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          const raw = Buffer.from(buf.slice(0, end), 'latin1').toString('latin1');
          buf = buf.slice(end + 5);
          inData = false;
          const subject = /^Subject:\s*(.*)$/mi.exec(raw)?.[1] ?? '';
          const m = { to: rcpt, subject, raw, text: text(Buffer.from(raw, 'latin1').toString('utf8')) };
          messages.push(m);
          for (const w of waiters.splice(0)) w();
          rcpt = [];
          sock.write('250 2.0.0 queued\r\n');
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        const cmd = line.slice(0, 4).toUpperCase();
        if (cmd === 'EHLO') sock.write('250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n');
        else if (cmd === 'HELO') sock.write('250 sink.test\r\n');
        else if (cmd === 'RCPT') { rcpt.push(/<([^>]*)>/.exec(line)?.[1] ?? ''); sock.write('250 2.1.5 ok\r\n'); }
        else if (cmd === 'DATA') { inData = true; sock.write('354 go ahead\r\n'); }
        else if (cmd === 'QUIT') { sock.end('221 2.0.0 bye\r\n'); return; }
        else sock.write('250 2.0.0 ok\r\n'); // MAIL, RSET, NOOP
      }
    });
    sock.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: server.address().port,
    messages,
    // waitFor resolves with the first message received (before or after
    // the call) that matches.
    async waitFor(match, { timeout = 30000 } = {}) {
      const deadline = Date.now() + timeout;
      for (;;) {
        const m = messages.find(match);
        if (m) return m;
        if (Date.now() > deadline) throw new Error('no matching mail in ' + timeout + 'ms; got: ' + messages.map((x) => x.subject).join(' | '));
        await new Promise((r) => { waiters.push(r); setTimeout(r, 500); });
      }
    },
    close() { server.close(); },
  };
}
