package email

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf16"
)

// imapConn is the IMAP4rev1 client the poller uses: just the commands it
// needs (LOGIN, SELECT, UID SEARCH/FETCH/STORE/MOVE, IDLE), on the
// standard library. go-imap v2's client needs github.com/emersion/go-message,
// which go.sum does not hold yet; Folder keeps the switch to it a
// one-file change.
type imapConn struct {
	conn net.Conn
	r    *bufio.Reader
	tag  int
	caps map[string]bool
	// broken is set when a command was cut off (I/O error, cancelled
	// context): the session state is unknown, so Close only hangs up.
	broken atomic.Bool
}

// DialIMAP connects with TLS, STARTTLS or (loopback tests) neither,
// verifying the server's certificate against the system's roots, and logs
// in.
func DialIMAP(ctx context.Context, mb *Mailbox) (Folder, error) { return dialIMAP(ctx, mb, nil) }

// DialIMAPWith is DialIMAP trusting roots instead of the system's (a
// private CA; the tests' throwaway one).
func DialIMAPWith(roots *x509.CertPool) Dialer {
	return func(ctx context.Context, mb *Mailbox) (Folder, error) { return dialIMAP(ctx, mb, roots) }
}

func dialIMAP(ctx context.Context, mb *Mailbox, roots *x509.CertPool) (Folder, error) {
	if mb.IMAP.Host == "" {
		return nil, errors.New("no IMAP host configured")
	}
	addr := hostPort(mb.IMAP.Host, mb.IMAP.Port)
	d := &net.Dialer{Timeout: 30 * time.Second}
	cfg := &tls.Config{ServerName: mb.IMAP.Host, MinVersion: tls.VersionTLS12, RootCAs: roots}
	var conn net.Conn
	var err error
	if mb.IMAP.Security == "tls" {
		conn, err = (&tls.Dialer{NetDialer: d, Config: cfg}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("imap connect %s: %w", addr, err)
	}
	c := &imapConn{conn: conn, r: bufio.NewReaderSize(conn, 64<<10)}
	defer c.watch(ctx)()
	fail := func(err error) (Folder, error) {
		conn.Close()
		return nil, err
	}
	greeting, err := c.r.ReadString('\n')
	if err != nil || !strings.HasPrefix(greeting, "* OK") && !strings.HasPrefix(greeting, "* PREAUTH") {
		return fail(fmt.Errorf("imap %s: bad greeting %q: %v", addr, strings.TrimSpace(greeting), err))
	}
	if mb.IMAP.Security == "starttls" {
		if err := c.cmd(nil, "STARTTLS"); err != nil {
			return fail(fmt.Errorf("imap starttls: %w", err))
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail(fmt.Errorf("imap starttls: %w", err))
		}
		c.conn, c.r = tc, bufio.NewReaderSize(tc, 64<<10)
	}
	if err := c.cmd(nil, "LOGIN", astring(mb.IMAP.Username), astring(mb.IMAP.Password)); err != nil {
		return fail(fmt.Errorf("imap login as %s: %w", mb.IMAP.Username, err))
	}
	c.caps = map[string]bool{}
	err = c.cmd(func(line string, _ io.Reader) error {
		if rest, ok := strings.CutPrefix(line, "* CAPABILITY "); ok {
			for _, cp := range strings.Fields(rest) {
				c.caps[strings.ToUpper(cp)] = true
			}
		}
		return nil
	}, "CAPABILITY")
	if err != nil {
		return fail(err)
	}
	return c, nil
}

// watch makes ctx's end interrupt any read or write in progress.
func (c *imapConn) watch(ctx context.Context) func() {
	stop := context.AfterFunc(ctx, func() {
		c.broken.Store(true)
		c.conn.SetDeadline(time.Unix(1, 0))
	})
	return func() { stop() }
}

// literal is a command argument sent as an IMAP literal.
type literal string

// astring quotes s, or makes it a literal when it cannot be quoted.
func astring(s string) any {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return literal(s)
		}
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// cmd sends a command and reads its responses, handing untagged ones
// (and any literal they carry, as a stream) to onUntagged.
func (c *imapConn) cmd(onUntagged func(line string, lit io.Reader) error, name string, args ...any) error {
	c.tag++
	tag := "k" + strconv.Itoa(c.tag)
	var b strings.Builder
	b.WriteString(tag + " " + name)
	for _, a := range args {
		b.WriteByte(' ')
		if lit, ok := a.(literal); ok {
			fmt.Fprintf(&b, "{%d}\r\n", len(lit))
			if _, err := io.WriteString(c.conn, b.String()); err != nil {
				return err
			}
			b.Reset()
			line, err := c.r.ReadString('\n')
			if err != nil {
				return err
			}
			if !strings.HasPrefix(line, "+") {
				return fmt.Errorf("server refused a literal: %s", strings.TrimSpace(line))
			}
			b.WriteString(string(lit))
			continue
		}
		b.WriteString(fmt.Sprint(a))
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(c.conn, b.String()); err != nil {
		return err
	}
	return c.responses(tag, onUntagged)
}

// responses reads until the tagged completion of tag.
func (c *imapConn) responses(tag string, onUntagged func(string, io.Reader) error) error {
	var cbErr error
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			c.broken.Store(true)
			return err
		}
		line = strings.TrimRight(line, "\r\n")
		if rest, ok := strings.CutPrefix(line, tag+" "); ok {
			if cbErr != nil {
				return cbErr
			}
			if !strings.HasPrefix(rest, "OK") {
				return fmt.Errorf("%s", rest)
			}
			return nil
		}
		full, sawLiteral := line, false
		for {
			n, ok := literalSize(line)
			if !ok {
				if onUntagged != nil && cbErr == nil && !sawLiteral {
					cbErr = onUntagged(full, nil)
				}
				break
			}
			sawLiteral = true
			lit := io.LimitReader(c.r, n)
			if onUntagged != nil && cbErr == nil {
				cbErr = onUntagged(full, lit)
			}
			if _, err := io.Copy(io.Discard, lit); err != nil {
				return err
			}
			if line, err = c.r.ReadString('\n'); err != nil {
				return err
			}
			line = strings.TrimRight(line, "\r\n")
			full += " " + line
		}
	}
}

// literalSize reads a trailing {n} (or {n+}).
func literalSize(line string) (int64, bool) {
	if !strings.HasSuffix(line, "}") {
		return 0, false
	}
	i := strings.LastIndexByte(line, '{')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSuffix(line[i+1:len(line)-1], "+"), 10, 64)
	return n, err == nil && n >= 0
}

func (c *imapConn) Select(ctx context.Context, name string) (uint32, error) {
	defer c.watch(ctx)()
	var validity uint32
	err := c.cmd(func(line string, _ io.Reader) error {
		if _, rest, ok := strings.Cut(line, "[UIDVALIDITY "); ok {
			v, _, _ := strings.Cut(rest, "]")
			n, err := strconv.ParseUint(v, 10, 32)
			validity = uint32(n)
			return err
		}
		return nil
	}, "SELECT", astring(EncodeMailboxName(name)))
	if err != nil {
		return 0, fmt.Errorf("imap select %s: %w", name, err)
	}
	return validity, nil
}

func (c *imapConn) UIDsAfter(ctx context.Context, after uint32) ([]uint32, error) {
	defer c.watch(ctx)()
	var out []uint32
	err := c.cmd(func(line string, _ io.Reader) error {
		if rest, ok := strings.CutPrefix(line, "* SEARCH"); ok {
			for _, f := range strings.Fields(rest) {
				n, err := strconv.ParseUint(f, 10, 32)
				// "n:*" always matches the newest message, even below n.
				if err == nil && uint32(n) > after {
					out = append(out, uint32(n))
				}
			}
		}
		return nil
	}, "UID SEARCH UID", fmt.Sprintf("%d:*", after+1))
	if err != nil {
		return nil, fmt.Errorf("imap search: %w", err)
	}
	return out, nil
}

func (c *imapConn) Fetch(ctx context.Context, uid uint32, fn func(io.Reader) error) error {
	defer c.watch(ctx)()
	found := false
	// BODY.PEEK[] leaves \Seen alone: nothing changes on the server
	// until the message is stored.
	err := c.cmd(func(line string, lit io.Reader) error {
		if lit == nil || found || !strings.Contains(strings.ToUpper(line), "BODY[]") {
			return nil
		}
		found = true
		return fn(lit)
	}, "UID FETCH", uid, "(UID BODY.PEEK[])")
	if err != nil {
		return fmt.Errorf("imap fetch %d: %w", uid, err)
	}
	if !found {
		return fmt.Errorf("imap fetch %d: no such message", uid)
	}
	return nil
}

func (c *imapConn) Done(ctx context.Context, uid uint32, moveTo string) error {
	defer c.watch(ctx)()
	if moveTo == "" {
		if err := c.cmd(nil, "UID STORE", uid, `+FLAGS.SILENT (\Seen)`); err != nil {
			return fmt.Errorf("imap flag %d: %w", uid, err)
		}
		return nil
	}
	folder := astring(EncodeMailboxName(moveTo))
	if c.caps["MOVE"] {
		if err := c.cmd(nil, "UID MOVE", uid, folder); err != nil {
			return fmt.Errorf("imap move %d to %s: %w", uid, moveTo, err)
		}
		return nil
	}
	// Without MOVE: copy, mark deleted, expunge (only this message when
	// UIDPLUS allows).
	if err := c.cmd(nil, "UID COPY", uid, folder); err != nil {
		return fmt.Errorf("imap copy %d to %s: %w", uid, moveTo, err)
	}
	if err := c.cmd(nil, "UID STORE", uid, `+FLAGS.SILENT (\Deleted)`); err != nil {
		return err
	}
	if c.caps["UIDPLUS"] {
		return c.cmd(nil, "UID EXPUNGE", uid)
	}
	return c.cmd(nil, "EXPUNGE")
}

func (c *imapConn) Wait(ctx context.Context, max time.Duration) error {
	if !c.caps["IDLE"] {
		return errNoIdle
	}
	defer c.watch(ctx)()
	c.tag++
	tag := "k" + strconv.Itoa(c.tag)
	if _, err := io.WriteString(c.conn, tag+" IDLE\r\n"); err != nil {
		return err
	}
	line, err := c.r.ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+") {
		return fmt.Errorf("imap idle: %s", strings.TrimSpace(line))
	}
	c.conn.SetReadDeadline(time.Now().Add(max))
	for {
		line, err = c.r.ReadString('\n')
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
			break // waited long enough
		}
		if err != nil {
			return err
		}
		if strings.HasSuffix(strings.TrimSpace(line), "EXISTS") {
			break
		}
	}
	c.conn.SetReadDeadline(time.Time{})
	if _, err := io.WriteString(c.conn, "DONE\r\n"); err != nil {
		return err
	}
	return c.responses(tag, nil)
}

func (c *imapConn) Close() error {
	if !c.broken.Load() {
		c.conn.SetDeadline(time.Now().Add(5 * time.Second))
		c.cmd(nil, "LOGOUT")
	}
	return c.conn.Close()
}

// EncodeMailboxName writes a folder name in IMAP's modified UTF-7 (RFC
// 3501 5.1.3), so Chinese folder names such as 已处理 work.
func EncodeMailboxName(s string) string {
	var b strings.Builder
	var run []rune
	flush := func() {
		if len(run) == 0 {
			return
		}
		u := utf16.Encode(run)
		buf := make([]byte, 0, 2*len(u))
		for _, x := range u {
			buf = append(buf, byte(x>>8), byte(x))
		}
		enc := strings.TrimRight(base64.StdEncoding.EncodeToString(buf), "=")
		b.WriteString("&" + strings.ReplaceAll(enc, "/", ",") + "-")
		run = run[:0]
	}
	for _, r := range s {
		switch {
		case r == '&':
			flush()
			b.WriteString("&-")
		case r >= 0x20 && r <= 0x7e:
			flush()
			b.WriteRune(r)
		default:
			run = append(run, r)
		}
	}
	flush()
	return b.String()
}
