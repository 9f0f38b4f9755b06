package email

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/kefu-desk/kefu"
)

// Receiver is Kefu's own SMTP server, for shops that point a domain's MX
// (or a forward) at Kefu. It accepts mail only for configured, enabled
// mailboxes and answers 250 only once the mail is stored.
type Receiver struct {
	Inbound   *Inbound
	Mailboxes *Mailboxes
	// Domain is the name the server greets with.
	Domain string
	// MaxBytes caps a message (SIZE); zero means DefaultMax.
	MaxBytes int64
	// TLS, when set, is offered to senders through STARTTLS.
	TLS *tls.Config
	Log *slog.Logger
}

// Server returns a go-smtp server for addr; call ListenAndServe (or
// Serve) and Close.
func (r *Receiver) Server(addr string) *smtp.Server {
	s := smtp.NewServer(r)
	s.Addr = addr
	s.Domain = r.Domain
	if s.Domain == "" {
		s.Domain = "kefu"
	}
	s.MaxMessageBytes = r.maxBytes()
	s.MaxRecipients = 50
	s.ReadTimeout = 5 * time.Minute
	s.WriteTimeout = time.Minute
	s.EnableSMTPUTF8 = true
	s.TLSConfig = r.TLS
	return s
}

func (r *Receiver) maxBytes() int64 {
	if r.MaxBytes == 0 {
		return DefaultMax
	}
	return r.MaxBytes
}

// NewSession starts a conversation (smtp.Backend).
func (r *Receiver) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{r: r, remote: c.Conn().RemoteAddr().String()}, nil
}

type session struct {
	r       *Receiver
	remote  string
	from    string
	mailbox string // the first recipient mailbox's id
}

func (s *session) Reset()        { s.from, s.mailbox = "", "" }
func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

var errNoMailbox = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox here"}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	mb, err := s.r.Mailboxes.ByAddress(context.Background(), to)
	if kefu.IsCode(err, kefu.NotFound) || err == nil && !mb.Enabled {
		return errNoMailbox
	}
	if err != nil {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "temporary failure, try again later"}
	}
	if s.mailbox == "" {
		s.mailbox = mb.ID
	}
	return nil
}

// Data stores the message; the client hears 250 only after the commit.
// A message sent to two of the shop's mailboxes is stored once.
func (s *session) Data(rd io.Reader) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rec, err := s.r.Inbound.Receive(ctx, Delivery{MailboxID: s.mailbox, Source: "smtp"}, rd)
	var tooBig *smtp.SMTPError
	switch {
	case err == nil:
		s.r.log().Info("mail received", "via", "smtp", "remote", s.remote, "from", s.from, "outcome", rec.Outcome, "ticket", rec.TicketID)
		return nil
	case kefu.IsCode(err, kefu.TooLarge), errors.As(err, &tooBig), errors.Is(err, smtp.ErrDataTooLarge):
		io.Copy(io.Discard, rd)
		return smtp.ErrDataTooLarge
	case kefu.IsCode(err, kefu.Invalid):
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: strings.TrimSpace(err.Error())}
	default:
		io.Copy(io.Discard, rd)
		s.r.log().Error("storing received mail", "remote", s.remote, "err", err)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "could not store the message, try again later"}
	}
}

func (r *Receiver) log() *slog.Logger {
	if r.Log == nil {
		return slog.Default()
	}
	return r.Log
}
