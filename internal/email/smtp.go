package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/kefu-desk/kefu/internal/blob"
	mail "github.com/wneessen/go-mail"
)

// Transport delivers a composed mail from a mailbox. SMTP is the real
// one; tests may record instead.
type Transport interface {
	Send(ctx context.Context, mb *Mailbox, m *Outgoing) error
}

// SMTP sends through each mailbox's SMTP server with go-mail.
type SMTP struct {
	Blobs blob.Store
	// Timeout bounds connecting and each command; default 30s.
	Timeout time.Duration
	// RootCAs verify servers' certificates; nil means the system's.
	RootCAs *x509.CertPool
}

func (s SMTP) client(mb *Mailbox) (*mail.Client, error) {
	sm := mb.SMTP
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	opts := []mail.Option{mail.WithPort(sm.Port), mail.WithTimeout(timeout), mail.WithHELO(helo(mb))}
	switch sm.Security {
	case "tls":
		opts = append(opts, mail.WithSSL(), mail.WithTLSConfig(&tls.Config{ServerName: sm.Host, MinVersion: tls.VersionTLS12, RootCAs: s.RootCAs}))
	case "starttls":
		// Mandatory: a server that drops STARTTLS must not get the
		// password in the clear.
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory), mail.WithTLSConfig(&tls.Config{ServerName: sm.Host, MinVersion: tls.VersionTLS12, RootCAs: s.RootCAs}))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if sm.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(sm.Username), mail.WithPassword(sm.Password))
	}
	return mail.NewClient(sm.Host, opts...)
}

func helo(mb *Mailbox) string { return mb.Domain() }

// Send composes m as multipart text and HTML with its attachments and
// hands it to the mailbox's server.
func (s SMTP) Send(ctx context.Context, mb *Mailbox, m *Outgoing) error {
	msg := mail.NewMsg()
	if err := msg.FromFormat(m.From.Name, m.From.Address); err != nil {
		return permanentf("from %q: %v", m.From.Address, err)
	}
	if err := msg.AddToFormat(m.To.Name, m.To.Address); err != nil {
		return permanentf("to %q: %v", m.To.Address, err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(m.MessageID)
	msg.SetDate()
	if m.InReplyTo != "" {
		msg.SetGenHeader(mail.HeaderInReplyTo, "<"+m.InReplyTo+">")
	}
	if len(m.References) > 0 {
		msg.SetGenHeader(mail.HeaderReferences, "<"+strings.Join(m.References, "> <")+">")
	}
	if m.Automatic {
		msg.SetGenHeader(mail.Header("Auto-Submitted"), "auto-replied")
	}
	// Always both renditions: clients that prefer HTML then show ours
	// instead of guessing line breaks in the text.
	html := m.HTML
	if html == "" {
		html = `<div style="white-space:pre-wrap">` + escapeHTML(m.Text) + "</div>"
	}
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(mail.TypeTextHTML, html)
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	for _, a := range m.Attachments {
		f, err := s.Blobs.Open(ctx, a.SHA256)
		if err != nil {
			return err
		}
		closers = append(closers, f)
		opts := []mail.FileOption{mail.WithFileContentType(mail.ContentType(a.ContentType))}
		if a.Inline && a.ContentID != "" {
			opts = append(opts, mail.WithFileContentID(a.ContentID))
			err = msg.EmbedReader(a.Filename, f, opts...)
		} else {
			err = msg.AttachReader(a.Filename, f, opts...)
		}
		if err != nil {
			return err
		}
	}
	c, err := s.client(mb)
	if err != nil {
		return permanentf("smtp settings of %s: %v", mb.Address, err)
	}
	return c.DialAndSendWithContext(ctx, msg)
}

// Check connects to the mailbox's SMTP server, says EHLO, starts TLS and
// authenticates as configured, and hangs up.
func (s SMTP) Check(ctx context.Context, mb *Mailbox) error {
	if mb.SMTP.Host == "" {
		return fmt.Errorf("no SMTP host configured")
	}
	c, err := s.client(mb)
	if err != nil {
		return err
	}
	if err := c.DialWithContext(ctx); err != nil {
		return err
	}
	return c.Close()
}

// hostPort joins a host and port for dialing.
func hostPort(host string, port int) string { return net.JoinHostPort(host, fmt.Sprint(port)) }
