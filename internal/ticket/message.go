package ticket

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/blob"
	"github.com/kefu-desk/kefu/internal/database"
)

type storedBlob struct {
	Upload
	SHA256 string
	Size   int64
	held   *blob.Held // still to be stored, by insertMessage
}

// putBlobs streams uploads into the blob store before the transaction, so
// a large file never holds the database's write lock. A small one that
// the store keeps in the database comes back held and is written by the
// transaction, with the attachment row that refers to it: one write
// transaction fewer per attachment, and none left behind by a refused
// change.
func (s *Service) putBlobs(ctx context.Context, prefix string, ups []Upload) ([]storedBlob, error) {
	out := make([]storedBlob, 0, len(ups))
	for i, u := range ups {
		sum, size, held, err := blob.Spool(ctx, s.Blobs, u.Content, s.limits().AttachmentBytes)
		if kefu.IsCode(err, kefu.TooLarge) {
			return nil, &kefu.Error{Code: kefu.TooLarge, Message: "attachment too large",
				Fields: []kefu.FieldError{{Field: fmt.Sprintf("%sattachments[%d]", prefix, i), Message: fmt.Sprintf("%s is larger than %d MB", u.Filename, s.limits().AttachmentBytes>>20)}}}
		}
		if err != nil {
			return nil, err
		}
		if u.ContentType == "" {
			u.ContentType = "application/octet-stream"
		}
		out = append(out, storedBlob{Upload: u, SHA256: sum, Size: size, held: held})
	}
	return out, nil
}

// insertMessage stores m with its attachments and returns it as stored.
func (s *Service) insertMessage(ctx context.Context, tx *sql.Tx, ticketID, customerID, channel string, m NewMessage, blobs []storedBlob) (*Message, error) {
	a := audit.ActorOf(ctx)
	id := kefu.NewID()
	msg := &Message{ID: id, TicketID: ticketID, Kind: m.Kind, Channel: channel, Text: m.Text, HTML: m.HTML,
		ProposesSolution: m.ProposesSolution, ExternalID: m.ExternalID, Automated: m.Automated,
		Attachments: make([]Attachment, 0, len(blobs)), CreatedAt: m.At}
	var staffID, custID any
	if m.Kind == FromCustomer {
		custID, msg.AuthorCustomerID = customerID, customerID
	} else if a.Kind == kefu.ActorStaff {
		staffID, msg.AuthorStaffID = a.ID, a.ID
	}
	// A message with an external id may be a duplicate, which must be
	// answered here; others may travel with the next statement.
	wctx := ctx
	if m.ExternalID == "" {
		wctx = database.Deferrable(ctx)
	}
	_, err := tx.ExecContext(wctx, `INSERT INTO messages (id, ticket_id, kind, channel, author_staff_id, author_customer_id,
		body_text, body_html, proposes_solution, external_id, created_at, automated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		id, ticketID, string(m.Kind), channel, staffID, custID, m.Text, m.HTML, m.ProposesSolution, database.Nullable(m.ExternalID), m.At, m.Automated)
	if s.DB.Dialect.IsUniqueViolation(err) {
		return nil, &kefu.Error{Code: kefu.Conflict, Message: "message already stored",
			Fields: []kefu.FieldError{{Field: "external_id", Message: "a message with this external id is already stored"}}}
	}
	if err != nil {
		return nil, fmt.Errorf("ticket: message: %w", err)
	}
	for _, b := range blobs {
		if err := b.held.Store(ctx, tx); err != nil {
			return nil, err
		}
		att := Attachment{ID: kefu.NewID(), MessageID: id, Filename: b.Filename, ContentType: b.ContentType, Size: b.Size,
			SHA256: b.SHA256, Inline: b.Inline, ContentID: b.ContentID}
		_, err := tx.ExecContext(database.Deferrable(ctx), `INSERT INTO attachments (id, message_id, ticket_id, filename, content_type, size, sha256, inline, content_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			att.ID, id, ticketID, att.Filename, att.ContentType, att.Size, att.SHA256, att.Inline, att.ContentID, m.At)
		if err != nil {
			return nil, fmt.Errorf("ticket: attachment: %w", err)
		}
		msg.Attachments = append(msg.Attachments, att)
	}
	return msg, nil
}

// AddMessage adds a message to a ticket and moves its status the way a
// help desk user expects: a customer writing reopens a solved ticket and
// ends a wait on the customer; a customer writing to a closed ticket
// opens a follow-up ticket linked to it (returned instead); the first
// reply opens a new ticket. m.Status overrides where set.
//
// A customer actor (the portal) may add customer messages to their own
// tickets, and nothing else.
func (s *Service) AddMessage(ctx context.Context, ticketID string, m NewMessage) (*Ticket, *Message, error) {
	a := audit.ActorOf(ctx)
	if a.Kind == kefu.ActorCustomer {
		if m.Kind == "" {
			m.Kind = FromCustomer
		}
		if m.Kind != FromCustomer {
			return nil, nil, kefu.Errorf(kefu.Forbidden, "customers may only write customer messages")
		}
	} else if !a.CanWrite() {
		return nil, nil, kefu.Errorf(kefu.Forbidden, "your role may not write on tickets")
	}
	if m.Kind == "" {
		m.Kind = Reply
	}
	var fs kefu.Fields
	s.checkMessage(&fs, "", m)
	if m.Status != "" && (m.Kind == FromCustomer) {
		fs.Add("status", "only staff messages can set the status")
	}
	if err := fs.Err(); err != nil {
		return nil, nil, err
	}
	stored, err := s.putBlobs(ctx, "", m.uploads())
	if err != nil {
		return nil, nil, err
	}
	var msg *Message
	var finalTicket string
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		cur, err := s.get(ctx, tx, ticketID)
		if err != nil {
			return err
		}
		if cur.MergedInto != "" {
			// Merged tickets forward what they receive.
			if cur, err = s.get(ctx, tx, cur.MergedInto); err != nil {
				return err
			}
		}
		if m.At.IsZero() {
			m.At = s.Now()
		}
		reopen := cur.Status == Closed && m.Kind == FromCustomer && m.ReopenClosedWithin > 0 &&
			cur.ClosedAt != nil && m.At.Sub(*cur.ClosedAt) <= m.ReopenClosedWithin
		if cur.Status == Closed && !reopen {
			if m.Kind != FromCustomer {
				return kefu.Fieldf("ticket", "%s is closed; staff cannot add to a closed ticket", cur.Key)
			}
			var follow *Ticket
			follow, msg, err = s.create(ctx, tx, NewTicket{Subject: cur.Subject, Customer: CustomerRef{ID: cur.CustomerID},
				Channel: cur.Channel, Category: cur.Category, Priority: cur.Priority, Status: New, DepartmentID: cur.DepartmentID,
				OrderNumber: cur.OrderNumber, Tags: cur.Tags, CustomFields: cur.CustomFields, Message: m, FollowUpOf: cur.ID}, stored)
			if err != nil {
				return err
			}
			finalTicket = follow.ID
			return s.event(ctx, tx, cur.ID, "the customer wrote again; follow-up ticket opened", m.At)
		}
		finalTicket = cur.ID
		channel := cur.Channel
		if m.Channel != "" {
			channel = m.Channel
		}
		msg, err = s.insertMessage(ctx, tx, cur.ID, cur.CustomerID, channel, m, stored)
		if err != nil {
			return err
		}
		if m.Kind == FromCustomer {
			if _, err := tx.ExecContext(ctx, `UPDATE tickets SET last_customer_message_at = $2 WHERE id = $1`, cur.ID, m.At); err != nil {
				return fmt.Errorf("ticket: message: %w", err)
			}
		}
		next := *cur
		switch {
		case m.Status != "":
			if ok, why := CanMove(cur.Status, m.Status); !ok {
				return kefu.Fieldf("status", "%s", why)
			}
			next.Status = m.Status
		case reopen, m.Kind == FromCustomer && !m.Automated && (cur.Status == Solved || cur.Status == PendingCustomer):
			next.Status = Open
		case m.Kind == Reply && cur.Status == New:
			next.Status = Open
		}
		if m.Kind == Reply && cur.FirstReplyAt == nil {
			if _, err := tx.ExecContext(ctx, `UPDATE tickets SET first_reply_at = $2 WHERE id = $1`, cur.ID, m.At); err != nil {
				return err
			}
		}
		changes := map[string]audit.Change{}
		audit.Diff(changes, "status", string(cur.Status), string(next.Status))
		changes["message"] = audit.Change{After: map[string]any{"id": msg.ID, "kind": m.Kind, "attachments": len(stored)}}
		return s.save(ctx, tx, cur, &next, changes, "message", msg.ID)
	})
	if err != nil {
		return nil, nil, err
	}
	t, err := s.get(ctx, s.DB.Write, finalTicket)
	if err != nil {
		return nil, nil, err
	}
	return t, msg, nil
}

const messageColumns = `m.id, m.ticket_id, m.kind, m.channel, COALESCE(CAST(m.author_staff_id AS text), ''),
	COALESCE(CAST(m.author_customer_id AS text), ''), m.body_text, m.body_html, m.proposes_solution,
	COALESCE(m.external_id, ''), m.created_at, m.automated`

func scanMessage(row interface{ Scan(...any) error }) (Message, error) {
	var m Message
	err := row.Scan(&m.ID, &m.TicketID, &m.Kind, &m.Channel, &m.AuthorStaffID, &m.AuthorCustomerID, &m.Text, &m.HTML,
		&m.ProposesSolution, &m.ExternalID, &m.CreatedAt, &m.Automated)
	m.Attachments = []Attachment{}
	return m, err
}

func (s *Service) message(ctx context.Context, q database.Querier, id string) (*Message, error) {
	m, err := scanMessage(q.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages m WHERE m.id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("ticket: message: %w", err)
	}
	ms := []Message{m}
	if err := loadAttachments(ctx, q, ms); err != nil {
		return nil, err
	}
	return &ms[0], nil
}

// Messages returns a page of a ticket's thread, oldest first, starting
// after the message id after.
func (s *Service) Messages(ctx context.Context, ticketID, after string, limit int) ([]Message, error) {
	if _, err := s.get(ctx, s.DB.Read, ticketID); err != nil {
		return nil, err
	}
	return s.messages(ctx, s.DB.Read, ticketID, after, limit)
}

func (s *Service) messages(ctx context.Context, q database.Querier, ticketID, after string, limit int) ([]Message, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	args := []any{ticketID}
	where := "m.ticket_id = $1"
	if audit.ActorOf(ctx).Kind == kefu.ActorCustomer {
		where += " AND m.kind IN ('customer', 'reply')" // never notes or events
	}
	if after != "" {
		if !kefu.ValidID(after) {
			return nil, kefu.Fieldf("cursor", "is not a message id")
		}
		args = append(args, after)
		where += " AND m.id > $2"
	}
	rows, err := q.QueryContext(ctx, `SELECT `+messageColumns+` FROM messages m WHERE `+where+
		fmt.Sprintf(" ORDER BY m.id LIMIT %d", limit), args...)
	if err != nil {
		return nil, fmt.Errorf("ticket: messages: %w", err)
	}
	defer rows.Close()
	out := []Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("ticket: messages: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, loadAttachments(ctx, q, out)
}

func loadAttachments(ctx context.Context, q database.Querier, ms []Message) error {
	if len(ms) == 0 {
		return nil
	}
	idx := make(map[string]int, len(ms))
	args := make([]any, len(ms))
	for i, m := range ms {
		idx[m.ID] = i
		args[i] = m.ID
	}
	rows, err := q.QueryContext(ctx, `SELECT id, message_id, filename, content_type, size, sha256, inline, content_id
		FROM attachments WHERE message_id IN (`+database.Placeholders(1, len(ms))+`) ORDER BY id`, args...)
	if err != nil {
		return fmt.Errorf("ticket: attachments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a Attachment
		if err := rows.Scan(&a.ID, &a.MessageID, &a.Filename, &a.ContentType, &a.Size, &a.SHA256, &a.Inline, &a.ContentID); err != nil {
			return err
		}
		i := idx[a.MessageID]
		ms[i].Attachments = append(ms[i].Attachments, a)
	}
	return rows.Err()
}

// OpenAttachment returns an attachment's metadata and content, if the
// actor may see its ticket.
func (s *Service) OpenAttachment(ctx context.Context, id string) (*Attachment, io.ReadSeekCloser, error) {
	if !kefu.ValidID(id) {
		return nil, nil, kefu.Errorf(kefu.NotFound, "no attachment %s", id)
	}
	var a Attachment
	var ticketID string
	var kind MessageKind
	err := s.DB.Read.QueryRowContext(ctx, `SELECT a.id, a.message_id, a.ticket_id, a.filename, a.content_type, a.size, a.sha256, a.inline,
		a.content_id, m.kind FROM attachments a JOIN messages m ON m.id = a.message_id WHERE a.id = $1`, id).Scan(
		&a.ID, &a.MessageID, &ticketID, &a.Filename, &a.ContentType, &a.Size, &a.SHA256, &a.Inline, &a.ContentID, &kind)
	if errors.Is(err, sql.ErrNoRows) || err == nil && audit.ActorOf(ctx).Kind == kefu.ActorCustomer && kind != FromCustomer && kind != Reply {
		return nil, nil, kefu.Errorf(kefu.NotFound, "no attachment %s", id)
	}
	if err != nil {
		return nil, nil, err
	}
	if _, err := s.get(ctx, s.DB.Read, ticketID); err != nil {
		return nil, nil, kefu.Errorf(kefu.NotFound, "no attachment %s", id)
	}
	f, err := s.Blobs.Open(ctx, a.SHA256)
	if err != nil {
		return nil, nil, err
	}
	return &a, f, nil
}

// Categories returns the category list, archived ones last.
func (s *Service) Categories(ctx context.Context) ([]Category, error) {
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT key, name_en, name_zh, position, archived FROM categories ORDER BY archived, position, key`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Category{}
	for rows.Next() {
		var c Category
		if err := rows.Scan(&c.Key, &c.NameEn, &c.NameZh, &c.Position, &c.Archived); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// SaveCategory creates or changes a category. Categories in use are
// archived rather than deleted, so old tickets keep their meaning.
func (s *Service) SaveCategory(ctx context.Context, c Category) error {
	if !audit.ActorOf(ctx).CanAdmin() {
		return kefu.Errorf(kefu.Forbidden, "only admins may edit categories")
	}
	var fs kefu.Fields
	if !keyPattern(c.Key) {
		fs.Add("key", "must be 1 to 40 lower-case letters, digits or _")
	}
	if strings.TrimSpace(c.NameEn) == "" {
		fs.Add("name_en", "is required")
	}
	if err := fs.Err(); err != nil {
		return err
	}
	defer dropCategories(s.DB)
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO categories (key, name_en, name_zh, position, archived) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (key) DO UPDATE SET name_en = $2, name_zh = $3, position = $4, archived = $5`,
			c.Key, c.NameEn, c.NameZh, c.Position, c.Archived)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, s.Now(), audit.Entry{Action: "save", Entity: "category", EntityID: c.Key,
			Changes: map[string]audit.Change{"category": {After: c}}})
	})
}

func keyPattern(k string) bool {
	if len(k) == 0 || len(k) > 40 {
		return false
	}
	for _, r := range k {
		if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

func customFields(ctx context.Context, q database.Querier) (map[string]CustomField, error) {
	fields, err := listCustomFields(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make(map[string]CustomField, len(fields))
	for _, f := range fields {
		out[f.Key] = f
	}
	return out, nil
}

func listCustomFields(ctx context.Context, q database.Querier) ([]CustomField, error) {
	rows, err := q.QueryContext(ctx, `SELECT key, label_en, label_zh, type, options, position, archived FROM custom_fields ORDER BY archived, position, key`)
	if err != nil {
		return nil, fmt.Errorf("ticket: custom fields: %w", err)
	}
	defer rows.Close()
	out := []CustomField{}
	for rows.Next() {
		var f CustomField
		var opts string
		if err := rows.Scan(&f.Key, &f.LabelEn, &f.LabelZh, &f.Type, &opts, &f.Position, &f.Archived); err != nil {
			return nil, err
		}
		if err := jsonUnmarshal(opts, &f.Options); err != nil {
			return nil, fmt.Errorf("ticket: custom field %s options: %w", f.Key, err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// CustomFields returns the custom field definitions.
func (s *Service) CustomFields(ctx context.Context) ([]CustomField, error) {
	return listCustomFields(ctx, s.DB.Read)
}

// SaveCustomField creates or changes a custom field definition. Its type
// cannot change once created: stored values would lose their meaning.
func (s *Service) SaveCustomField(ctx context.Context, f CustomField) error {
	if !audit.ActorOf(ctx).CanAdmin() {
		return kefu.Errorf(kefu.Forbidden, "only admins may edit custom fields")
	}
	var fs kefu.Fields
	if !keyPattern(f.Key) {
		fs.Add("key", "must be 1 to 40 lower-case letters, digits or _")
	}
	if strings.TrimSpace(f.LabelEn) == "" {
		fs.Add("label_en", "is required")
	}
	switch f.Type {
	case "text", "number", "date":
		f.Options = nil
	case "select":
		if len(f.Options) == 0 {
			fs.Add("options", "a select field needs at least one option")
		}
	default:
		fs.Add("type", "must be text, number, date or select")
	}
	if err := fs.Err(); err != nil {
		return err
	}
	if f.Options == nil {
		f.Options = []string{}
	}
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var typ string
		err := tx.QueryRowContext(ctx, `SELECT type FROM custom_fields WHERE key = $1`, f.Key).Scan(&typ)
		if err == nil && typ != f.Type {
			return kefu.Fieldf("type", "cannot change from %s to %s; archive this field and add a new one", typ, f.Type)
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO custom_fields (key, label_en, label_zh, type, options, position, archived)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (key) DO UPDATE SET label_en = $2, label_zh = $3, options = $5, position = $6, archived = $7`,
			f.Key, f.LabelEn, f.LabelZh, f.Type, jsonString(f.Options), f.Position, f.Archived)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, s.Now(), audit.Entry{Action: "save", Entity: "custom_field", EntityID: f.Key,
			Changes: map[string]audit.Change{"custom_field": {After: f}}})
	})
}
