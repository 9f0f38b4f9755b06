package email

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
	"unicode"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/blob"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// Outcomes of an inbound mail, as the inbound log records them.
const (
	NewTicket  = "new_ticket" // opened a ticket
	AddedTo    = "message"    // added to an open ticket
	Reopened   = "reopened"   // added to a solved or recently closed ticket, which reopened
	FollowUp   = "follow_up"  // written to a long-closed ticket: a linked follow-up opened
	Bounced    = "bounce"     // a delivery failure report, noted on the ticket it bounced from
	AutoReply  = "auto_reply" // written by a machine; stored, never answered
	Blocked    = "blocked"    // from a blocked customer: kept, no ticket
	Denied     = "denied"     // from a denied sender (or none): kept, no ticket
	Duplicate  = "duplicate"  // already received (same Message-ID or bytes)
	DefaultMax = 50 << 20     // default largest raw message
)

// DefaultReopenWithin is how long after closing a customer's reply still
// reopens a ticket rather than opening a follow-up.
const DefaultReopenWithin = 14 * 24 * time.Hour

// Inbound turns raw mail into tickets, exactly once. Every mail is kept
// as received in the blob store: a large one is written there first, a
// typical one (what the store keeps in the database) with its log entry.
// The inbound_mail row that marks it received is written in the same
// transaction as the ticket message it makes, and keyed by its
// Message-ID, so a mail fetched twice, by two instances, or through two
// mailboxes is stored once.
type Inbound struct {
	DB        *database.DB
	Now       func() time.Time
	Blobs     blob.Store
	Tickets   *ticket.Service
	Customers *customer.Service
	// Outbound sends acknowledgements of new tickets; nil sends none.
	Outbound *Outbound
	// ReopenWithin: see DefaultReopenWithin (zero means the default).
	ReopenWithin time.Duration
	// MaxBytes caps a raw message; zero means DefaultMax.
	MaxBytes int64
	Log      *slog.Logger
}

// Delivery says how a mail arrived.
type Delivery struct {
	MailboxID string // the mailbox it was fetched from or addressed to; "" if unknown
	Source    string // imap, smtp or api
}

func (s *Inbound) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// Receive stores one raw message read from r. It returns once the mail
// is stored (the point at which an SMTP server may answer 250 and an IMAP
// fetcher may flag or move it); a mail received before is not stored
// again and comes back with the outcome duplicate.
func (s *Inbound) Receive(ctx context.Context, d Delivery, r io.Reader) (*Received, error) {
	ctx = kefu.WithActor(ctx, kefu.System)
	max := s.MaxBytes
	if max == 0 {
		max = DefaultMax
	}
	sp, err := spool(ctx, s.Blobs, r, max)
	if err != nil {
		return nil, err
	}
	if sp.Size == 0 {
		return nil, kefu.Errorf(kefu.Invalid, "empty message")
	}
	m, uploads, err := s.parse(ctx, sp, max)
	if err != nil {
		return nil, err
	}
	rec := &Received{ID: kefu.NewID(), MailboxID: d.MailboxID, Source: d.Source, MessageID: m.MessageID, From: strings.ToLower(m.From.Address),
		Subject: m.Subject, RawSHA256: sp.Sum, RawSize: sp.Size, Problems: m.Problems, ReceivedAt: s.Now(), raw: sp.Held}
	key := "sha256:" + sp.Sum
	if m.MessageID != "" {
		key = "mid:" + m.MessageID
	}
	if first, err := s.seen(ctx, key); err != nil || first != nil {
		if err != nil {
			return nil, err
		}
		return s.duplicate(ctx, rec, first)
	}
	err = s.route(ctx, rec, key, m, uploads)
	if kefu.IsCode(err, kefu.Conflict) {
		// Another delivery of the same mail won the race.
		if first, _ := s.seen(ctx, key); first != nil {
			return s.duplicate(ctx, rec, first)
		}
		// Else a ticket message already has this Message-ID without having
		// been received: a mail Kefu sent itself, come back (a Bcc to the
		// mailbox, a forwarding loop). Keep it in the log only.
		rec.Problems = append(rec.Problems, "a ticket message already has this Message-ID (a mail Kefu sent?)")
		err = s.logOnly(ctx, rec, key, Duplicate)
	}
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// parse reads the spooled message: from memory when small, else through
// the skeleton, which streams large parts into the blob store.
func (s *Inbound) parse(ctx context.Context, sp *spooled, max int64) (*Message, []ticket.Upload, error) {
	raw := sp.Raw
	if raw == nil {
		f, err := s.Blobs.Open(ctx, sp.Sum)
		if err != nil {
			return nil, nil, err
		}
		raw, err = buildSkeleton(ctx, s.Blobs, f, max)
		if err != nil {
			// Not multipart, or unreadable as MIME: parse it whole.
			if _, serr := f.Seek(0, io.SeekStart); serr != nil {
				f.Close()
				return nil, nil, serr
			}
			raw, err = io.ReadAll(f)
		}
		f.Close()
		if err != nil {
			return nil, nil, err
		}
	}
	m, err := ParseBytes(raw)
	if err != nil {
		return nil, nil, err
	}
	return m, s.uploads(ctx, m), nil
}

// uploads turns the parsed attachments into ticket uploads, dropping (with
// a problem noted) what the ticket limits refuse, since a customer's mail
// must never be rejected for its attachments: the raw message keeps them.
func (s *Inbound) uploads(ctx context.Context, m *Message) []ticket.Upload {
	lim := s.Tickets.Limits
	if lim.AttachmentBytes == 0 {
		lim = ticket.DefaultLimits
	}
	var out []ticket.Upload
	for i := range m.Attachments {
		a := &m.Attachments[i]
		var content io.Reader = bytes.NewReader(a.Content)
		size := int64(len(a.Content))
		if sum, n, ok := stubbed(a.Content); ok {
			size, a.Size = n, int(n)
			content = &lazyBlob{ctx: ctx, store: s.Blobs, sum: sum}
		}
		name := strings.Map(func(r rune) rune {
			if r == '/' || r == '\\' || r == 0 {
				return '_'
			}
			return r
		}, a.Filename)
		if strings.TrimSpace(name) == "" {
			name = "attachment"
		}
		if len(name) > 255 {
			name = name[:255]
		}
		switch {
		case len(out) >= lim.Attachments:
			m.Problems = append(m.Problems, fmt.Sprintf("attachment %s not attached: more than %d attachments (kept in the original message)", name, lim.Attachments))
		case size > lim.AttachmentBytes:
			m.Problems = append(m.Problems, fmt.Sprintf("attachment %s not attached: larger than %d MB (kept in the original message)", name, lim.AttachmentBytes>>20))
		case deniedType(lim, a.ContentType):
			m.Problems = append(m.Problems, fmt.Sprintf("attachment %s not attached: %s files are not accepted (kept in the original message)", name, a.ContentType))
		default:
			out = append(out, ticket.Upload{Filename: name, ContentType: a.ContentType, Inline: a.Inline, ContentID: a.ContentID, Content: content})
		}
		a.Content = nil
	}
	return out
}

func deniedType(lim ticket.Limits, ct string) bool {
	for _, d := range lim.DeniedTypes {
		if strings.EqualFold(d, ct) {
			return true
		}
	}
	return false
}

// lazyBlob opens a stored part only when the ticket service reads it.
type lazyBlob struct {
	ctx   context.Context
	store blob.Store
	sum   string
	rc    io.ReadCloser
}

func (l *lazyBlob) Read(p []byte) (int, error) {
	if l.rc == nil {
		f, err := l.store.Open(l.ctx, l.sum)
		if err != nil {
			return 0, err
		}
		l.rc = f
	}
	n, err := l.rc.Read(p)
	if err == io.EOF {
		l.rc.Close()
	}
	return n, err
}

// seen returns the log entry that first received the mail with key.
func (s *Inbound) seen(ctx context.Context, key string) (*Received, error) {
	list, err := listReceived(ctx, s.DB.Read, `WHERE dedup_key = $1`, key)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return list[0], nil
}

func (s *Inbound) duplicate(ctx context.Context, rec, first *Received) (*Received, error) {
	rec.Outcome, rec.TicketID, rec.MessageRef = Duplicate, first.TicketID, first.MessageRef
	rec.Problems = append(rec.Problems, "already received as inbound "+first.ID)
	return rec, s.DB.InTx(ctx, func(tx *sql.Tx) error { return insertReceived(ctx, tx, rec, "") })
}

// route decides what the mail is and stores it.
func (s *Inbound) route(ctx context.Context, rec *Received, key string, m *Message, uploads []ticket.Upload) error {
	if m.Bounce != nil {
		return s.bounce(ctx, rec, key, m)
	}
	if _, msg := customer.Normalize(customer.Email, rec.From); rec.From == "" || msg != "" {
		rec.Problems = append(rec.Problems, "no usable sender address")
		return s.logOnly(ctx, rec, key, Denied)
	}
	if no, err := denied(ctx, s.DB.Read, rec.From); err != nil || no {
		if err != nil {
			return err
		}
		return s.logOnly(ctx, rec, key, Denied)
	}
	cust, err := s.Customers.FindByIdentity(ctx, customer.Email, rec.From)
	if err != nil && !kefu.IsCode(err, kefu.NotFound) {
		return err
	}
	if cust != nil && cust.Blocked {
		return s.logOnly(ctx, rec, key, Blocked)
	}
	threadID, closed, err := s.thread(ctx, m, cust)
	if err != nil {
		return err
	}
	nm := ticket.NewMessage{Kind: ticket.FromCustomer, Text: m.Text, HTML: Sanitize(m.HTML), ExternalID: externalID(m, key),
		Attachments: uploads, Automated: m.AutoReply}
	s.fit(&nm, rec)
	p := &pending{rec: rec, key: key, externalID: nm.ExternalID, auto: m.AutoReply, threaded: threadID != "", lang: language(cust, m)}
	ctx = context.WithValue(ctx, pendingKey{}, p)
	if threadID != "" {
		if m.AutoReply && closed {
			// An out-of-office answer to a closed ticket is kept in the
			// log only: it must not open a follow-up.
			rec.TicketID = threadID
			return s.logOnly(ctx, rec, key, AutoReply)
		}
		nm.ReopenClosedWithin = s.ReopenWithin
		if nm.ReopenClosedWithin == 0 {
			nm.ReopenClosedWithin = DefaultReopenWithin
		}
		if m.AutoReply {
			nm.ReopenClosedWithin = 0
		}
		_, _, err = s.Tickets.AddMessage(ctx, threadID, nm)
	} else {
		subject := strings.TrimSpace(m.Subject)
		if subject == "" {
			subject = "(no subject)"
		}
		if len(subject) > 500 {
			subject = cutBytes(subject, 500)
		}
		// A display name longer than a customer name may be is cut, not
		// a reason to refuse the mail.
		_, err = s.Tickets.Create(ctx, ticket.NewTicket{Subject: subject, Channel: "email",
			Customer: ticket.CustomerRef{Email: rec.From, Name: cutBytes(m.From.Name, 200)}, Message: nm})
	}
	if err == nil && !p.done {
		err = fmt.Errorf("email: the inbound hook did not run; register Inbound in ticket.Service.Hooks")
	}
	return err
}

// fit keeps the message within the ticket limits: text always filled,
// over-long bodies cut (the raw message keeps them).
func (s *Inbound) fit(nm *ticket.NewMessage, rec *Received) {
	lim := s.Tickets.Limits
	if lim.MessageBytes == 0 {
		lim = ticket.DefaultLimits
	}
	if strings.TrimSpace(nm.Text) == "" {
		nm.Text = "(no text)"
	}
	if len(nm.Text) > lim.MessageBytes {
		nm.Text = cutBytes(nm.Text, lim.MessageBytes)
		rec.Problems = append(rec.Problems, "text cut to the message limit (the original message keeps it all)")
	}
	if len(nm.HTML) > lim.MessageBytes {
		nm.HTML = ""
		rec.Problems = append(rec.Problems, "HTML body over the message limit dropped (the original message keeps it)")
	}
}

func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && !utf8Start(s[n]) {
		n--
	}
	return s[:n]
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// externalID is what the ticket message records as its channel id: the
// Message-ID, which threading matches replies against.
func externalID(m *Message, key string) string {
	if m.MessageID != "" {
		return m.MessageID
	}
	return key
}

// language picks the acknowledgement language: the customer's, else
// Chinese when the mail is written in it.
func language(c *customer.Customer, m *Message) string {
	if c != nil && strings.HasPrefix(c.Language, "en") {
		return "en"
	}
	if c != nil && strings.HasPrefix(c.Language, "zh") {
		return "zh-CN"
	}
	for _, r := range m.Subject + m.Text {
		if unicode.Is(unicode.Han, r) {
			return "zh-CN"
		}
	}
	return "en"
}

// bounce notes a delivery failure on the ticket whose mail bounced and
// marks the address failing; it never opens a ticket.
func (s *Inbound) bounce(ctx context.Context, rec *Received, key string, m *Message) error {
	b := m.Bounce
	tid, err := s.ticketOf(ctx, []string{b.BouncedMessageID})
	if err != nil {
		return err
	}
	if tid == "" {
		err = s.logOnly(ctx, rec, key, Bounced)
	} else {
		text := fmt.Sprintf("Delivery to %s failed (%s): %s", orUnknown(b.Recipient), b.Status, b.Reason)
		if strings.HasPrefix(b.Status, "4") {
			text = fmt.Sprintf("Delivery to %s is delayed and still being retried (%s): %s", orUnknown(b.Recipient), b.Status, b.Reason)
		}
		p := &pending{rec: rec, key: key, externalID: externalID(m, key), bounce: true}
		_, _, err = s.Tickets.AddMessage(context.WithValue(ctx, pendingKey{}, p), tid, ticket.NewMessage{Kind: ticket.Note, Text: text, ExternalID: p.externalID})
		if kefu.IsCode(err, kefu.Invalid) {
			// A closed ticket takes no notes: the log still links it.
			rec.TicketID = tid
			err = s.logOnly(ctx, rec, key, Bounced)
		}
	}
	if err != nil {
		return err
	}
	// Only a permanent failure means the address is dead; 4.x.x is late.
	if b.Recipient != "" && strings.HasPrefix(b.Status, "5") {
		if err := s.Customers.MarkFailing(ctx, customer.Email, b.Recipient, true); err != nil && !kefu.IsCode(err, kefu.Invalid) {
			s.log().Warn("mark address failing", "address", b.Recipient, "err", err)
		}
	}
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown recipient"
	}
	return s
}

// logOnly records a mail that becomes no ticket message.
func (s *Inbound) logOnly(ctx context.Context, rec *Received, key, outcome string) error {
	rec.Outcome = outcome
	return s.DB.InTx(ctx, func(tx *sql.Tx) error { return insertReceived(ctx, tx, rec, key) })
}
