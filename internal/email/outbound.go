package email

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/blob"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/jobs"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// Job kinds the email channel handles.
const (
	SendKind   = "email.send"   // a reply or acknowledgement in outbound_mail
	NotifyKind = "email.notify" // a notice to a staff member (the SLA engine enqueues these)
)

// DefaultAckLimit is how many automatic mails (acknowledgements) one
// address gets per hour at most, so two auto-responders cannot loop.
const DefaultAckLimit = 5

// sendAttempts lets a send ride out an SMTP outage of about eleven hours
// (jobs.Backoff) before it is reported failed.
const sendAttempts = 20

// Outbound sends mail through the job queue: the row in outbound_mail and
// its job are written in the transaction of the reply that causes them,
// so a crash or an SMTP outage never loses a reply.
type Outbound struct {
	DB    *database.DB
	Now   func() time.Time
	Jobs  *jobs.Queue
	Blobs blob.Store
	// Transport delivers; default SMTP with each mailbox's settings.
	Transport Transport
	// AckLimit: see DefaultAckLimit (zero means the default).
	AckLimit int
	Log      *slog.Logger
}

// Sent is one entry of the outbound log.
type Sent struct {
	ID        string     `json:"id"`
	JobID     string     `json:"job_id"`
	Kind      string     `json:"kind" enum:"reply,ack,notice"`
	MailboxID string     `json:"mailbox_id,omitempty"`
	TicketID  string     `json:"ticket_id,omitempty"`
	MessageID string     `json:"message_id" doc:"The Message-ID it is sent with, without angle brackets"`
	To        string     `json:"to"`
	Subject   string     `json:"subject"`
	State     string     `json:"state" enum:"pending,sent,failed"`
	LastError string     `json:"last_error"`
	CreatedAt time.Time  `json:"created_at"`
	SentAt    *time.Time `json:"sent_at,omitempty"`
	ticketMsg string
	body      string
}

func (o *Outbound) log() *slog.Logger {
	if o.Log == nil {
		return slog.Default()
	}
	return o.Log
}

func (o *Outbound) transport() Transport {
	if o.Transport == nil {
		return SMTP{Blobs: o.Blobs}
	}
	return o.Transport
}

// Handlers returns the job handlers to register with the Runner.
func (o *Outbound) Handlers() map[string]jobs.Handler {
	return map[string]jobs.Handler{SendKind: o.handleSend, NotifyKind: o.handleNotify}
}

// mailedChannels are the channels whose public replies are mailed: email,
// and the contact form and portal, whose customers left an address and
// would otherwise only learn of a reply by looking.
var mailedChannels = []string{"email", "web_form", "portal"}

// TicketChanged enqueues the sending of every public reply on a ticket of
// a mailed channel, in the reply's own transaction. The reply gets its
// Message-ID here (stored as its external id), so customers' answers
// thread to it.
func (o *Outbound) TicketChanged(ctx context.Context, tx *sql.Tx, c ticket.Change) error {
	if !slices.Contains(mailedChannels, c.After.Channel) {
		return nil
	}
	return o.MailReply(ctx, tx, c)
}

// MailReply enqueues, in tx, the mailing of the change's public reply to
// the ticket's customer whatever its channel: for channels that mail
// some replies only (a live chat left as a message while nobody could
// chat).
func (o *Outbound) MailReply(ctx context.Context, tx *sql.Tx, c ticket.Change) error {
	if c.Message == nil || c.Message.Kind != ticket.Reply {
		return nil
	}
	mb, err := mailboxOfTicket(ctx, tx, c.After.ID)
	if err != nil {
		return err
	}
	to, err := recipientOf(ctx, tx, c.After)
	if err != nil {
		return err
	}
	if to == "" && c.After.Channel != "email" {
		return nil // a customer who left only a phone number reads replies in the portal
	}
	domain := "kefu.invalid"
	mbID := ""
	if mb != nil {
		domain, mbID = mb.Domain(), mb.ID
	}
	msgID := c.Message.ID + "@" + domain
	if _, err := tx.ExecContext(ctx, `UPDATE messages SET external_id = $2 WHERE id = $1`, c.Message.ID, msgID); err != nil {
		return fmt.Errorf("email: reply message id: %w", err)
	}
	return o.enqueue(ctx, tx, "reply", mbID, c.After, c.Message.ID, to, msgID, replySubject(c.After), "")
}

// acknowledge enqueues the acknowledgement of a new ticket in lang, unless
// the mailbox has no template for it or the address has had its hourly
// share of automatic mail.
func (o *Outbound) acknowledge(ctx context.Context, tx *sql.Tx, mailboxID string, t *ticket.Ticket, to, lang string) error {
	var mb *Mailbox
	var err error
	if mailboxID != "" {
		mb, err = getMailbox(ctx, tx, mailboxID)
	} else {
		mb, err = defaultMailbox(ctx, tx)
	}
	if kefu.IsCode(err, kefu.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if strings.TrimSpace(mb.ack(lang)) == "" {
		return nil
	}
	limit := o.AckLimit
	if limit == 0 {
		limit = DefaultAckLimit
	}
	norm, _ := customer.Normalize(customer.Email, to)
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM outbound_mail WHERE kind = 'ack' AND to_norm = $1 AND created_at > $2`,
		norm, o.Now().Add(-time.Hour)).Scan(&n); err != nil {
		return fmt.Errorf("email: loop protection: %w", err)
	}
	if n >= limit {
		o.log().Info("acknowledgement not sent: hourly limit reached", "to", to, "limit", limit)
		return nil
	}
	msgID := "ack-" + kefu.NewID() + "@" + mb.Domain()
	return o.enqueue(ctx, tx, "ack", mb.ID, t, "", to, msgID, replySubject(t), lang)
}

// Acknowledge enqueues, in tx, the acknowledgement of a ticket opened on
// another channel (the contact form) to address to, from the default
// mailbox with its template in lang. It is subject to the same hourly
// limit per address as acknowledgements of mail, and sends nothing when
// there is no mailbox or no template.
func (o *Outbound) Acknowledge(ctx context.Context, tx *sql.Tx, t *ticket.Ticket, to, lang string) error {
	return o.acknowledge(ctx, tx, "", t, to, lang)
}

// CustomerNotice is an automatic mail to a customer whose text its sender
// composes, such as a sign-in code.
type CustomerNotice struct {
	To       string
	Subject  string
	Text     string
	TicketID string // the ticket it is about, if any
}

// NotifyCustomer enqueues n in tx, to be sent from the default mailbox,
// and returns its outbound log id. The text is kept only until the mail
// is sent or has failed for good: a notice may carry a one-time code,
// which must not outlive its use in the database.
func (o *Outbound) NotifyCustomer(ctx context.Context, tx *sql.Tx, n CustomerNotice) (string, error) {
	norm, msg := customer.Normalize(customer.Email, n.To)
	if msg != "" {
		return "", kefu.Fieldf("to", "%s", msg)
	}
	mb, err := defaultMailbox(ctx, tx)
	if err != nil {
		return "", err
	}
	id := kefu.NewID()
	jobID, err := o.Jobs.Enqueue(ctx, tx, jobs.Job{Kind: SendKind, Key: id, MaxAttempts: sendAttempts, Payload: sendPayload{OutboundID: id}})
	if err != nil {
		return "", err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO outbound_mail (id, job_id, kind, mailbox_id, ticket_id, to_address, to_norm, message_id,
		subject, state, created_at, body_text) VALUES ($1, $2, 'notice', $3, $4, $5, $6, $7, $8, 'pending', $9, $10)`,
		id, jobID, mb.ID, database.Nullable(n.TicketID), n.To, norm, "notice-"+id+"@"+mb.Domain(), n.Subject, o.Now(), n.Text)
	if err != nil {
		return "", fmt.Errorf("email: outbound log: %w", err)
	}
	return id, nil
}

// Ready reports whether mail can be sent at all: an enabled mailbox with
// an SMTP server. Callers offering to mail a code check it first rather
// than promise a mail that cannot leave.
func (o *Outbound) Ready(ctx context.Context) (bool, error) {
	mb, err := defaultMailbox(ctx, o.DB.Read)
	if kefu.IsCode(err, kefu.NotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return mb.SMTP.Host != "", nil
}

func (m *Mailbox) ack(lang string) string {
	if lang == "en" {
		return m.AckEn
	}
	return m.AckZh
}

type sendPayload struct {
	OutboundID string `json:"outbound_id"`
	Lang       string `json:"lang,omitempty"`
}

func (o *Outbound) enqueue(ctx context.Context, tx *sql.Tx, kind, mailboxID string, t *ticket.Ticket, messageRef, to, msgID, subject, lang string) error {
	id := kefu.NewID()
	norm, _ := customer.Normalize(customer.Email, to)
	jobID, err := o.Jobs.Enqueue(ctx, tx, jobs.Job{Kind: SendKind, Key: id, MaxAttempts: sendAttempts,
		Payload: sendPayload{OutboundID: id, Lang: lang}})
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO outbound_mail (id, job_id, kind, mailbox_id, ticket_id, message_ref, to_address, to_norm,
		message_id, subject, state, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11)`,
		id, jobID, kind, database.Nullable(mailboxID), t.ID, database.Nullable(messageRef), to, norm, msgID, subject, o.Now())
	if err != nil {
		return fmt.Errorf("email: outbound log: %w", err)
	}
	return nil
}

// replySubject is the ticket subject with its key, as "Re: … [KF-10234]".
func replySubject(t *ticket.Ticket) string {
	subject := strings.TrimSpace(t.Subject)
	for {
		lower := strings.ToLower(subject)
		trimmed := false
		for _, p := range []string{"re:", "回复:", "回复：", "答复:", "aw:", "fwd:", "fw:", "转发:"} {
			if strings.HasPrefix(lower, p) {
				subject, trimmed = strings.TrimSpace(subject[len(p):]), true
				break
			}
		}
		if !trimmed {
			break
		}
	}
	if !strings.Contains(strings.ToUpper(subject), strings.ToUpper(t.Key)) {
		subject += " [" + t.Key + "]"
	}
	return "Re: " + subject
}

// mailboxOfTicket is the mailbox the ticket's customer last wrote to, else
// the default one; nil when there is none.
func mailboxOfTicket(ctx context.Context, q database.Querier, ticketID string) (*Mailbox, error) {
	var id string
	err := q.QueryRowContext(ctx, `SELECT CAST(mailbox_id AS text) FROM inbound_mail WHERE ticket_id = $1 AND mailbox_id IS NOT NULL
		ORDER BY id DESC LIMIT 1`, ticketID).Scan(&id)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	var mb *Mailbox
	if id != "" {
		mb, err = getMailbox(ctx, q, id)
	} else {
		mb, err = defaultMailbox(ctx, q)
	}
	if kefu.IsCode(err, kefu.NotFound) {
		return nil, nil
	}
	return mb, err
}

// recipientOf is the address the customer last wrote from on this ticket,
// else their first working email address.
func recipientOf(ctx context.Context, q database.Querier, t *ticket.Ticket) (string, error) {
	var to string
	err := q.QueryRowContext(ctx, `SELECT from_address FROM inbound_mail WHERE ticket_id = $1 AND outcome IN ('new_ticket', 'message',
		'reopened', 'follow_up') ORDER BY id DESC LIMIT 1`, t.ID).Scan(&to)
	if err == nil || !errors.Is(err, sql.ErrNoRows) {
		return to, err
	}
	err = q.QueryRowContext(ctx, `SELECT value FROM customer_identities WHERE customer_id = $1 AND kind = 'email'
		ORDER BY failing, created_at LIMIT 1`, t.CustomerID).Scan(&to)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return to, err
}

// List returns outbound log entries, newest first, optionally in one state
// (admins only).
func (o *Outbound) List(ctx context.Context, state, before string, limit int) ([]*Sent, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	where, args := "1=1", []any{}
	if state != "" {
		args = append(args, state)
		where += fmt.Sprintf(" AND state = $%d", len(args))
	}
	if before != "" {
		if !kefu.ValidID(before) {
			return nil, kefu.Fieldf("before", "is not an id")
		}
		args = append(args, before)
		where += fmt.Sprintf(" AND id < $%d", len(args))
	}
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	return listSent(ctx, o.DB.Read, "WHERE "+where+fmt.Sprintf(" ORDER BY id DESC LIMIT %d", limit), args...)
}

// Retry sends a failed mail again (admins only).
func (o *Outbound) Retry(ctx context.Context, id string) (*Sent, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	s, err := getSent(ctx, o.DB.Read, id)
	if err != nil {
		return nil, err
	}
	if s.State != "failed" {
		return nil, kefu.Errorf(kefu.Conflict, "mail %s is %s, not failed", id, s.State)
	}
	if err := o.Jobs.Retry(ctx, s.JobID); err != nil {
		return nil, err
	}
	if _, err := o.DB.Write.ExecContext(ctx, `UPDATE outbound_mail SET state = 'pending' WHERE id = $1`, id); err != nil {
		return nil, err
	}
	return getSent(ctx, o.DB.Write, id)
}

const sentColumns = `CAST(id AS text), COALESCE(CAST(job_id AS text), ''), kind, COALESCE(CAST(mailbox_id AS text), ''),
	COALESCE(CAST(ticket_id AS text), ''), COALESCE(CAST(message_ref AS text), ''), message_id, to_address, subject, state,
	last_error, created_at, sent_at, body_text`

func listSent(ctx context.Context, q database.Querier, where string, args ...any) ([]*Sent, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+sentColumns+` FROM outbound_mail `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("email: outbound log: %w", err)
	}
	defer rows.Close()
	out := []*Sent{}
	for rows.Next() {
		var s Sent
		var sent sql.NullTime
		if err := rows.Scan(&s.ID, &s.JobID, &s.Kind, &s.MailboxID, &s.TicketID, &s.ticketMsg, &s.MessageID, &s.To, &s.Subject,
			&s.State, &s.LastError, &s.CreatedAt, &sent, &s.body); err != nil {
			return nil, err
		}
		s.CreatedAt = s.CreatedAt.UTC()
		if sent.Valid {
			t := sent.Time.UTC()
			s.SentAt = &t
		}
		out = append(out, &s)
	}
	return out, rows.Err()
}

func getSent(ctx context.Context, q database.Querier, id string) (*Sent, error) {
	if !kefu.ValidID(id) {
		return nil, kefu.Errorf(kefu.NotFound, "no outbound mail %s", id)
	}
	list, err := listSent(ctx, q, `WHERE id = $1`, id)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, kefu.Errorf(kefu.NotFound, "no outbound mail %s", id)
	}
	return list[0], nil
}
