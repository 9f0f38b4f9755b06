package ticket

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/blob"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/database"
)

// Service reads and changes tickets.
type Service struct {
	DB        *database.DB
	Now       func() time.Time
	Blobs     blob.Store
	Customers *customer.Service
	Limits    Limits
	// Hooks see every change inside the transaction that makes it.
	Hooks []Hook
}

// Hook keeps state derived from tickets (SLA clocks, routing) in step
// with them: it runs inside the transaction of each change, so an error
// undoes the change and the two never disagree.
type Hook interface {
	TicketChanged(ctx context.Context, tx *sql.Tx, c Change) error
}

// Change is one change to a ticket as a hook sees it.
type Change struct {
	Before  *Ticket  // nil when the ticket was just created
	After   *Ticket  // the ticket as stored now
	Message *Message // the message added with this change, if any
	At      time.Time
}

// runStoredHooks runs the hooks with the ticket and message as stored,
// read back inside tx: for updates, whose stored result is more than the
// patch.
func (s *Service) runStoredHooks(ctx context.Context, tx *sql.Tx, before *Ticket, afterID, messageID string, at time.Time) error {
	if len(s.Hooks) == 0 {
		return nil
	}
	after, err := s.get(kefu.WithActor(ctx, kefu.System), tx, afterID)
	if err != nil {
		return err
	}
	c := Change{Before: before, After: after, At: at}
	if messageID != "" {
		if c.Message, err = s.message(ctx, tx, messageID); err != nil {
			return err
		}
	}
	return s.runHooks(ctx, tx, c)
}

func (s *Service) runHooks(ctx context.Context, tx *sql.Tx, c Change) error {
	for _, h := range s.Hooks {
		if err := h.TicketChanged(ctx, tx, c); err != nil {
			return err
		}
	}
	return nil
}

// CustomerRef names the customer of a new ticket: an existing id, or an
// identity that is looked up and created when unknown.
type CustomerRef struct {
	ID     string `json:"id,omitempty"`
	Name   string `json:"name,omitempty"`
	Email  string `json:"email,omitempty"`
	Phone  string `json:"phone,omitempty"`
	WeChat string `json:"wechat,omitempty"`
}

// NewTicket is the input to Create.
type NewTicket struct {
	Subject      string         `json:"subject" maxLength:"500"`
	Customer     CustomerRef    `json:"customer"`
	Channel      string         `json:"channel"`
	Category     string         `json:"category,omitempty"`
	Priority     Priority       `json:"priority,omitempty"`
	Status       Status         `json:"status,omitempty"`
	AssigneeID   string         `json:"assignee_id,omitempty"`
	DepartmentID string         `json:"department_id,omitempty"`
	OrderNumber  string         `json:"order_number,omitempty"`
	Tags         []string       `json:"tags,omitempty"`
	CustomFields map[string]any `json:"custom_fields,omitempty"`
	Message      NewMessage     `json:"message"`
	// FollowUpOf links a ticket opened because the customer wrote about a
	// closed one.
	FollowUpOf string `json:"follow_up_of,omitempty"`
}

// NewMessage is a message to add to a ticket.
type NewMessage struct {
	Kind             MessageKind `json:"kind,omitempty" enum:"customer,reply,note"`
	Text             string      `json:"text"`
	HTML             string      `json:"html,omitempty"`
	ProposesSolution bool        `json:"proposes_solution,omitempty"`
	ExternalID       string      `json:"external_id,omitempty" doc:"The channel's id for the message, such as an email Message-ID; a message with a known external id is not stored twice"`
	// Status, when set, changes the ticket's status together with the
	// message (the composer's "reply and set pending").
	Status Status `json:"status,omitempty"`
	// Files are attachments sent inline in JSON; Attachments stream
	// (email, multipart uploads). Both are stored the same way.
	Files       []File    `json:"attachments,omitempty"`
	Attachments []Upload  `json:"-"`
	At          time.Time `json:"-"` // when it was written, if not now (imports)
	// Automated marks a customer message a machine wrote (an out-of-office
	// reply): it is kept on the ticket but changes no status, and hooks
	// (SLA) do not treat it as the customer writing.
	Automated bool `json:"-"`
	// Channel is where the message arrived when that differs from the
	// ticket's channel (a portal reply on an email ticket); empty means
	// the ticket's.
	Channel string `json:"-"`
	// ReopenClosedWithin lets a customer message reopen a closed ticket
	// closed at most this long ago, instead of opening a follow-up. The
	// email channel sets it; zero keeps closed tickets final.
	ReopenClosedWithin time.Duration `json:"-"`
}

// File is an attachment carried in a JSON request.
type File struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type,omitempty"`
	Data        []byte `json:"data" doc:"The content, base64-encoded"`
	Inline      bool   `json:"inline,omitempty"`
	ContentID   string `json:"content_id,omitempty"`
}

// uploads returns every attachment of m as an Upload.
func (m *NewMessage) uploads() []Upload {
	out := slices.Clone(m.Attachments)
	for _, f := range m.Files {
		out = append(out, Upload{Filename: f.Filename, ContentType: f.ContentType, Inline: f.Inline, ContentID: f.ContentID, Content: bytes.NewReader(f.Data)})
	}
	return out
}

// Upload is an attachment arriving with a message.
type Upload struct {
	Filename    string
	ContentType string
	Inline      bool
	ContentID   string
	Content     interface{ Read([]byte) (int, error) }
}

// Patch changes the fields that are set. AssigneeID and DepartmentID set
// to "" clear them.
type Patch struct {
	Subject      *string        `json:"subject,omitempty"`
	Status       *Status        `json:"status,omitempty"`
	Priority     *Priority      `json:"priority,omitempty"`
	Category     *string        `json:"category,omitempty"`
	AssigneeID   *string        `json:"assignee_id,omitempty"`
	DepartmentID *string        `json:"department_id,omitempty"`
	OrderNumber  *string        `json:"order_number,omitempty"`
	Tags         []string       `json:"tags,omitempty" doc:"Replaces all tags"`
	AddTags      []string       `json:"add_tags,omitempty"`
	RemoveTags   []string       `json:"remove_tags,omitempty"`
	CustomFields map[string]any `json:"custom_fields,omitempty" doc:"Sets the named fields; null removes one"`
}

func (s *Service) limits() Limits {
	if s.Limits.AttachmentBytes == 0 {
		return DefaultLimits
	}
	return s.Limits
}

// visible returns a SQL condition (on alias t) limiting tickets to those
// the actor may see, with its arguments numbered from n+1. Agents see their
// departments' tickets, tickets not yet routed to any department and
// tickets assigned to them; department staff see only their departments'
// and their own. A customer (signed in to the portal) sees their own
// tickets and nothing else.
func visible(a kefu.Actor, n int) (string, []any) {
	if a.Kind == kefu.ActorCustomer {
		return fmt.Sprintf("t.customer_id = $%d", n+1), []any{a.ID}
	}
	if a.SeesAllTickets() {
		return "1=1", nil
	}
	args := []any{a.ID}
	cond := fmt.Sprintf("(t.assignee_id = $%d", n+1)
	if len(a.Departments) > 0 {
		for _, d := range a.Departments {
			args = append(args, d)
		}
		cond += " OR t.department_id IN (" + database.Placeholders(n+2, len(a.Departments)) + ")"
	}
	if a.Role == kefu.RoleAgent {
		cond += " OR t.department_id IS NULL"
	}
	return cond + ")", args
}

// VisibleCondition is visible for packages that query tickets themselves
// (search): a SQL condition on alias t limiting tickets to those a may
// see, with its arguments numbered from n+1.
func VisibleCondition(a kefu.Actor, n int) (string, []any) { return visible(a, n) }

func (s *Service) validateNew(ctx context.Context, q database.Querier, in *NewTicket) error {
	var fs kefu.Fields
	in.Subject = strings.TrimSpace(in.Subject)
	if in.Subject == "" {
		fs.Add("subject", "is required")
	} else if len(in.Subject) > 500 {
		fs.Add("subject", "must be at most 500 bytes")
	}
	if !slices.Contains(Channels, in.Channel) {
		fs.Add("channel", "must be one of %s", strings.Join(Channels, ", "))
	}
	if in.Category == "" {
		in.Category = "other"
	}
	if in.Priority == "" {
		in.Priority = Normal
	}
	if !slices.Contains(Priorities, in.Priority) {
		fs.Add("priority", "must be one of low, normal, high, urgent")
	}
	if in.Status == "" {
		in.Status = New
	}
	if in.Status != New && in.Status != Open && in.Status != PendingCustomer && in.Status != PendingInternal && in.Status != Solved {
		fs.Add("status", "a new ticket starts as new, open, pending_customer, pending_internal or solved")
	}
	c := in.Customer
	if c.ID == "" && c.Email == "" && c.Phone == "" && c.WeChat == "" {
		fs.Add("customer", "needs an id, email, phone or wechat")
	}
	for _, ident := range []struct{ kind, value string }{{customer.Email, c.Email}, {customer.Phone, c.Phone}, {customer.WeChat, c.WeChat}} {
		if ident.value == "" {
			continue
		}
		if _, msg := customer.Normalize(ident.kind, ident.value); msg != "" {
			fs.Add("customer."+ident.kind, "%s", msg)
		}
	}
	for _, t := range in.Tags {
		if msg := customer.CheckTag(t); msg != "" {
			fs.Add("tags", "%q %s", t, msg)
		}
	}
	if in.Message.Kind == "" {
		in.Message.Kind = FromCustomer
	}
	s.checkMessage(&fs, "message.", in.Message)
	if err := s.checkRefs(ctx, q, &fs, in.Category, in.AssigneeID, in.DepartmentID); err != nil {
		return err
	}
	custom, err := s.checkCustom(ctx, q, &fs, nil, in.CustomFields)
	if err != nil {
		return err
	}
	in.CustomFields = custom
	return fs.Err()
}

func (s *Service) checkMessage(fs *kefu.Fields, prefix string, m NewMessage) {
	l := s.limits()
	if m.Kind != FromCustomer && m.Kind != Reply && m.Kind != Note {
		fs.Add(prefix+"kind", "must be customer, reply or note")
	}
	ups := m.uploads()
	if strings.TrimSpace(m.Text) == "" && strings.TrimSpace(m.HTML) == "" && len(ups) == 0 {
		fs.Add(prefix+"text", "is required")
	}
	if len(m.Text) > l.MessageBytes || len(m.HTML) > l.MessageBytes {
		fs.Add(prefix+"text", "must be at most %d bytes", l.MessageBytes)
	}
	if m.ProposesSolution && m.Kind != Reply {
		fs.Add(prefix+"proposes_solution", "only a reply can propose a solution")
	}
	if len(ups) > l.Attachments {
		fs.Add(prefix+"attachments", "at most %d attachments per message", l.Attachments)
	}
	for i, a := range ups {
		if strings.TrimSpace(a.Filename) == "" || len(a.Filename) > 255 || strings.ContainsAny(a.Filename, "/\\\x00") {
			fs.Add(fmt.Sprintf("%sattachments[%d].filename", prefix, i), "must be a file name of 1 to 255 bytes without slashes")
		}
		if slices.Contains(l.DeniedTypes, strings.ToLower(a.ContentType)) {
			fs.Add(fmt.Sprintf("%sattachments[%d].content_type", prefix, i), "%s files are not accepted", a.ContentType)
		}
	}
}

// checkRefs verifies that referenced rows exist, so the user gets a field
// error instead of a foreign-key failure.
func (s *Service) checkRefs(ctx context.Context, q database.Querier, fs *kefu.Fields, category, assignee, department string) error {
	checks := []struct{ field, value, query string }{
		{"category", category, `SELECT count(*) FROM categories WHERE key = $1 AND NOT archived`},
		{"assignee_id", assignee, `SELECT count(*) FROM staff WHERE id = $1 AND disabled_at IS NULL`},
		{"department_id", department, `SELECT count(*) FROM departments WHERE id = $1`},
	}
	for _, c := range checks {
		if c.value == "" {
			continue
		}
		if c.field != "category" && !kefu.ValidID(c.value) {
			fs.Add(c.field, "is not an id")
			continue
		}
		if c.field == "category" && isActive(s.DB, c.value, s.Now()) {
			continue
		}
		var n int
		if err := q.QueryRowContext(ctx, c.query, c.value).Scan(&n); err != nil {
			return fmt.Errorf("ticket: check %s: %w", c.field, err)
		}
		if n == 0 {
			fs.Add(c.field, "no such %s: %s", strings.TrimSuffix(c.field, "_id"), c.value)
		} else if c.field == "category" {
			categories.Put(categoryKey{s.DB, c.value}, struct{}{}, s.Now())
		}
	}
	return nil
}

// checkCustom validates set against the field definitions and returns the
// merged custom fields (cur with set applied; nil values remove).
func (s *Service) checkCustom(ctx context.Context, q database.Querier, fs *kefu.Fields, cur, set map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range cur {
		out[k] = v
	}
	if len(set) == 0 {
		return out, nil
	}
	defs, err := customFields(ctx, q)
	if err != nil {
		return nil, err
	}
	for k, v := range set {
		def, ok := defs[k]
		if !ok || def.Archived {
			fs.Add("custom_fields."+k, "is not a defined custom field")
			continue
		}
		val, msg := def.Check(v)
		if msg != "" {
			fs.Add("custom_fields."+k, "%s", msg)
			continue
		}
		if val == nil {
			delete(out, k)
		} else {
			out[k] = val
		}
	}
	return out, nil
}

// Create stores a ticket with its first message, creating the customer
// when only an identity is given. Everything happens in one transaction;
// attachment contents are written to the blob store first and are
// harmless if the transaction then fails.
func (s *Service) Create(ctx context.Context, in NewTicket) (*Ticket, error) {
	a := audit.ActorOf(ctx)
	if !a.CanWrite() {
		return nil, kefu.Errorf(kefu.Forbidden, "your role may not create tickets")
	}
	if err := s.validateNew(ctx, s.DB.Read, &in); err != nil {
		return nil, err
	}
	stored, err := s.putBlobs(ctx, "message.", in.Message.uploads())
	if err != nil {
		return nil, err
	}
	var t *Ticket
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		t, _, err = s.create(ctx, tx, in, stored)
		return err
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// create stores a new ticket with its first message and returns both as
// stored: everything in them is known here, so nothing is read back.
func (s *Service) create(ctx context.Context, tx *sql.Tx, in NewTicket, stored []storedBlob) (*Ticket, *Message, error) {
	now := s.Now()
	created := now
	if !in.Message.At.IsZero() {
		// Both engines keep microseconds; so does what we return.
		created = in.Message.At.UTC().Truncate(time.Microsecond)
	}
	customerID, err := s.resolveCustomer(ctx, tx, in.Customer)
	if err != nil {
		return nil, nil, err
	}
	var number int64
	if err := tx.QueryRowContext(ctx, s.DB.Dialect.NextTicketNumber()).Scan(&number); err != nil {
		return nil, nil, fmt.Errorf("ticket: number: %w", err)
	}
	custom, _ := json.Marshal(in.CustomFields)
	id := kefu.NewID()
	m := in.Message
	m.At = created
	// What the first message sets on the ticket is written with it, not
	// by a second statement.
	var solvedAt, firstReplyAt, lastCustomerAt *time.Time
	if in.Status == Solved {
		solvedAt = &created
	}
	switch m.Kind {
	case Reply:
		firstReplyAt = &m.At
	case FromCustomer:
		lastCustomerAt = &m.At
	}
	_, err = tx.ExecContext(database.Deferrable(ctx), `INSERT INTO tickets (id, number, subject, customer_id, channel, category, priority, status,
		assignee_id, department_id, order_number, custom_fields, follow_up_of, created_at, updated_at, solved_at,
		first_reply_at, last_customer_message_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15, $16, $17)`,
		id, number, in.Subject, customerID, in.Channel, in.Category, string(in.Priority), string(in.Status),
		database.Nullable(in.AssigneeID), database.Nullable(in.DepartmentID), NormalizeOrderNumber(in.OrderNumber), string(custom),
		database.Nullable(in.FollowUpOf), created, solvedAt, firstReplyAt, lastCustomerAt)
	if err != nil {
		return nil, nil, fmt.Errorf("ticket: create: %w", err)
	}
	tags, err := insertTags(ctx, tx, id, in.Tags)
	if err != nil {
		return nil, nil, err
	}
	changes := map[string]audit.Change{}
	audit.Diff(changes, "subject", nil, in.Subject)
	audit.Diff(changes, "status", nil, string(in.Status))
	audit.Diff(changes, "category", nil, in.Category)
	audit.Diff(changes, "priority", nil, string(in.Priority))
	if in.AssigneeID != "" {
		audit.Diff(changes, "assignee_id", nil, in.AssigneeID)
	}
	if in.DepartmentID != "" {
		audit.Diff(changes, "department_id", nil, in.DepartmentID)
	}
	if err := audit.Record(ctx, tx, now, audit.Entry{Action: "create", Entity: "ticket", EntityID: id,
		TicketID: id, CustomerID: customerID, Changes: changes}); err != nil {
		return nil, nil, err
	}
	msg, err := s.insertMessage(ctx, tx, id, customerID, in.Channel, m, stored)
	if err != nil {
		return nil, nil, err
	}
	if in.CustomFields == nil {
		in.CustomFields = map[string]any{}
	}
	t := &Ticket{ID: id, Number: number, Key: Key(number), Subject: in.Subject, CustomerID: customerID, Channel: in.Channel,
		Category: in.Category, Priority: in.Priority, Status: in.Status, AssigneeID: in.AssigneeID, DepartmentID: in.DepartmentID,
		OrderNumber: NormalizeOrderNumber(in.OrderNumber), Tags: tags, CustomFields: in.CustomFields, FollowUpOf: in.FollowUpOf,
		Version: 1, CreatedAt: created, UpdatedAt: created, FirstReplyAt: firstReplyAt, SolvedAt: solvedAt}
	return t, msg, s.runHooks(ctx, tx, Change{After: t, Message: msg, At: m.At})
}

func (s *Service) resolveCustomer(ctx context.Context, tx *sql.Tx, c CustomerRef) (string, error) {
	if c.ID != "" {
		if !kefu.ValidID(c.ID) {
			return "", kefu.Fieldf("customer.id", "is not an id")
		}
		var merged sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT CAST(merged_into AS text) FROM customers WHERE id = $1`, c.ID).Scan(&merged)
		if errors.Is(err, sql.ErrNoRows) {
			return "", kefu.Fieldf("customer.id", "no customer %s", c.ID)
		}
		if err != nil {
			return "", err
		}
		if merged.Valid {
			return merged.String, nil // follow the merge
		}
		return c.ID, nil
	}
	for _, ident := range []struct{ kind, value, field string }{
		{customer.Email, c.Email, "customer.email"}, {customer.Phone, c.Phone, "customer.phone"}, {customer.WeChat, c.WeChat, "customer.wechat"},
	} {
		if ident.value != "" {
			id, _, err := s.Customers.Resolve(ctx, tx, ident.kind, ident.value, c.Name, ident.field)
			return id, err
		}
	}
	return "", kefu.Fieldf("customer", "needs an id, email, phone or wechat")
}

func setTags(ctx context.Context, tx *sql.Tx, id string, tags []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM ticket_tags WHERE ticket_id = $1`, id); err != nil {
		return fmt.Errorf("ticket: tags: %w", err)
	}
	_, err := insertTags(ctx, tx, id, tags)
	return err
}

// insertTags adds tags to a ticket that has none, in one statement.
// insertTags stores the tags of a new ticket and returns them as a
// ticket holds them: sorted, without repeats.
func insertTags(ctx context.Context, tx *sql.Tx, id string, tags []string) ([]string, error) {
	t := slices.Clone(tags)
	slices.Sort(t)
	t = slices.Compact(t)
	if len(t) == 0 {
		return []string{}, nil
	}
	rows := make([]string, len(t))
	args := []any{id}
	for i, tag := range t {
		rows[i] = fmt.Sprintf("($1, $%d)", i+2)
		args = append(args, tag)
	}
	if _, err := tx.ExecContext(database.Deferrable(ctx), `INSERT INTO ticket_tags (ticket_id, tag) VALUES `+strings.Join(rows, ", "), args...); err != nil {
		return nil, fmt.Errorf("ticket: tags: %w", err)
	}
	return t, nil
}

const ticketColumns = `t.id, t.number, t.subject, t.customer_id, t.channel, t.category, t.priority, t.status,
	COALESCE(CAST(t.assignee_id AS text), ''), COALESCE(CAST(t.department_id AS text), ''), t.order_number,
	t.custom_fields, COALESCE(CAST(t.merged_into AS text), ''), COALESCE(CAST(t.follow_up_of AS text), ''),
	t.version, t.created_at, t.updated_at, t.first_reply_at, t.solved_at, t.closed_at`

func scanTicket(row interface{ Scan(...any) error }) (*Ticket, error) {
	var t Ticket
	var custom string
	var firstReply, solved, closed sql.NullTime
	err := row.Scan(&t.ID, &t.Number, &t.Subject, &t.CustomerID, &t.Channel, &t.Category, &t.Priority, &t.Status,
		&t.AssigneeID, &t.DepartmentID, &t.OrderNumber, &custom, &t.MergedInto, &t.FollowUpOf,
		&t.Version, &t.CreatedAt, &t.UpdatedAt, &firstReply, &solved, &closed)
	if err != nil {
		return nil, err
	}
	t.Key = Key(t.Number)
	t.FirstReplyAt, t.SolvedAt, t.ClosedAt = database.TimePtr(firstReply), database.TimePtr(solved), database.TimePtr(closed)
	if err := json.Unmarshal([]byte(custom), &t.CustomFields); err != nil {
		return nil, fmt.Errorf("ticket %s: custom fields: %w", t.ID, err)
	}
	t.Tags = []string{}
	return &t, nil
}

// Get returns a ticket the actor may see, by id or by key ("KF-10234").
func (s *Service) Get(ctx context.Context, idOrKey string) (*Ticket, error) {
	if n, ok := ParseKey(idOrKey); ok {
		var id string
		err := s.DB.Read.QueryRowContext(ctx, `SELECT CAST(id AS text) FROM tickets WHERE number = $1`, n).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, kefu.Errorf(kefu.NotFound, "no ticket %s", Key(n))
		}
		if err != nil {
			return nil, err
		}
		idOrKey = id
	}
	return s.get(ctx, s.DB.Read, idOrKey)
}

func (s *Service) get(ctx context.Context, q database.Querier, id string) (*Ticket, error) {
	if !kefu.ValidID(id) {
		return nil, kefu.Errorf(kefu.NotFound, "no ticket %s", id)
	}
	cond, args := visible(audit.ActorOf(ctx), 1)
	t, err := scanTicket(q.QueryRowContext(ctx, `SELECT `+ticketColumns+` FROM tickets t WHERE t.id = $1 AND `+cond,
		append([]any{id}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kefu.Errorf(kefu.NotFound, "no ticket %s", id)
	}
	if err != nil {
		return nil, fmt.Errorf("ticket: get: %w", err)
	}
	return t, loadTags(ctx, q, []*Ticket{t})
}

func loadTags(ctx context.Context, q database.Querier, ts []*Ticket) error {
	if len(ts) == 0 {
		return nil
	}
	byID := make(map[string]*Ticket, len(ts))
	args := make([]any, len(ts))
	for i, t := range ts {
		byID[t.ID] = t
		args[i] = t.ID
	}
	rows, err := q.QueryContext(ctx, `SELECT ticket_id, tag FROM ticket_tags WHERE ticket_id IN (`+
		database.Placeholders(1, len(ts))+`) ORDER BY tag`, args...)
	if err != nil {
		return fmt.Errorf("ticket: tags: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, tag string
		if err := rows.Scan(&id, &tag); err != nil {
			return err
		}
		byID[id].Tags = append(byID[id].Tags, tag)
	}
	return rows.Err()
}

// Update applies p if the ticket is still at version (0 skips the check:
// bulk actions). A stale version is refused with the current ticket, so
// two agents never silently overwrite each other.
func (s *Service) Update(ctx context.Context, id string, version int, p Patch) (*Ticket, error) {
	a := audit.ActorOf(ctx)
	if !a.CanWrite() {
		return nil, kefu.Errorf(kefu.Forbidden, "your role may not change tickets")
	}
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		cur, err := s.get(ctx, tx, id)
		if err != nil {
			return err
		}
		if version != 0 && cur.Version != version {
			return &kefu.Error{Code: kefu.Stale, Message: fmt.Sprintf("ticket %s changed since version %d; it is now version %d", cur.Key, version, cur.Version), Current: cur}
		}
		return s.apply(ctx, tx, cur, p)
	})
	if err != nil {
		return nil, err
	}
	return s.get(ctx, s.DB.Write, id)
}

func (s *Service) apply(ctx context.Context, tx *sql.Tx, cur *Ticket, p Patch) error {
	next := *cur
	var fs kefu.Fields
	if p.Subject != nil {
		next.Subject = strings.TrimSpace(*p.Subject)
		if next.Subject == "" || len(next.Subject) > 500 {
			fs.Add("subject", "must be 1 to 500 bytes")
		}
	}
	if p.Status != nil {
		if !slices.Contains(Statuses, *p.Status) {
			fs.Add("status", "must be one of new, open, pending_customer, pending_internal, solved, closed")
		} else if ok, why := CanMove(cur.Status, *p.Status); !ok {
			fs.Add("status", "%s", why)
		}
		next.Status = *p.Status
	}
	if p.Priority != nil {
		if !slices.Contains(Priorities, *p.Priority) {
			fs.Add("priority", "must be one of low, normal, high, urgent")
		}
		next.Priority = *p.Priority
	}
	var category, assignee, department string
	if p.Category != nil {
		next.Category, category = *p.Category, *p.Category
		if category == "" {
			fs.Add("category", "is required")
		}
	}
	if p.AssigneeID != nil {
		next.AssigneeID, assignee = *p.AssigneeID, *p.AssigneeID
	}
	if p.DepartmentID != nil {
		next.DepartmentID, department = *p.DepartmentID, *p.DepartmentID
	}
	if p.OrderNumber != nil {
		next.OrderNumber = NormalizeOrderNumber(*p.OrderNumber)
	}
	tags := cur.Tags
	if p.Tags != nil {
		tags = p.Tags
	}
	tags = append(slices.Clone(tags), p.AddTags...)
	tags = slices.DeleteFunc(tags, func(t string) bool { return slices.Contains(p.RemoveTags, t) })
	for _, t := range tags {
		if msg := customer.CheckTag(t); msg != "" {
			fs.Add("tags", "%q %s", t, msg)
		}
	}
	slices.Sort(tags)
	next.Tags = slices.Compact(tags)
	if err := s.checkRefs(ctx, tx, &fs, category, assignee, department); err != nil {
		return err
	}
	custom, err := s.checkCustom(ctx, tx, &fs, cur.CustomFields, p.CustomFields)
	if err != nil {
		return err
	}
	next.CustomFields = custom
	if err := fs.Err(); err != nil {
		return err
	}
	changes := map[string]audit.Change{}
	audit.Diff(changes, "subject", cur.Subject, next.Subject)
	audit.Diff(changes, "status", string(cur.Status), string(next.Status))
	audit.Diff(changes, "priority", string(cur.Priority), string(next.Priority))
	audit.Diff(changes, "category", cur.Category, next.Category)
	audit.Diff(changes, "assignee_id", cur.AssigneeID, next.AssigneeID)
	audit.Diff(changes, "department_id", cur.DepartmentID, next.DepartmentID)
	audit.Diff(changes, "order_number", cur.OrderNumber, next.OrderNumber)
	audit.Diff(changes, "tags", cur.Tags, next.Tags)
	audit.Diff(changes, "custom_fields", cur.CustomFields, next.CustomFields)
	if len(changes) == 0 {
		return nil
	}
	return s.save(ctx, tx, cur, &next, changes, "update", "")
}

// save writes next over cur, bumps the version, records the audit entry
// and a thread event for the changes a reader of the thread cares about.
func (s *Service) save(ctx context.Context, tx *sql.Tx, cur, next *Ticket, changes map[string]audit.Change, action, messageID string) error {
	now := s.Now()
	solvedAt, closedAt := cur.SolvedAt, cur.ClosedAt
	if next.Status != cur.Status {
		switch next.Status {
		case Solved:
			solvedAt = &now
		case Closed:
			closedAt = &now
			if solvedAt == nil {
				solvedAt = &now
			}
		default:
			solvedAt, closedAt = nil, nil // reopened
		}
	}
	custom, _ := json.Marshal(next.CustomFields)
	_, err := tx.ExecContext(ctx, `UPDATE tickets SET subject = $2, status = $3, priority = $4, category = $5,
		assignee_id = $6, department_id = $7, order_number = $8, custom_fields = $9, merged_into = $10,
		solved_at = $11, closed_at = $12, version = version + 1, updated_at = $13 WHERE id = $1`,
		cur.ID, next.Subject, string(next.Status), string(next.Priority), next.Category, database.Nullable(next.AssigneeID),
		database.Nullable(next.DepartmentID), next.OrderNumber, string(custom), database.Nullable(next.MergedInto), solvedAt, closedAt, now)
	if err != nil {
		return fmt.Errorf("ticket: update: %w", err)
	}
	if !slices.Equal(cur.Tags, next.Tags) {
		if err := setTags(ctx, tx, cur.ID, next.Tags); err != nil {
			return err
		}
	}
	if err := audit.Record(ctx, tx, now, audit.Entry{Action: action, Entity: "ticket", EntityID: cur.ID,
		TicketID: cur.ID, CustomerID: cur.CustomerID, Changes: changes}); err != nil {
		return err
	}
	if text := eventText(changes); text != "" {
		if err := s.event(ctx, tx, cur.ID, text, now); err != nil {
			return err
		}
	}
	return s.runStoredHooks(ctx, tx, cur, cur.ID, messageID, now)
}

// eventText describes the changes worth a line in the thread.
func eventText(changes map[string]audit.Change) string {
	var parts []string
	for _, f := range []string{"status", "assignee_id", "department_id", "priority", "category"} {
		if c, ok := changes[f]; ok {
			parts = append(parts, fmt.Sprintf("%s: %v → %v", strings.TrimSuffix(f, "_id"), orNone(c.Before), orNone(c.After)))
		}
	}
	return strings.Join(parts, "; ")
}

func orNone(v any) any {
	if v == nil || v == "" {
		return "none"
	}
	return v
}

func (s *Service) event(ctx context.Context, tx *sql.Tx, ticketID, text string, at time.Time) error {
	a := audit.ActorOf(ctx)
	var staff any
	if a.Kind == kefu.ActorStaff {
		staff = a.ID
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO messages (id, ticket_id, kind, author_staff_id, body_text, created_at)
		VALUES ($1, $2, 'event', $3, $4, $5)`, kefu.NewID(), ticketID, staff, text, at)
	if err != nil {
		return fmt.Errorf("ticket: event: %w", err)
	}
	return nil
}
