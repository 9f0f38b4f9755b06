package email_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/email"
	"github.com/kefu-desk/kefu/internal/jobs"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// End-to-end tests against real servers on loopback: Dovecot (IMAP) and
// Postfix (SMTP, delivering into Dovecot), started by .ci/mailservers.sh,
// and swaks as the sending client.

func mailServers(t *testing.T) (imapAddr, smtpAddr string) {
	imapAddr, smtpAddr = os.Getenv("KEFU_TEST_IMAP_ADDR"), os.Getenv("KEFU_TEST_SMTP_ADDR")
	if imapAddr == "" || smtpAddr == "" {
		if os.Getenv("KEFU_TEST_REQUIRE_MAIL") != "" {
			t.Fatal("KEFU_TEST_REQUIRE_MAIL is set but KEFU_TEST_IMAP_ADDR/KEFU_TEST_SMTP_ADDR are not: start the servers with .ci/mailservers.sh")
		}
		t.Skip(`no test mail servers: run eval "$(.ci/mailservers.sh)" as root (Debian packages dovecot-imapd, dovecot-lmtpd, postfix) to run the end-to-end mail tests`)
	}
	return imapAddr, smtpAddr
}

// imapAdmin is the test's own IMAP session for setting up and checking
// folders (CREATE, APPEND, STATUS), independent of the client under test.
type imapAdmin struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	n    int
}

func imapLogin(t *testing.T, addr, user, pass string) *imapAdmin {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	a := &imapAdmin{t: t, conn: conn, r: bufio.NewReader(conn)}
	t.Cleanup(func() { conn.Close() })
	if _, err := a.r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	a.do(fmt.Sprintf("LOGIN %q %q", user, pass), nil)
	return a
}

// do runs one command (with lit as a literal appended) and returns its
// untagged responses.
func (a *imapAdmin) do(cmd string, lit []byte) []string {
	a.t.Helper()
	a.n++
	tag := fmt.Sprintf("t%d", a.n)
	if lit != nil {
		fmt.Fprintf(a.conn, "%s %s {%d}\r\n", tag, cmd, len(lit))
		if line, err := a.r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "+") {
			a.t.Fatalf("%s: %q %v", cmd, line, err)
		}
		a.conn.Write(append(lit, '\r', '\n'))
	} else {
		fmt.Fprintf(a.conn, "%s %s\r\n", tag, cmd)
	}
	var out []string
	for {
		line, err := a.r.ReadString('\n')
		if err != nil {
			a.t.Fatalf("%s: %v", cmd, err)
		}
		line = strings.TrimRight(line, "\r\n")
		if rest, ok := strings.CutPrefix(line, tag+" "); ok {
			if !strings.HasPrefix(rest, "OK") {
				a.t.Fatalf("%s: %s", cmd, rest)
			}
			return out
		}
		out = append(out, line)
	}
}

// status returns a folder's message and unseen counts.
func (a *imapAdmin) status(folder string) (messages, unseen int) {
	a.t.Helper()
	for _, l := range a.do(fmt.Sprintf("STATUS %q (MESSAGES UNSEEN)", folder), nil) {
		f := strings.Fields(strings.NewReplacer("(", " ", ")", " ").Replace(l))
		for i := 0; i+1 < len(f); i++ {
			n, _ := strconv.Atoi(f[i+1])
			switch f[i] {
			case "MESSAGES":
				messages = n
			case "UNSEEN":
				unseen = n
			}
		}
	}
	return messages, unseen
}

// checkedFolder wraps the real Folder and fails the test if a message is
// flagged or moved before the inbound log holds it.
type checkedFolder struct {
	email.Folder
	t     *testing.T
	db    *database.DB
	last  string // Message-ID of the message fetched last
	dones int
}

func (f *checkedFolder) Fetch(ctx context.Context, uid uint32, fn func(io.Reader) error) error {
	return f.Folder.Fetch(ctx, uid, func(r io.Reader) error {
		raw, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		_, id, _ := strings.Cut(string(raw), "Message-ID: <")
		f.last, _, _ = strings.Cut(id, ">")
		return fn(strings.NewReader(string(raw)))
	})
}

func (f *checkedFolder) Done(ctx context.Context, uid uint32, moveTo string) error {
	var n int
	if err := f.db.Read.QueryRow(`SELECT count(*) FROM inbound_mail WHERE message_id = $1`, f.last).Scan(&n); err != nil || n == 0 {
		f.t.Errorf("uid %d (%s) flagged or moved before it was stored (%v)", uid, f.last, err)
	}
	f.dones++
	return f.Folder.Done(ctx, uid, moveTo)
}

func TestIMAPImportFromDovecot(t *testing.T) {
	imapAddr, _ := mailServers(t)
	host, port, _ := net.SplitHostPort(imapAddr)
	portN, _ := strconv.Atoi(port)
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		id := kefu.NewID()
		run := id[len(id)-8:]
		inbox, done, flagged := "t-"+run, "t-"+run+"-已处理", "t-"+run+"-flag"
		admin := imapLogin(t, imapAddr, "kefu@test.local", "kefu-pass")
		for _, f := range []string{inbox, done, flagged} {
			admin.do(fmt.Sprintf("CREATE %q", encodeUTF7(f)), nil)
		}
		first := mail("王芳 <wang@example.cn>", "退货申请", run+"-1@example.cn", "我要退货")
		admin.do(fmt.Sprintf("APPEND %q", inbox), []byte(first))
		admin.do(fmt.Sprintf("APPEND %q", inbox), []byte(first)) // the same mail twice
		admin.do(fmt.Sprintf("APPEND %q", inbox), []byte(mail("li@example.cn", "Order 88001", run+"-2@example.cn", "Where is my parcel?")))
		admin.do(fmt.Sprintf("APPEND %q", flagged), []byte(mail("zhao@example.cn", "发票", run+"-3@example.cn", "请开发票")))

		settings := email.IMAPSettings{Host: host, Port: portN, Security: "none", Username: "kefu@test.local", Password: "kefu-pass",
			Folder: inbox, AfterImport: "move", MoveTo: done}
		mb, err := h.mailboxes.Update(h.ctx, h.mailbox.ID, 0, email.Mailbox{Address: h.mailbox.Address, Enabled: true, IMAP: settings})
		if err != nil {
			t.Fatal(err)
		}
		var folder *checkedFolder
		p := &email.Poller{Mailboxes: h.mailboxes, Inbound: h.in, Log: quiet}
		ctx, cancel := context.WithTimeout(h.ctx, 30*time.Second)
		defer cancel()
		f, err := email.DialIMAP(ctx, mb)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		folder = &checkedFolder{Folder: f, t: t, db: db}
		n, err := p.Import(ctx, mb, folder)
		if err != nil {
			t.Fatal(err)
		}
		if n != 3 || folder.dones != 3 {
			t.Fatalf("imported %d, done %d; want 3 each", n, folder.dones)
		}
		if msgs, _ := admin.status(inbox); msgs != 0 {
			t.Errorf("%d messages left in %s, want all moved", msgs, inbox)
		}
		if msgs, _ := admin.status(encodeUTF7(done)); msgs != 3 {
			t.Errorf("%d messages in %s, want 3", msgs, done)
		}
		if got := ticketCount(t, h); got != 2 {
			t.Errorf("%d tickets, want 2 (the repeated mail is a duplicate)", got)
		}
		stored, _ := h.mailboxes.Get(h.ctx, mb.ID)
		if stored.LastUID != 3 || stored.UIDValidity == 0 || stored.LastError != "" {
			t.Errorf("position: uidvalidity %d, last uid %d, error %q", stored.UIDValidity, stored.LastUID, stored.LastError)
		}
		// A second pass finds nothing new.
		if n, err := p.Import(ctx, stored, folder); err != nil || n != 0 {
			t.Errorf("second pass imported %d: %v", n, err)
		}

		// Flag mode: the message stays, marked read, after it is stored.
		settings.Folder, settings.AfterImport, settings.MoveTo = flagged, "flag", ""
		if mb, err = h.mailboxes.Update(h.ctx, mb.ID, 0, email.Mailbox{Address: mb.Address, Enabled: true, IMAP: settings}); err != nil {
			t.Fatal(err)
		}
		if _, unseen := admin.status(flagged); unseen != 1 {
			t.Fatalf("flag folder starts with %d unseen", unseen)
		}
		if n, err := p.Import(ctx, mb, folder); err != nil || n != 1 {
			t.Fatalf("flag mode imported %d: %v", n, err)
		}
		if msgs, unseen := admin.status(flagged); msgs != 1 || unseen != 0 {
			t.Errorf("flag folder: %d messages, %d unseen; want 1, 0", msgs, unseen)
		}
	})
}

// encodeUTF7 writes a folder name in IMAP's modified UTF-7 for the admin
// session (the client under test has its own encoder).
func encodeUTF7(s string) string {
	if s == strings.ToValidUTF8(s, "") && strings.IndexFunc(s, func(r rune) bool { return r > 0x7e }) < 0 {
		return s
	}
	return email.EncodeMailboxName(s)
}

func TestSMTPReceiverWithSwaks(t *testing.T) {
	mailServers(t)
	swaks, err := exec.LookPath("swaks")
	if err != nil {
		t.Fatal("swaks is not installed (apt-get install swaks)")
	}
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := (&email.Receiver{Inbound: h.in, Mailboxes: h.mailboxes, MaxBytes: 1 << 20, TLS: selfSigned(t), Log: quiet}).Server(ln.Addr().String())
		go srv.Serve(ln)
		defer srv.Close()
		file := filepath.Join(t.TempDir(), "mail.eml")
		os.WriteFile(file, []byte(mail("王芳 <wang@example.cn>", "尺码问题", "swaks-1@example.cn", "连衣裙偏小")), 0o600)
		send := func(to string, extra ...string) error {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, swaks, append([]string{"--server", ln.Addr().String(), "--to", to, "--from", "wang@example.cn",
				"--data", file, "--timeout", "10"}, extra...)...).CombinedOutput()
			if err != nil {
				return fmt.Errorf("%v: %s", err, out)
			}
			return nil
		}
		if err := send("service@shop.example.cn"); err != nil {
			t.Fatal(err)
		}
		if got := ticketCount(t, h); got != 1 {
			t.Fatalf("%d tickets after the SMTP delivery", got)
		}
		if err := send("nobody@shop.example.cn"); err == nil || !strings.Contains(err.Error(), "550") {
			t.Errorf("mail to an unknown mailbox: %v", err)
		}
		// A resend (the relay did not hear our 250), here over STARTTLS,
		// stores nothing new.
		if err := send("service@shop.example.cn", "--tls"); err != nil {
			t.Fatal(err)
		}
		if got := ticketCount(t, h); got != 1 {
			t.Errorf("%d tickets after a resend", got)
		}
	})
}

func TestReplyThroughPostfixReadBackOverIMAP(t *testing.T) {
	imapAddr, smtpAddr := mailServers(t)
	ihost, iport, _ := net.SplitHostPort(imapAddr)
	shost, sport, _ := net.SplitHostPort(smtpAddr)
	ip, _ := strconv.Atoi(iport)
	sp, _ := strconv.Atoi(sport)
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		h.out.Transport = email.SMTP{Blobs: h.blobs, Timeout: 10 * time.Second}
		mb, err := h.mailboxes.Update(h.ctx, h.mailbox.ID, 0, email.Mailbox{Address: "kefu@test.local", DisplayName: "小店客服", Enabled: true,
			IsDefault: true, SMTP: email.SMTPSettings{Host: shost, Port: sp, Security: "none"}, Signature: "小店客服"})
		if err != nil {
			t.Fatal(err)
		}
		rec := h.receive(t, mail("Customer <customer@test.local>", "Broken zip", kefu.NewID()+"@test.local", "The zip broke on day one."), mb.ID)
		tk, _ := h.tickets.Get(h.ctx, rec.TicketID)
		_, reply, err := h.tickets.AddMessage(h.ctx, tk.ID, ticket.NewMessage{Kind: ticket.Reply, Text: "Sorry! A new one is on its way.",
			HTML: "<p>Sorry! A new one is on its way.</p>", Files: []ticket.File{{Filename: "label.txt", ContentType: "text/plain", Data: []byte("RMA-1")}}})
		if err != nil {
			t.Fatal(err)
		}
		h.runJobs(t)
		wantID := reply.ID + "@test.local"

		customer := &email.Mailbox{IMAP: email.IMAPSettings{Host: ihost, Port: ip, Security: "none", Username: "customer@test.local", Password: "customer-pass", Folder: "INBOX"}}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var got *email.Message
		for got == nil && ctx.Err() == nil {
			f, err := email.DialIMAP(ctx, customer)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Select(ctx, "INBOX"); err != nil {
				t.Fatal(err)
			}
			uids, _ := f.UIDsAfter(ctx, 0)
			for _, uid := range uids {
				f.Fetch(ctx, uid, func(r io.Reader) error {
					m, err := email.Parse(r)
					if err == nil && m.MessageID == wantID {
						got = m
					}
					return err
				})
			}
			f.Close()
			if got == nil {
				time.Sleep(100 * time.Millisecond) // Postfix delivers asynchronously
			}
		}
		if got == nil {
			t.Fatalf("the reply %s never reached customer@test.local (see %s/postfix.log)", wantID, os.Getenv("KEFU_TEST_MAIL_LOGS"))
		}
		if got.InReplyTo != rec.MessageID || got.Subject != "Re: Broken zip ["+tk.Key+"]" || got.From.Address != "kefu@test.local" ||
			!strings.Contains(got.Text, "on its way") || !strings.Contains(got.Text, "小店客服") || !strings.Contains(got.HTML, "<p>Sorry!") ||
			len(got.Attachments) != 1 || got.Attachments[0].Filename != "label.txt" {
			t.Errorf("delivered reply: subject %q in-reply-to %q from %v text %q attachments %+v", got.Subject, got.InReplyTo, got.From, got.Text, got.Attachments)
		}
	})
}

// The poller as kefu serve runs it: under a lease, waiting in IDLE, so a
// mail appended while it waits is imported within moments.
func TestPollerIdlesAndImports(t *testing.T) {
	imapAddr, _ := mailServers(t)
	host, port, _ := net.SplitHostPort(imapAddr)
	portN, _ := strconv.Atoi(port)
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		id := kefu.NewID()
		folder := "idle-" + id[len(id)-8:]
		admin := imapLogin(t, imapAddr, "kefu@test.local", "kefu-pass")
		admin.do(fmt.Sprintf("CREATE %q", folder), nil)
		admin.do(fmt.Sprintf("APPEND %q", folder), []byte(mail("a@example.cn", "一", folder+"-1@example.cn", "第一封")))
		_, err := h.mailboxes.Update(h.ctx, h.mailbox.ID, 0, email.Mailbox{Address: h.mailbox.Address, Enabled: true, IMAP: email.IMAPSettings{
			Host: host, Port: portN, Security: "none", Username: "kefu@test.local", Password: "kefu-pass", Folder: folder}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		p := &email.Poller{Mailboxes: h.mailboxes, Inbound: h.in, Leases: &jobs.Leases{DB: db, Now: func() time.Time { return time.Now().UTC() }},
			Every: time.Hour, IdleFor: 20 * time.Second, Log: quiet}
		go func() { p.Run(ctx, time.Hour); close(done) }()
		defer func() { cancel(); <-done }()
		waitTickets := func(n int) {
			t.Helper()
			deadline := time.Now().Add(10 * time.Second)
			for ticketCount(t, h) < n {
				if time.Now().After(deadline) {
					t.Fatalf("still %d tickets, want %d", ticketCount(t, h), n)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		st := time.Now()
		waitTickets(1)
		t.Logf("first import %v", time.Since(st))
		// The poll interval is an hour: only IDLE can bring this one in.
		admin.do(fmt.Sprintf("APPEND %q", folder), []byte(mail("b@example.cn", "二", folder+"-2@example.cn", "第二封")))
		st = time.Now()
		waitTickets(2)
		t.Logf("idle import %v", time.Since(st))
		// The mail is flagged on the server only once it is stored, so
		// the flag follows the ticket by a moment.
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, unseen := admin.status(folder)
			if unseen == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%d unseen 5 s after import", unseen)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// selfSigned makes a throwaway certificate for the receiver's STARTTLS.
func selfSigned(t *testing.T) *tls.Config {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// TLS and STARTTLS against Dovecot and Postfix, with verification on: the
// test CA is trusted explicitly, and without it the connections fail.
func TestTLSWithDovecotAndPostfix(t *testing.T) {
	imapAddr, smtpAddr := mailServers(t)
	imapsAddr, caFile := os.Getenv("KEFU_TEST_IMAPS_ADDR"), os.Getenv("KEFU_TEST_MAIL_CA")
	if imapsAddr == "" || caFile == "" {
		t.Fatal("KEFU_TEST_IMAPS_ADDR and KEFU_TEST_MAIL_CA are not set: restart the servers with .ci/mailservers.sh")
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	settings := func(addr, security string) *email.Mailbox {
		host, port, _ := net.SplitHostPort(addr)
		n, _ := strconv.Atoi(port)
		return &email.Mailbox{Address: "kefu@test.local",
			IMAP: email.IMAPSettings{Host: host, Port: n, Security: security, Username: "kefu@test.local", Password: "kefu-pass", Folder: "INBOX"},
			SMTP: email.SMTPSettings{Host: host, Port: n, Security: security}}
	}
	for _, tc := range []struct{ addr, security string }{{imapsAddr, "tls"}, {imapAddr, "starttls"}} {
		mb := settings(tc.addr, tc.security)
		f, err := email.DialIMAPWith(roots)(ctx, mb)
		if err != nil {
			t.Fatalf("imap %s: %v", tc.security, err)
		}
		if _, err := f.Select(ctx, "INBOX"); err != nil {
			t.Errorf("imap %s select: %v", tc.security, err)
		}
		f.Close()
		if f, err := email.DialIMAP(ctx, mb); err == nil {
			f.Close()
			t.Errorf("imap %s: a certificate from an unknown CA was accepted", tc.security)
		}
	}
	mb := settings(smtpAddr, "starttls")
	if err := (email.SMTP{RootCAs: roots, Timeout: 10 * time.Second}).Check(ctx, mb); err != nil {
		t.Errorf("smtp starttls: %v", err)
	}
	if err := (email.SMTP{Timeout: 10 * time.Second}).Check(ctx, mb); err == nil {
		t.Error("smtp starttls: a certificate from an unknown CA was accepted")
	}
}
