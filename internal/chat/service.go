package chat

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/email"
	"github.com/kefu-desk/kefu/internal/events"
	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/ticket"
	"golang.org/x/time/rate"
)

// Mailer is what chat needs of the email channel: mailing a reply to a
// visitor who left a message while nobody could chat, and mailing a
// transcript. Both write to the outbox in the caller's transaction.
type Mailer interface {
	MailReply(ctx context.Context, tx *sql.Tx, c ticket.Change) error
	NotifyCustomer(ctx context.Context, tx *sql.Tx, n email.CustomerNotice) (string, error)
}

// Service runs live chat. Register it as a ticket hook (after the others)
// so every change of a chat ticket reaches its conversation.
type Service struct {
	DB        *database.DB
	Now       func() time.Time
	Tickets   *ticket.Service
	Customers *customer.Service
	Calendars *calendar.Service
	SLA       *sla.Service // nil: chat hours follow no SLA calendar
	Bus       *events.Bus
	Mail      Mailer // nil: offline messages are answered in the console only
	Limits    Limits
	Log       *slog.Logger

	settings settingsCache
	avail    availabilityCache
	limiters *limiters
}

type limiters struct {
	visitor, ip, start, typing, transcript *buckets
}

func (s *Service) limits() Limits {
	if s.Limits.MessageBytes == 0 {
		return DefaultLimits
	}
	return s.Limits
}

func (s *Service) lim() *limiters {
	if s.limiters == nil {
		l := s.limits()
		s.limiters = &limiters{
			visitor: newBuckets(l.VisitorRate, l.VisitorBurst),
			ip:      newBuckets(l.IPRate, l.IPBurst),
			start:   newBuckets(l.StartRate, l.StartBurst),
			typing:  newBuckets(l.TypingRate, l.TypingBurst),
			// Spread over the hour: one every 60/n minutes, n at once.
			transcript: newBuckets(ratePerHour(l.TranscriptsPerHour), l.TranscriptsPerHour),
		}
	}
	return s.limiters
}

// Init prepares the service before it serves concurrent requests.
func (s *Service) Init() { s.lim() }

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// visitorActor is who acts for a visitor in the ticket service: the
// channel itself, as the email channel acts for senders. Messages still
// name the customer as their author.
var visitorActor = kefu.Actor{Kind: kefu.ActorSystem, ID: "chat", Name: "Live chat", Role: kefu.RoleAdmin}

func tooFast(what string) error {
	return kefu.Errorf(kefu.RateLimited, "too many %s; wait a moment and try again", what)
}

// CheckIP counts one widget request from ip against its rate.
func (s *Service) CheckIP(ip string) error {
	if ip != "" && !s.lim().ip.allow(ip, s.Now()) {
		return tooFast("requests from your network")
	}
	return nil
}

// Shopper is a signed-in shopper as the shop's page describes them: its
// own customer id with the signature only the shop can make, and the
// name and contact details it knows (taken as given, like a pre-chat
// form).
type Shopper struct {
	ID        string `json:"id"`
	Signature string `json:"signature"`
	Name      string `json:"name,omitempty"`
	Email     string `json:"email,omitempty"`
	Phone     string `json:"phone,omitempty"`
}

// SessionInput opens or resumes a visitor's session.
type SessionInput struct {
	Token    string   // the token from a previous session, if any
	Shopper  *Shopper // a signed-in shopper, if the page says so
	Language string
	IP       string
}

// Session is a visitor's state as the widget starts with it.
type Session struct {
	Token        string
	Visitor      *Visitor
	Conversation *Conversation // nil before the first message
	AgentName    string
	Events       []Event // the conversation's public history, oldest first
}

// historyLimit is how many of a conversation's events a session starts
// with.
const historyLimit = 200

// Session returns the visitor a token names, or a new one, with a fresh
// token and the conversation so far. A valid shopper signature makes the
// visitor the shop's customer of that id, on any device.
func (s *Service) Session(ctx context.Context, in SessionInput) (*Session, error) {
	st, err := s.Settings(ctx)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	var v *Visitor
	if in.Token != "" {
		if id, err := parseToken(st.tokenSecret, in.Token, now); err == nil {
			if v, err = getVisitor(ctx, s.DB.Read, `id = $1`, id); err != nil {
				return nil, err
			}
		}
	}
	if in.Shopper != nil && in.Shopper.ID != "" {
		sh := *in.Shopper
		if len(sh.ID) > 200 || !verifyCustomer(st.IdentitySecret, sh.ID, sh.Signature) {
			return nil, &kefu.Error{Code: kefu.Unauthorized, Message: "the shopper's signature does not match",
				Fields: []kefu.FieldError{{Field: "shopper.signature", Message: "must be the hex HMAC-SHA256 of shopper.id under the chat identity secret (see docs/chat.md)"}}}
		}
		if v == nil || v.ShopCustomerID != sh.ID {
			if v, err = s.shopperVisitor(ctx, sh, in.Language); err != nil {
				return nil, err
			}
		}
	}
	if v == nil {
		if in.IP != "" && !s.lim().start.allow(in.IP, now) {
			return nil, tooFast("new chats from your network")
		}
		v = &Visitor{ID: kefu.NewID(), Language: in.Language}
		if _, err := s.DB.Write.ExecContext(ctx, `INSERT INTO chat_visitors (id, language, created_at, seen_at) VALUES ($1, $2, $3, $3)`,
			v.ID, v.Language, now); err != nil {
			return nil, fmt.Errorf("chat: new visitor: %w", err)
		}
	} else if in.Language != "" && in.Language != v.Language {
		v.Language = in.Language
		if _, err := s.DB.Write.ExecContext(ctx, `UPDATE chat_visitors SET language = $2, seen_at = $3 WHERE id = $1`, v.ID, v.Language, now); err != nil {
			return nil, fmt.Errorf("chat: visitor: %w", err)
		}
	}
	out := &Session{Token: signToken(st.tokenSecret, v.ID, now), Visitor: v}
	if out.Conversation, err = s.conversationOf(ctx, v.ID); err != nil || out.Conversation == nil {
		return out, err
	}
	if out.AgentName, err = staffName(ctx, s.DB.Read, out.Conversation.AgentID); err != nil {
		return nil, err
	}
	out.Events, err = s.History(ctx, out.Conversation.ID)
	return out, err
}

// shopperVisitor finds or makes the visitor of a signed-in shopper.
func (s *Service) shopperVisitor(ctx context.Context, sh Shopper, lang string) (*Visitor, error) {
	now := s.Now()
	name, mail, phone := clip(sh.Name, 200), clip(sh.Email, 320), clip(sh.Phone, 40)
	_, err := s.DB.Write.ExecContext(ctx, `INSERT INTO chat_visitors (id, shop_customer_id, name, email, phone, language, created_at, seen_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (shop_customer_id) DO UPDATE SET seen_at = excluded.seen_at,
		name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE chat_visitors.name END,
		email = CASE WHEN excluded.email <> '' THEN excluded.email ELSE chat_visitors.email END,
		phone = CASE WHEN excluded.phone <> '' THEN excluded.phone ELSE chat_visitors.phone END`,
		kefu.NewID(), sh.ID, name, mail, phone, lang, now)
	if err != nil {
		return nil, fmt.Errorf("chat: shopper: %w", err)
	}
	return getVisitor(ctx, s.DB.Write, `shop_customer_id = $1`, sh.ID)
}

// Authenticate returns the visitor a token names.
func (s *Service) Authenticate(ctx context.Context, token string) (*Visitor, error) {
	st, err := s.Settings(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseToken(st.tokenSecret, token, s.Now())
	if err != nil {
		return nil, err
	}
	v, err := getVisitor(ctx, s.DB.Read, `id = $1`, id)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, kefu.Errorf(kefu.Unauthorized, "no such visitor; start a new session")
	}
	return v, nil
}

func (s *Service) conversationOf(ctx context.Context, visitorID string) (*Conversation, error) {
	return getConv(ctx, s.DB.Read, `c.visitor_id = $1`, visitorID)
}

// Conversation returns the visitor's conversation, nil before the first
// message.
func (s *Service) Conversation(ctx context.Context, v *Visitor) (*Conversation, error) {
	return s.conversationOf(ctx, v.ID)
}

// ConversationByTicket returns the conversation of a chat ticket the
// actor may see, or nil if the ticket has none.
func (s *Service) ConversationByTicket(ctx context.Context, ticketID string) (*Conversation, error) {
	if _, err := s.Tickets.Get(ctx, ticketID); err != nil {
		return nil, err
	}
	return convByTicket(ctx, s.DB.Read, ticketID)
}

// History is the public part of a conversation, oldest first: the last
// historyLimit events a visitor sees.
func (s *Service) History(ctx context.Context, convID string) ([]Event, error) {
	var from int64
	err := s.DB.Read.QueryRowContext(ctx, `SELECT COALESCE(MIN(seq), 0) FROM (SELECT seq FROM chat_events
		WHERE conversation_id = $1 AND public ORDER BY seq DESC LIMIT `+fmt.Sprint(historyLimit)+`) recent`, convID).Scan(&from)
	if err != nil {
		return nil, fmt.Errorf("chat: history: %w", err)
	}
	return s.events(kefu.WithActor(ctx, visitorActor), convID, max(from-1, 0), true, historyLimit)
}

// EventsAfter returns a conversation's events numbered after after,
// oldest first, at most limit: what a stream that saw after missed.
// publicOnly is for the visitor's stream. Messages are read with the
// actor in ctx, so a console sees only what its agent may.
func (s *Service) EventsAfter(ctx context.Context, convID string, after int64, publicOnly bool, limit int) ([]Event, error) {
	return s.events(ctx, convID, after, publicOnly, limit)
}

func (s *Service) events(ctx context.Context, convID string, after int64, publicOnly bool, limit int) ([]Event, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	evs, ids, err := storedEvents(ctx, s.DB.Read, convID, after, publicOnly, limit)
	if err != nil || len(ids) == 0 {
		return evs, err
	}
	msgs, err := s.Tickets.MessagesByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	var staff []string
	for i := range evs {
		if evs[i].Message == nil {
			continue
		}
		if m, ok := msgs[evs[i].Message.ID]; ok {
			evs[i].Message = &m
			if m.AuthorStaffID != "" {
				staff = append(staff, m.AuthorStaffID)
			}
		} else {
			evs[i].Message = nil // on a ticket the actor may not see
		}
	}
	names, err := staffNames(ctx, s.DB.Read, staff)
	if err != nil {
		return nil, err
	}
	for i := range evs {
		if m := evs[i].Message; m != nil {
			evs[i].Author = names[m.AuthorStaffID]
		}
	}
	return evs, nil
}

// Prechat is what a visitor says about themselves before the first
// message.
type Prechat struct {
	Name        string `json:"name"`
	Email       string `json:"email,omitempty"`
	Phone       string `json:"phone,omitempty"`
	OrderNumber string `json:"order_number,omitempty"`
}

// Upload is a file a visitor sends.
type Upload struct {
	Filename string
	Size     int64 // as declared by the upload; the content is held to it
	Content  io.Reader
}

// Message is what a visitor sends.
type Message struct {
	Text    string
	Files   []Upload
	Prechat *Prechat // needed with the first message
	PageURL string   // the page the visitor is on
}

// Sent is the outcome of a visitor's message.
type Sent struct {
	Conversation *Conversation
	Seq          int64 // the message's number in the conversation
}

// Send adds a visitor's message: the first one opens the conversation and
// its ticket (queued for an agent, or, when nobody can chat, a message
// answered by email); later ones go on the same ticket, reopening an
// ended chat.
func (s *Service) Send(ctx context.Context, v *Visitor, in Message) (*Sent, error) {
	l := s.limits()
	if !s.lim().visitor.allow(v.ID, s.Now()) {
		return nil, tooFast("messages")
	}
	var fs kefu.Fields
	in.Text = strings.TrimSpace(in.Text)
	if in.Text == "" && len(in.Files) == 0 {
		fs.Add("text", "is required")
	}
	if len(in.Text) > l.MessageBytes {
		fs.Add("text", "must be at most %d bytes", l.MessageBytes)
	}
	if !utf8.ValidString(in.Text) {
		fs.Add("text", "must be UTF-8 text")
	}
	if len(in.Files) > l.Files {
		fs.Add("files", "at most %d files per message", l.Files)
	}
	in.PageURL = clip(in.PageURL, 2000)
	conv, err := s.conversationOf(ctx, v.ID)
	if err != nil {
		return nil, err
	}
	var pre Prechat
	if conv == nil {
		pre = s.prechat(v, in.Prechat, &fs)
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	ups, err := s.uploads(in.Files)
	if err != nil {
		return nil, err
	}
	if err := s.checkBlocked(ctx, v, conv, pre); err != nil {
		return nil, err
	}
	avail, err := s.Availability(ctx)
	if err != nil {
		return nil, err
	}
	if !avail.Enabled {
		return nil, kefu.Errorf(kefu.Unavailable, "live chat is turned off")
	}
	sys := kefu.WithActor(ctx, visitorActor)
	msg := ticket.NewMessage{Kind: ticket.FromCustomer, Text: in.Text, Attachments: ups}
	if conv == nil {
		state := Queued
		if !avail.Available() {
			state = Offline
			if pre.Email == "" {
				return nil, kefu.Fieldf("email", "nobody can chat right now; leave an email address so we can answer")
			}
		}
		ref := ticket.CustomerRef{ID: v.CustomerID, Name: pre.Name, Email: pre.Email, Phone: pre.Phone}
		if ref.ID != "" {
			ref.Email, ref.Phone = "", ""
		}
		out := &Sent{}
		sys = context.WithValue(context.WithValue(sys, sentKey{}, out), startKey{}, start{visitorID: v.ID, state: state, pageURL: in.PageURL})
		t, err := s.Tickets.Create(sys, ticket.NewTicket{
			Subject: subjectOf(in.Text, pre.Name), Customer: ref, Channel: "chat", OrderNumber: pre.OrderNumber, Message: msg})
		switch {
		case err == nil:
			if err := s.rememberVisitor(ctx, v, pre, t.CustomerID); err != nil {
				return nil, err
			}
		case errors.Is(err, errStarted):
			// Another request of this visitor opened the conversation
			// first: this message joins it.
			if conv, err = s.conversationOf(ctx, v.ID); err != nil || conv == nil {
				return nil, fmt.Errorf("chat: conversation lost after a concurrent start: %v", err)
			}
			return s.sendMore(ctx, conv, msg, avail)
		default:
			return nil, err
		}
		if out.Conversation == nil {
			return nil, fmt.Errorf("chat: %s was made without its conversation", t.Key)
		}
		out.Conversation.TicketKey = t.Key
		return out, nil
	}
	return s.sendMore(ctx, conv, msg, avail)
}

// sendMore adds a message to an open conversation; an ended (or offline)
// one comes back to the queue when agents can chat.
func (s *Service) sendMore(ctx context.Context, conv *Conversation, msg ticket.NewMessage, avail Availability) (*Sent, error) {
	next := conv.State
	switch conv.State {
	case Ended, Offline:
		next = Offline
		if avail.Available() {
			next = Queued
		}
	}
	out := &Sent{}
	sys := context.WithValue(context.WithValue(kefu.WithActor(ctx, visitorActor), resumeKey{}, next), sentKey{}, out)
	t, _, err := s.Tickets.AddMessage(sys, conv.TicketID, msg)
	if err != nil {
		return nil, err
	}
	if out.Conversation == nil {
		return nil, fmt.Errorf("chat: %s took the message but has no conversation", t.Key)
	}
	out.Conversation.TicketKey = t.Key
	return out, nil
}

// prechat merges what the visitor typed with what is known of them and
// checks it: a name, and an email address or a phone number.
func (s *Service) prechat(v *Visitor, in *Prechat, fs *kefu.Fields) Prechat {
	var p Prechat
	if in != nil {
		p = *in
	}
	p.Name, p.Email, p.Phone, p.OrderNumber = strings.TrimSpace(p.Name), strings.TrimSpace(p.Email), strings.TrimSpace(p.Phone), strings.TrimSpace(p.OrderNumber)
	if p.Name == "" {
		p.Name = v.Name
	}
	if p.Email == "" && p.Phone == "" {
		p.Email, p.Phone = v.Email, v.Phone
	}
	if p.Name == "" {
		fs.Add("name", "is required")
	} else if len(p.Name) > 200 {
		fs.Add("name", "must be at most 200 bytes")
	}
	if p.Email == "" && p.Phone == "" {
		fs.Add("email", "give an email address or a phone number")
	}
	if p.Email != "" {
		if _, msg := customer.Normalize(customer.Email, p.Email); msg != "" {
			fs.Add("email", "%s", msg)
		}
	}
	if p.Phone != "" {
		if _, msg := customer.Normalize(customer.Phone, p.Phone); msg != "" {
			fs.Add("phone", "%s", msg)
		}
	}
	if len(p.OrderNumber) > 100 {
		fs.Add("order_number", "must be at most 100 bytes")
	}
	return p
}

func (s *Service) rememberVisitor(ctx context.Context, v *Visitor, p Prechat, customerID string) error {
	_, err := s.DB.Write.ExecContext(ctx, `UPDATE chat_visitors SET name = $2, email = $3, phone = $4, customer_id = $5, seen_at = $6 WHERE id = $1`,
		v.ID, p.Name, p.Email, p.Phone, customerID, s.Now())
	if err != nil {
		return fmt.Errorf("chat: visitor: %w", err)
	}
	v.Name, v.Email, v.Phone, v.CustomerID = p.Name, p.Email, p.Phone, customerID
	return nil
}

// Blocked is the polite refusal a blocked customer gets. It says nothing
// of why: the reason is for staff.
var Blocked = &kefu.Error{Code: kefu.Forbidden, Message: "we are unable to continue this chat; please contact the shop by email"}

// checkBlocked refuses a customer staff have blocked: the conversation's,
// or, before the first message, whoever the pre-chat details name.
func (s *Service) checkBlocked(ctx context.Context, v *Visitor, conv *Conversation, p Prechat) error {
	// A merged record is blocked when the record it went into is.
	const blocked = `(c.blocked OR COALESCE(m.blocked, false))`
	var n int
	if conv != nil {
		// The ticket's customer is who this conversation is with.
		err := s.DB.Read.QueryRowContext(ctx, `SELECT count(*) FROM tickets t JOIN customers c ON c.id = t.customer_id
			LEFT JOIN customers m ON m.id = c.merged_into WHERE t.id = $1 AND `+blocked, conv.TicketID).Scan(&n)
		if err != nil {
			return fmt.Errorf("chat: blocked: %w", err)
		}
		if n > 0 {
			return Blocked
		}
		return nil
	}
	var ids []any
	if v.CustomerID != "" {
		ids = append(ids, v.CustomerID)
	}
	for _, ident := range []struct{ kind, value string }{{customer.Email, p.Email}, {customer.Phone, p.Phone}} {
		if ident.value == "" {
			continue
		}
		c, err := s.Customers.FindByIdentity(kefu.WithActor(ctx, visitorActor), ident.kind, ident.value)
		if kefu.IsCode(err, kefu.NotFound) {
			continue
		}
		if err != nil {
			return err
		}
		ids = append(ids, c.ID)
	}
	if len(ids) == 0 {
		return nil
	}
	err := s.DB.Read.QueryRowContext(ctx, `SELECT count(*) FROM customers c LEFT JOIN customers m ON m.id = c.merged_into
		WHERE c.id IN (`+database.Placeholders(1, len(ids))+`) AND `+blocked, ids...).Scan(&n)
	if err != nil {
		return fmt.Errorf("chat: blocked: %w", err)
	}
	if n > 0 {
		return Blocked
	}
	return nil
}

// uploads checks each file by its first bytes and caps its size; the
// ticket service stores them in the blob store.
func (s *Service) uploads(files []Upload) ([]ticket.Upload, error) {
	l := s.limits()
	var fs kefu.Fields
	out := make([]ticket.Upload, 0, len(files))
	for i, f := range files {
		name := strings.TrimSpace(f.Filename)
		if name == "" || len(name) > 255 || strings.ContainsAny(name, "/\\\x00") {
			fs.Add(fmt.Sprintf("files[%d].filename", i), "must be a file name of 1 to 255 bytes without slashes")
			continue
		}
		if f.Size > l.FileBytes {
			return nil, &kefu.Error{Code: kefu.TooLarge, Message: "file too large",
				Fields: []kefu.FieldError{{Field: fmt.Sprintf("files[%d]", i), Message: fmt.Sprintf("%s is larger than %d MB", name, l.FileBytes>>20)}}}
		}
		br := bufio.NewReaderSize(f.Content, 512)
		head, _ := br.Peek(512)
		typ := sniff(head)
		if typ == "" || !slices.Contains(l.FileTypes, typ) {
			fs.Add(fmt.Sprintf("files[%d]", i), "%s: only photos (JPEG, PNG, GIF, WebP) and PDF files can be sent", name)
			continue
		}
		out = append(out, ticket.Upload{Filename: name, ContentType: typ, Content: &capped{r: br, limit: l.FileBytes, left: l.FileBytes, name: name}})
	}
	return out, fs.Err()
}

// capped fails a read past the chat's size limit, which is smaller than
// the ticket service's.
type capped struct {
	r           io.Reader
	limit, left int64
	name        string
}

func (c *capped) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n, kefu.Errorf(kefu.TooLarge, "%s is larger than %d MB", c.name, c.limit>>20)
	}
	return n, err
}

// subjectOf is a chat ticket's subject: the first line of the first
// message, short.
func subjectOf(text, name string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	line = strings.TrimSpace(line)
	if line == "" {
		return "Chat with " + name
	}
	if r := []rune(line); len(r) > 80 {
		line = string(r[:80]) + "…"
	}
	return line
}

func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func ratePerHour(n int) rate.Limit {
	if n <= 0 {
		return 0
	}
	return rate.Limit(float64(n) / 3600)
}

// AttachmentSig is the signature that lets the visitor's browser load an
// attachment of its conversation by URL.
func (s *Service) AttachmentSig(ctx context.Context, visitorID, attachmentID string) (string, error) {
	st, err := s.Settings(ctx)
	if err != nil {
		return "", err
	}
	return attachmentSig(st.tokenSecret, attachmentID, visitorID), nil
}

// OpenAttachment returns an attachment of a public message in the
// visitor's conversation, given the visitor id and the signature from
// AttachmentSig.
func (s *Service) OpenAttachment(ctx context.Context, visitorID, attachmentID, sig string) (*ticket.Attachment, io.ReadSeekCloser, error) {
	none := kefu.Errorf(kefu.NotFound, "no attachment %s", attachmentID)
	want, err := s.AttachmentSig(ctx, visitorID, attachmentID)
	if err != nil {
		return nil, nil, err
	}
	if !kefu.ValidID(attachmentID) || !kefu.ValidID(visitorID) || !hmacEqual(want, sig) {
		return nil, nil, none
	}
	var n int
	err = s.DB.Read.QueryRowContext(ctx, `SELECT count(*) FROM attachments a JOIN chat_events e ON e.message_id = a.message_id
		JOIN chat_conversations c ON c.id = e.conversation_id WHERE a.id = $1 AND c.visitor_id = $2 AND e.public`, attachmentID, visitorID).Scan(&n)
	if err != nil {
		return nil, nil, fmt.Errorf("chat: attachment: %w", err)
	}
	if n == 0 {
		return nil, nil, none
	}
	return s.Tickets.OpenAttachment(kefu.WithActor(ctx, visitorActor), attachmentID)
}
