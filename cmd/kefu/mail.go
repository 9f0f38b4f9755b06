package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"

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
}

// newMail builds the email channel and registers its ticket hooks (the
// inbound log and reply sending run inside each ticket change's
// transaction) and its job handlers (email.send, email.notify).
func newMail(a *App) *mailChannel {
	m := &mailChannel{Mailboxes: &email.Mailboxes{DB: a.DB, Now: a.Now}}
	m.Outbound = &email.Outbound{DB: a.DB, Now: a.Now, Jobs: a.Jobs, Blobs: a.Tickets.Blobs}
	m.Inbound = &email.Inbound{DB: a.DB, Now: a.Now, Blobs: a.Tickets.Blobs, Tickets: a.Tickets, Customers: a.Customers, Outbound: m.Outbound}
	a.Tickets.Hooks = append(a.Tickets.Hooks, m.Inbound, m.Outbound)
	maps.Copy(a.Runner.Handlers, m.Outbound.Handlers())
	return m
}
