package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"time"

	"github.com/kefu-desk/kefu/internal/email"
)

// MailCmd groups email tools.
type MailCmd struct {
	Parse MailParseCmd `cmd:"" help:"Parse a raw RFC 5322 message and print what Kefu reads from it as JSON."`
}

// MailParseCmd prints the parsed form of a message.
type MailParseCmd struct {
	File string `arg:"" help:"The message file, or - for standard input." type:"path"`
}

// Run parses the file. Anything that is a message at all parses, with
// what went wrong listed under "problems", and exits 0.
func (c *MailParseCmd) Run() error {
	var r io.Reader = os.Stdin
	if c.File != "-" {
		f, err := os.Open(c.File)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	m, err := email.Parse(r)
	if err != nil {
		return fmt.Errorf("%s: %w", c.File, err)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(m)
}

// mailChannel is the email channel as wired: mailbox settings, the inbound
// service (IMAP poller, SMTP receiver and API feed it), and outbound mail
// sent by the job runner.
type mailChannel struct {
	Mailboxes *email.Mailboxes
	Inbound   *email.Inbound
	Outbound  *email.Outbound
	Poller    *email.Poller
	Receiver  *email.Receiver
	smtpLn    net.Listener
}

// MailConfig is the email channel's part of kefu serve.
type MailConfig struct {
	SMTPListen       string        `help:"Also receive mail over SMTP on this address (e.g. :25), for shops whose domain or forward points at Kefu." env:"KEFU_SMTP_LISTEN" placeholder:"ADDR"`
	MailReopenWithin time.Duration `help:"A customer's mail reopens a ticket closed at most this long ago; later mail opens a linked follow-up." default:"336h" env:"KEFU_MAIL_REOPEN_WITHIN"`
	MailMaxBytes     int64         `help:"Largest mail accepted (bytes), over SMTP, IMAP or the API." default:"52428800" env:"KEFU_MAIL_MAX_BYTES"`
	IMAPPoll         time.Duration `help:"How often mailboxes are polled when their server offers no IMAP IDLE." default:"1m" env:"KEFU_IMAP_POLL"`
	SMTPTLSCert      string        `help:"Certificate (PEM) for STARTTLS on the SMTP receiver; without it the receiver offers no TLS." env:"KEFU_SMTP_TLS_CERT" type:"path" placeholder:"FILE"`
	SMTPTLSKey       string        `help:"Private key (PEM) for --smtp-tls-cert." env:"KEFU_SMTP_TLS_KEY" type:"path" placeholder:"FILE"`
}

// configure applies c and binds the SMTP listener, so a taken port fails
// start-up instead of being logged later.
func (m *mailChannel) configure(c MailConfig) error {
	m.Inbound.ReopenWithin, m.Inbound.MaxBytes = c.MailReopenWithin, c.MailMaxBytes
	m.Receiver.MaxBytes, m.Poller.Every = c.MailMaxBytes, c.IMAPPoll
	if c.SMTPListen == "" {
		return nil
	}
	if c.SMTPTLSCert != "" || c.SMTPTLSKey != "" {
		cert, err := tls.LoadX509KeyPair(c.SMTPTLSCert, c.SMTPTLSKey)
		if err != nil {
			return fmt.Errorf("smtp tls: %w", err)
		}
		m.Receiver.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", c.SMTPListen)
	if err != nil {
		return fmt.Errorf("smtp listen: %w", err)
	}
	m.smtpLn = ln
	return nil
}

// run polls the IMAP mailboxes (each under a cluster lease) and serves
// SMTP if configured, until ctx ends.
func (m *mailChannel) run(ctx context.Context) {
	if m.smtpLn != nil {
		srv := m.Receiver.Server(m.smtpLn.Addr().String())
		slog.Info("receiving mail over SMTP", "addr", m.smtpLn.Addr().String())
		go func() {
			if err := srv.Serve(m.smtpLn); err != nil && ctx.Err() == nil {
				slog.Error("smtp receiver", "err", err)
			}
		}()
		context.AfterFunc(ctx, func() { srv.Close() })
	}
	m.Poller.Run(ctx, 30*time.Second)
}

// newMail builds the email channel and registers its ticket hooks (the
// inbound log and reply sending run inside each ticket change's
// transaction) and its job handlers (email.send, email.notify).
func newMail(a *App) *mailChannel {
	m := &mailChannel{Mailboxes: &email.Mailboxes{DB: a.DB, Now: a.Now}}
	m.Outbound = &email.Outbound{DB: a.DB, Now: a.Now, Jobs: a.Jobs, Blobs: a.Tickets.Blobs}
	m.Inbound = &email.Inbound{DB: a.DB, Now: a.Now, Blobs: a.Tickets.Blobs, Tickets: a.Tickets, Customers: a.Customers, Outbound: m.Outbound}
	m.Poller = &email.Poller{Mailboxes: m.Mailboxes, Inbound: m.Inbound, Leases: a.Leases}
	m.Receiver = &email.Receiver{Inbound: m.Inbound, Mailboxes: m.Mailboxes}
	a.Tickets.Hooks = append(a.Tickets.Hooks, m.Inbound, m.Outbound)
	maps.Copy(a.Runner.Handlers, m.Outbound.Handlers())
	return m
}
