package email

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/jobs"
)

// Outgoing is a mail ready to hand to a Transport.
type Outgoing struct {
	From        Address
	To          Address
	Subject     string
	MessageID   string // without angle brackets
	InReplyTo   string
	References  []string
	Text        string
	HTML        string
	Attachments []OutAttachment
	// Automatic marks acknowledgements and notices (Auto-Submitted:
	// auto-replied), so well-behaved responders do not answer them.
	Automatic bool
}

// OutAttachment is a stored file sent with a mail.
type OutAttachment struct {
	Filename    string
	ContentType string
	Inline      bool
	ContentID   string
	SHA256      string
}

// handleSend delivers one outbound_mail row. It is idempotent: a row
// already sent is not sent again, and the Message-ID is fixed when the row
// is written, so a retry after a crash mid-send carries the same id and
// receivers can tell it is a repeat.
func (o *Outbound) handleSend(ctx context.Context, r *jobs.Record) error {
	var p sendPayload
	if err := r.Decode(&p); err != nil {
		return jobs.Permanent(err)
	}
	s, err := getSent(ctx, o.DB.Write, p.OutboundID)
	if kefu.IsCode(err, kefu.NotFound) {
		return jobs.Permanent(err)
	}
	if err != nil {
		return err
	}
	if s.State == "sent" {
		return nil
	}
	out, mb, err := o.compose(ctx, s, p.Lang)
	if err == nil {
		err = o.transport().Send(ctx, mb, out)
	}
	return o.settle(ctx, r, s, err)
}

// settle records the outcome of a send attempt. A failure that retrying
// cannot fix, or the last allowed attempt, marks the mail failed and says
// so on its ticket.
func (o *Outbound) settle(ctx context.Context, r *jobs.Record, s *Sent, err error) error {
	if err == nil {
		_, err := o.DB.Write.ExecContext(ctx, `UPDATE outbound_mail SET state = 'sent', sent_at = $2, last_error = '', body_text = '' WHERE id = $1`, s.ID, o.Now())
		return err
	}
	permanent := isPermanent(err)
	final := permanent || (r.MaxAttempts > 0 && r.Attempts >= r.MaxAttempts)
	ferr := o.DB.InTx(ctx, func(tx *sql.Tx) error {
		state, body := "pending", s.body
		if final {
			state, body = "failed", ""
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outbound_mail SET state = $2, last_error = $3, body_text = $4 WHERE id = $1`, s.ID, state, err.Error(), body); err != nil {
			return err
		}
		if !final || s.TicketID == "" {
			return nil
		}
		// An event in the thread, written as the ticket service writes its
		// own events, so the agent sees the reply did not arrive.
		_, err := tx.ExecContext(ctx, `INSERT INTO messages (id, ticket_id, kind, body_text, created_at) VALUES ($1, $2, 'event', $3, $4)`,
			kefu.NewID(), s.TicketID, fmt.Sprintf("delivery failed: %s to %s: %v", s.Kind, s.To, err), o.Now())
		return err
	})
	if ferr != nil {
		return errors.Join(err, ferr)
	}
	if permanent {
		return jobs.Permanent(err)
	}
	return err
}

// errPermanent marks failures no retry can fix (no mailbox, no address).
type errPermanent struct{ error }

func (e errPermanent) Unwrap() error { return e.error }

func permanentf(format string, args ...any) error {
	return errPermanent{fmt.Errorf(format, args...)}
}

func isPermanent(err error) bool {
	var p errPermanent
	if errors.As(err, &p) {
		return true
	}
	var t interface{ IsTemp() bool }
	if errors.As(err, &t) {
		var c interface{ ErrorCode() int }
		// A 5xx answer from the server is final; anything else (network,
		// 4xx) may pass.
		return !t.IsTemp() && errors.As(err, &c) && c.ErrorCode() >= 500
	}
	return false
}

// compose builds the mail for an outbound_mail row.
func (o *Outbound) compose(ctx context.Context, s *Sent, lang string) (*Outgoing, *Mailbox, error) {
	var mb *Mailbox
	var err error
	if s.MailboxID != "" {
		mb, err = getMailbox(ctx, o.DB.Read, s.MailboxID)
	} else {
		mb, err = defaultMailbox(ctx, o.DB.Read)
	}
	if kefu.IsCode(err, kefu.NotFound) {
		return nil, nil, permanentf("no mailbox to send from: add one under /mailboxes")
	}
	if err != nil {
		return nil, nil, err
	}
	if mb.SMTP.Host == "" {
		return nil, nil, permanentf("mailbox %s has no SMTP server", mb.Address)
	}
	if s.To == "" {
		return nil, nil, permanentf("the customer has no email address")
	}
	out := &Outgoing{From: Address{Name: mb.DisplayName, Address: mb.Address}, To: Address{Address: s.To},
		Subject: s.Subject, MessageID: s.MessageID}
	if s.TicketID != "" {
		if out.InReplyTo, out.References, err = threadIDs(ctx, o.DB.Read, s.TicketID, s.MessageID); err != nil {
			return nil, nil, err
		}
	}
	switch s.Kind {
	case "reply":
		var html string
		err := o.DB.Read.QueryRowContext(ctx, `SELECT body_text, body_html FROM messages WHERE id = $1`, s.ticketMsg).Scan(&out.Text, &html)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil, permanentf("the reply was deleted")
		}
		if err != nil {
			return nil, nil, err
		}
		out.HTML = html
		if sig := strings.TrimSpace(mb.Signature); sig != "" {
			out.Text += "\n\n-- \n" + sig
			if out.HTML != "" {
				out.HTML += "<p>-- <br>" + escapeHTML(sig) + "</p>"
			}
		}
		if out.Attachments, err = attachmentsOf(ctx, o.DB.Read, s.ticketMsg); err != nil {
			return nil, nil, err
		}
	case "ack":
		var key, subject, name string
		err := o.DB.Read.QueryRowContext(ctx, `SELECT t.number, t.subject, c.name FROM tickets t JOIN customers c ON c.id = t.customer_id
			WHERE t.id = $1`, s.TicketID).Scan(&key, &subject, &name)
		if err != nil {
			return nil, nil, err
		}
		out.Text = strings.NewReplacer("{{key}}", "KF-"+key, "{{subject}}", subject, "{{name}}", name).Replace(mb.ack(lang))
		out.Automatic = true
	case "notice":
		if s.body == "" {
			return nil, nil, permanentf("the notice's text is no longer kept; its sender must send a new one")
		}
		out.Text, out.Automatic = s.body, true
	}
	return out, mb, nil
}

// threadIDs returns the Message-IDs of a ticket's mail in order, for
// References, and the newest customer one, for In-Reply-To.
func threadIDs(ctx context.Context, q database.Querier, ticketID, self string) (inReplyTo string, refs []string, err error) {
	rows, err := q.QueryContext(ctx, `SELECT external_id, kind FROM messages WHERE ticket_id = $1 AND external_id IS NOT NULL
		AND kind IN ('customer', 'reply') ORDER BY created_at, id`, ticketID)
	if err != nil {
		return "", nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, kind string
		if err := rows.Scan(&id, &kind); err != nil {
			return "", nil, err
		}
		if id == self || strings.HasPrefix(id, "sha256:") {
			continue
		}
		refs = append(refs, id)
		if kind == "customer" {
			inReplyTo = id
		}
	}
	if len(refs) > 20 {
		refs = append(refs[:1], refs[len(refs)-19:]...) // the first and the newest, as RFC 5322 suggests
	}
	return inReplyTo, refs, rows.Err()
}

func attachmentsOf(ctx context.Context, q database.Querier, messageID string) ([]OutAttachment, error) {
	rows, err := q.QueryContext(ctx, `SELECT filename, content_type, inline, content_id, sha256 FROM attachments WHERE message_id = $1 ORDER BY id`, messageID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []OutAttachment
	for rows.Next() {
		var a OutAttachment
		if err := rows.Scan(&a.Filename, &a.ContentType, &a.Inline, &a.ContentID, &a.SHA256); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func escapeHTML(s string) string {
	return strings.ReplaceAll(strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s), "\n", "<br>")
}

// notice is the payload of an email.notify job (internal/sla writes it).
type notice struct {
	StaffID  string `json:"staff_id"`
	TicketID string `json:"ticket_id"`
	Text     string `json:"text"`
}

// handleNotify mails a notice to a staff member from the default mailbox.
// Its outbound_mail row is keyed by the job, so a job run twice sends once
// (unless the first run died mid-send).
func (o *Outbound) handleNotify(ctx context.Context, r *jobs.Record) error {
	var n notice
	if err := r.Decode(&n); err != nil || n.StaffID == "" {
		return jobs.Permanent(fmt.Errorf("email.notify: bad payload: %v", err))
	}
	var to, name string
	err := o.DB.Read.QueryRowContext(ctx, `SELECT email, name FROM staff WHERE id = $1`, n.StaffID).Scan(&to, &name)
	if errors.Is(err, sql.ErrNoRows) {
		return jobs.Permanent(fmt.Errorf("email.notify: no staff member %s", n.StaffID))
	}
	if err != nil {
		return err
	}
	mb, err := defaultMailbox(ctx, o.DB.Read)
	if kefu.IsCode(err, kefu.NotFound) {
		// A shop without a mailbox gets its notices in the console only;
		// that is a choice, not a failure to chase.
		o.log().Debug("email.notify: no mailbox; the notice stays in the console", "staff", n.StaffID)
		return nil
	}
	if err != nil {
		return err
	}
	msgID := "notice-" + r.ID + "@" + mb.Domain()
	subject := "[Kefu] " + firstLine(n.Text)
	_, err = o.DB.Write.ExecContext(ctx, `INSERT INTO outbound_mail (id, job_id, kind, mailbox_id, ticket_id, to_address, to_norm,
		message_id, subject, state, created_at) VALUES ($1, $2, 'notice', $3, $4, $5, $6, $7, $8, 'pending', $9)
		ON CONFLICT (message_id) DO NOTHING`,
		kefu.NewID(), r.ID, mb.ID, database.Nullable(n.TicketID), to, strings.ToLower(to), msgID, subject, o.Now())
	if err != nil {
		return err
	}
	list, err := listSent(ctx, o.DB.Write, `WHERE message_id = $1`, msgID)
	if err != nil || len(list) == 0 {
		return fmt.Errorf("email.notify: outbound log: %v", err)
	}
	s := list[0]
	if s.State == "sent" {
		return nil
	}
	if mb.SMTP.Host == "" {
		return o.settle(ctx, r, s, permanentf("mailbox %s has no SMTP server", mb.Address))
	}
	out := &Outgoing{From: Address{Name: mb.DisplayName, Address: mb.Address}, To: Address{Name: name, Address: to},
		Subject: subject, MessageID: msgID, Text: n.Text, Automatic: true}
	return o.settle(ctx, r, s, o.transport().Send(ctx, mb, out))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if r := []rune(s); len(r) > 120 {
		s = string(r[:120]) + "…"
	}
	return s
}
