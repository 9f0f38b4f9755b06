package portal

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"path"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/blob"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// FormChannel is the channel of tickets opened from the contact form.
const FormChannel = "web_form"

// Contact is one submission of the contact form.
type Contact struct {
	Name        string
	Email       string // an email address or a phone number is required
	Phone       string
	Category    string // a key of the (editable) ticket category list
	OrderNumber string
	Description string
	Photos      []Photo
	Lang        string // the page's language: the acknowledgement's
	IP          string
	// Trap is the honeypot: a field people never see and robots fill in.
	// When it is set, Submit stores nothing and reports success, so the
	// robot learns nothing to adapt to.
	Trap string
}

// Photo is an uploaded picture: the evidence customers are asked for.
type Photo struct {
	Filename string
	Size     int64
	Content  io.ReadSeeker
}

// Receipt is what the form shows after a submission.
type Receipt struct {
	// Ticket is the request opened; nil when the honeypot was filled.
	Ticket *ticket.Ticket
}

// submission travels in the context of Create to the hook, which
// acknowledges the ticket in the transaction that stores it.
type submission struct {
	email, phone, lang string
	done               bool
}

type submissionKey struct{}

// Submit opens a ticket from the contact form for the customer holding
// the email address (else the phone number), creating the customer when
// nobody does, and acknowledges it with its number: by mail from the
// default mailbox's template in the page's language, or, for a phone
// number alone, by a text message queued for the SMS gateway. A rejected
// submission stores nothing.
func (s *Service) Submit(ctx context.Context, in Contact) (*Receipt, error) {
	if err := check(s.buckets().submit, in.IP, s.Now()); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Trap) != "" {
		return &Receipt{}, nil
	}
	l := s.limits()
	var fs kefu.Fields
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "":
		fs.Add("name", "is required")
	case utf8.RuneCountInString(in.Name) > 200:
		fs.Add("name", "must be at most 200 characters")
	}
	in.Email, in.Phone = strings.TrimSpace(in.Email), strings.TrimSpace(in.Phone)
	if in.Email == "" && in.Phone == "" {
		fs.Add("email", "give an email address or a phone number, so we can answer you")
	}
	for _, f := range []struct{ kind, value string }{{customer.Email, in.Email}, {customer.Phone, in.Phone}} {
		if f.value == "" {
			continue
		}
		if _, msg := customer.Normalize(f.kind, f.value); msg != "" {
			fs.Add(f.kind, "%s", msg)
		}
	}
	if err := s.checkCategory(ctx, &fs, in.Category); err != nil {
		return nil, err
	}
	in.OrderNumber = strings.TrimSpace(in.OrderNumber)
	if len(in.OrderNumber) > 100 {
		fs.Add("order_number", "must be at most 100 characters")
	}
	in.Description = strings.TrimSpace(in.Description)
	switch {
	case in.Description == "":
		fs.Add("description", "is required")
	case len(in.Description) > l.TextBytes:
		fs.Add("description", "must be at most %d bytes", l.TextBytes)
	}
	uploads, err := s.checkPhotos(&fs, in.Photos)
	if err != nil {
		return nil, err
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	if err := s.refuseBlocked(ctx, in.Email, in.Phone); err != nil {
		return nil, err
	}
	ref := ticket.CustomerRef{Name: in.Name, Email: in.Email}
	if in.Email == "" {
		ref.Phone = in.Phone
	}
	sub := &submission{email: in.Email, phone: in.Phone, lang: langOr(in.Lang)}
	t, err := s.Tickets.Create(context.WithValue(kefu.WithActor(ctx, formActor), submissionKey{}, sub), ticket.NewTicket{
		Subject: subjectOf(in.Description), Customer: ref, Channel: FormChannel, Category: in.Category, OrderNumber: in.OrderNumber,
		Message: ticket.NewMessage{Kind: ticket.FromCustomer, Text: in.Description, Attachments: uploads}})
	if err != nil {
		return nil, err
	}
	if in.Email != "" && in.Phone != "" {
		// The phone number joins the customer found by email, unless it
		// is someone else's: then it stays in the ticket's text only.
		_, err := s.Customers.AddIdentity(kefu.WithActor(ctx, formActor), t.CustomerID, customer.NewIdent{Kind: customer.Phone, Value: in.Phone})
		if err != nil && !kefu.IsCode(err, kefu.Conflict) {
			return nil, err
		}
	}
	return &Receipt{Ticket: t}, nil
}

// checkCategory accepts a key of a category in use.
func (s *Service) checkCategory(ctx context.Context, fs *kefu.Fields, key string) error {
	cats, err := s.Tickets.Categories(ctx)
	if err != nil {
		return err
	}
	for _, c := range cats {
		if c.Key == key && !c.Archived {
			return nil
		}
	}
	if key == "" {
		fs.Add("category", "is required")
	} else {
		fs.Add("category", "choose one of the listed categories")
	}
	return nil
}

// refuseBlocked turns away a customer the shop has stopped serving.
func (s *Service) refuseBlocked(ctx context.Context, email, phone string) error {
	for _, id := range []struct{ kind, value string }{{customer.Email, email}, {customer.Phone, phone}} {
		if id.value == "" {
			continue
		}
		c, err := s.Customers.FindByIdentity(ctx, id.kind, id.value)
		if kefu.IsCode(err, kefu.NotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if c.Blocked {
			return kefu.Errorf(kefu.Forbidden, "we cannot accept requests from this address; please contact the shop directly")
		}
	}
	return nil
}

// photoTypes are the pictures accepted: what phones and cameras produce.
var photoTypes = []string{"image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/heif"}

// checkPhotos validates photos and returns them as uploads with the type
// their content shows; the content is read again from the start.
func (s *Service) checkPhotos(fs *kefu.Fields, photos []Photo) ([]ticket.Upload, error) {
	l := s.limits()
	if len(photos) > l.Photos {
		fs.Add("photos", "at most %d photos", l.Photos)
		return nil, nil
	}
	out := make([]ticket.Upload, 0, len(photos))
	for i, p := range photos {
		field := fmt.Sprintf("photos[%d]", i)
		name := cleanName(p.Filename, i)
		if p.Size > l.PhotoBytes {
			fs.Add(field, "%s is larger than %d MB", name, l.PhotoBytes>>20)
			continue
		}
		head := make([]byte, 16)
		n, err := io.ReadFull(p.Content, head)
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			return nil, err
		}
		if _, err := p.Content.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		ct := blob.Sniff(head[:n])
		if !slices.Contains(photoTypes, ct) {
			fs.Add(field, "%s is not a photo (JPEG, PNG, GIF, WebP or HEIC)", name)
			continue
		}
		out = append(out, ticket.Upload{Filename: name, ContentType: ct, Content: p.Content})
	}
	return out, nil
}

// cleanName keeps the last element of an uploaded file's name, which a
// browser may send with a path, and names an unnamed one.
func cleanName(name string, i int) string {
	name = strings.TrimSpace(path.Base(strings.ReplaceAll(name, "\\", "/")))
	if name == "" || name == "." || name == "/" {
		return fmt.Sprintf("photo-%d", i+1)
	}
	if len(name) > 200 {
		name = name[len(name)-200:]
		for !utf8.ValidString(name) {
			name = name[1:]
		}
	}
	return name
}

// subjectOf is a ticket subject from the description: its first line,
// cut at 80 characters.
func subjectOf(desc string) string {
	line, _, _ := strings.Cut(desc, "\n")
	line = strings.Join(strings.Fields(line), " ")
	if r := []rune(line); len(r) > 80 {
		line = string(r[:80]) + "…"
	}
	return line
}

// TicketChanged acknowledges a ticket the contact form just opened, and
// tells a customer who left only a phone number of a reply, both in the
// transaction of the change.
func (s *Service) TicketChanged(ctx context.Context, tx *sql.Tx, c ticket.Change) error {
	if sub, ok := ctx.Value(submissionKey{}).(*submission); ok && !sub.done && c.Before == nil {
		sub.done = true
		if sub.email != "" {
			return s.Mail.Acknowledge(ctx, tx, c.After, sub.email, sub.lang)
		}
		return s.sendSMS(ctx, tx, "ack:"+c.After.ID, SMS{To: mustPhone(sub.phone), Purpose: "acknowledgement", Lang: sub.lang,
			CustomerID: c.After.CustomerID, TicketID: c.After.ID,
			Text: text(sub.lang, "ack.sms", "key", c.After.Key, "link", withLink(sub.lang, "sms.link", s.link("/portal", nil)))})
	}
	if c.Message == nil || c.Message.Kind != ticket.Reply || (c.After.Channel != FormChannel && c.After.Channel != "portal") {
		return nil
	}
	return s.replyNotice(ctx, tx, c)
}

// replyNotice queues a text message about a public reply for a customer
// with a phone number but no working email address: mail goes out by
// itself (internal/email) to everyone else.
func (s *Service) replyNotice(ctx context.Context, tx *sql.Tx, c ticket.Change) error {
	rows, err := tx.QueryContext(ctx, `SELECT i.kind, i.value_norm, c.language FROM customer_identities i JOIN customers c ON c.id = i.customer_id
		WHERE i.customer_id = $1 AND NOT i.failing ORDER BY i.created_at, i.id`, c.After.CustomerID)
	if err != nil {
		return fmt.Errorf("portal: reply notice: %w", err)
	}
	var phone, lang string
	hasEmail := false
	for rows.Next() {
		var kind, value string
		if err := rows.Scan(&kind, &value, &lang); err != nil {
			rows.Close()
			return err
		}
		switch {
		case kind == customer.Email:
			hasEmail = true
		case kind == customer.Phone && phone == "":
			phone = value
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil || hasEmail || phone == "" {
		return err
	}
	if lang == "" {
		lang = guessLang(c.After.Subject)
	}
	u := s.link("/portal/t/"+url.PathEscape(c.After.Key), nil)
	return s.sendSMS(ctx, tx, "reply:"+c.Message.ID, SMS{To: phone, Purpose: "reply_notice", Lang: langOr(lang),
		CustomerID: c.After.CustomerID, TicketID: c.After.ID, Text: text(lang, "reply.sms", "key", c.After.Key, "link", withLink(lang, "sms.link", u))})
}

// mustPhone normalises a number Submit has already checked.
func mustPhone(v string) string {
	n, _ := customer.Normalize(customer.Phone, v)
	return n
}

// guessLang is Chinese for a text with Chinese in it, else English.
func guessLang(s string) string {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return "zh-CN"
		}
	}
	return "en"
}
