package api

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/ticket"
)

type idPath struct {
	ID string `path:"id" doc:"The id (or for tickets also the key, such as KF-10234)"`
}

type ticketOut struct {
	ETag string `header:"ETag"`
	Body *ticket.Ticket
}

func ticketResult(t *ticket.Ticket, err error) (*ticketOut, error) {
	if err != nil {
		return nil, err
	}
	return &ticketOut{ETag: etag(t.Version), Body: t}, nil
}

type listTicketsIn struct {
	Status        []string  `query:"status" doc:"Comma-separated statuses"`
	Priority      []string  `query:"priority" doc:"Comma-separated priorities"`
	Assignee      string    `query:"assignee" doc:"Staff id, \"me\" or \"none\""`
	Department    string    `query:"department" doc:"Department id or \"none\""`
	Category      string    `query:"category"`
	Tag           string    `query:"tag"`
	Customer      string    `query:"customer" doc:"Customer id"`
	Channel       string    `query:"channel"`
	OrderNumber   string    `query:"order_number"`
	CreatedAfter  time.Time `query:"created_after" doc:"RFC 3339"`
	CreatedBefore time.Time `query:"created_before" doc:"RFC 3339"`
	UpdatedAfter  time.Time `query:"updated_after" doc:"RFC 3339"`
	UpdatedBefore time.Time `query:"updated_before" doc:"RFC 3339"`
	Cursor        string    `query:"cursor" doc:"next_cursor of the previous page"`
	Limit         int       `query:"limit" minimum:"1" maximum:"100" default:"25"`
}

type pageOut struct{ Body *ticket.Page }

func (s *Server) listTickets(ctx context.Context, in *listTicketsIn) (*pageOut, error) {
	f := ticket.Filter{AssigneeID: in.Assignee, DepartmentID: in.Department, Category: in.Category, Tag: in.Tag,
		CustomerID: in.Customer, Channel: in.Channel, OrderNumber: in.OrderNumber, CreatedAfter: in.CreatedAfter,
		CreatedBefore: in.CreatedBefore, UpdatedAfter: in.UpdatedAfter, UpdatedBefore: in.UpdatedBefore,
		Cursor: in.Cursor, Limit: in.Limit}
	if f.AssigneeID == "me" {
		f.AssigneeID = kefu.ActorFrom(ctx).ID
	}
	for _, st := range splitList(in.Status) {
		f.Status = append(f.Status, ticket.Status(st))
	}
	for _, p := range splitList(in.Priority) {
		f.Priority = append(f.Priority, ticket.Priority(p))
	}
	page, err := s.Tickets.List(ctx, f)
	if err != nil {
		return nil, inQuery(err)
	}
	return &pageOut{Body: page}, nil
}

// splitList accepts both status=a,b and status=a&status=b.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// inQuery locates field errors of a list filter in the query string.
func inQuery(err error) error {
	var e *kefu.Error
	if errors.As(err, &e) {
		c := *e
		c.Fields = make([]kefu.FieldError, len(e.Fields))
		for i, f := range e.Fields {
			c.Fields[i] = kefu.FieldError{Field: "query." + f.Field, Message: f.Message}
		}
		return &c
	}
	return err
}

type createTicketIn struct {
	IdempotencyKey string `header:"Idempotency-Key" doc:"A retried request with the same key creates nothing twice"`
	Body           ticket.NewTicket
}

type createdTicketOut struct {
	Status   int
	ETag     string `header:"ETag"`
	Location string `header:"Location"`
	Body     *ticket.Ticket
}

func (s *Server) createTicket(ctx context.Context, in *createTicketIn) (*createdTicketOut, error) {
	t, err := s.Tickets.Create(ctx, in.Body)
	if err != nil {
		return nil, err
	}
	return &createdTicketOut{Status: 201, ETag: etag(t.Version), Location: "/api/v1/tickets/" + t.ID, Body: t}, nil
}

func (s *Server) getTicket(ctx context.Context, in *idPath) (*ticketOut, error) {
	return ticketResult(s.Tickets.Get(ctx, in.ID))
}

type updateTicketIn struct {
	ID      string `path:"id"`
	IfMatch string `header:"If-Match" doc:"The ETag of the version being changed; a stale one gets 412 with the current ticket"`
	Body    ticket.Patch
}

func (s *Server) updateTicket(ctx context.Context, in *updateTicketIn) (*ticketOut, error) {
	v, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	t, err := s.Tickets.Get(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return ticketResult(s.Tickets.Update(ctx, t.ID, v, in.Body))
}

type listMessagesIn struct {
	ID     string `path:"id"`
	Cursor string `query:"cursor" doc:"Id of the last message seen"`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"100"`
}

type messagesOut struct {
	Body struct {
		Messages []ticket.Message `json:"messages"`
	}
}

func (s *Server) listMessages(ctx context.Context, in *listMessagesIn) (*messagesOut, error) {
	t, err := s.Tickets.Get(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	ms, err := s.Tickets.Messages(ctx, t.ID, in.Cursor, in.Limit)
	if err != nil {
		return nil, inQuery(err)
	}
	out := &messagesOut{}
	out.Body.Messages = ms
	return out, nil
}

type addMessageIn struct {
	ID             string `path:"id"`
	IdempotencyKey string `header:"Idempotency-Key"`
	Body           ticket.NewMessage
}

type addMessageOut struct {
	Status int
	Body   struct {
		Ticket  *ticket.Ticket  `json:"ticket" doc:"The ticket after the message; a follow-up ticket when the original was closed"`
		Message *ticket.Message `json:"message"`
	}
}

func (s *Server) addMessage(ctx context.Context, in *addMessageIn) (*addMessageOut, error) {
	t, err := s.Tickets.Get(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	t, m, err := s.Tickets.AddMessage(ctx, t.ID, in.Body)
	if err != nil {
		return nil, err
	}
	out := &addMessageOut{Status: 201}
	out.Body.Ticket, out.Body.Message = t, m
	return out, nil
}

type mergeIn struct {
	ID   string `path:"id"`
	Body struct {
		SourceID string `json:"source_id" doc:"The id of the record merged into this one"`
	}
}

func (s *Server) mergeTicket(ctx context.Context, in *mergeIn) (*ticketOut, error) {
	t, err := s.Tickets.Get(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return ticketResult(s.Tickets.Merge(ctx, t.ID, in.Body.SourceID))
}

type auditIn struct {
	ID     string `path:"id"`
	Cursor string `query:"cursor" doc:"Id of the last entry seen"`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"100"`
}

type auditOut struct {
	Body struct {
		Entries    []audit.Entry `json:"entries"`
		NextCursor string        `json:"next_cursor"`
	}
}

func auditPage(entries []audit.Entry, limit int, err error) (*auditOut, error) {
	if err != nil {
		return nil, err
	}
	out := &auditOut{}
	out.Body.Entries = entries
	if out.Body.Entries == nil {
		out.Body.Entries = []audit.Entry{}
	}
	if len(entries) == limit {
		out.Body.NextCursor = entries[len(entries)-1].ID
	}
	return out, nil
}

func (s *Server) ticketAudit(ctx context.Context, in *auditIn) (*auditOut, error) {
	t, err := s.Tickets.Get(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	entries, err := audit.List(ctx, s.DB.Read, audit.Filter{TicketID: t.ID, Before: in.Cursor, Limit: in.Limit})
	return auditPage(entries, in.Limit, err)
}

// getAttachment streams the file. It is always a download unless it is an
// image, and nosniff stops browsers guessing a script out of it.
func (s *Server) getAttachment(ctx context.Context, in *idPath) (*huma.StreamResponse, error) {
	a, f, err := s.Tickets.OpenAttachment(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return streamFile(a.ContentType, a.Filename, a.Size, f), nil
}

type categoriesOut struct {
	Body struct {
		Categories []ticket.Category `json:"categories"`
	}
}

func (s *Server) listCategories(ctx context.Context, _ *struct{}) (*categoriesOut, error) {
	cs, err := s.Tickets.Categories(ctx)
	if err != nil {
		return nil, err
	}
	out := &categoriesOut{}
	out.Body.Categories = cs
	return out, nil
}

type saveCategoryIn struct {
	Key  string `path:"key"`
	Body struct {
		NameEn   string `json:"name_en"`
		NameZh   string `json:"name_zh,omitempty"`
		Position int    `json:"position,omitempty"`
		Archived bool   `json:"archived,omitempty"`
	}
}

func (s *Server) saveCategory(ctx context.Context, in *saveCategoryIn) (*categoriesOut, error) {
	b := in.Body
	if err := s.Tickets.SaveCategory(ctx, ticket.Category{Key: in.Key, NameEn: b.NameEn, NameZh: b.NameZh, Position: b.Position, Archived: b.Archived}); err != nil {
		return nil, err
	}
	return s.listCategories(ctx, nil)
}

type customFieldsOut struct {
	Body struct {
		CustomFields []ticket.CustomField `json:"custom_fields"`
	}
}

func (s *Server) listCustomFields(ctx context.Context, _ *struct{}) (*customFieldsOut, error) {
	fs, err := s.Tickets.CustomFields(ctx)
	if err != nil {
		return nil, err
	}
	out := &customFieldsOut{}
	out.Body.CustomFields = fs
	return out, nil
}

type saveCustomFieldIn struct {
	Key  string `path:"key"`
	Body struct {
		LabelEn  string   `json:"label_en"`
		LabelZh  string   `json:"label_zh,omitempty"`
		Type     string   `json:"type" enum:"text,number,date,select"`
		Options  []string `json:"options,omitempty"`
		Position int      `json:"position,omitempty"`
		Archived bool     `json:"archived,omitempty"`
	}
}

func (s *Server) saveCustomField(ctx context.Context, in *saveCustomFieldIn) (*customFieldsOut, error) {
	b := in.Body
	err := s.Tickets.SaveCustomField(ctx, ticket.CustomField{Key: in.Key, LabelEn: b.LabelEn, LabelZh: b.LabelZh, Type: b.Type,
		Options: b.Options, Position: b.Position, Archived: b.Archived})
	if err != nil {
		return nil, err
	}
	return s.listCustomFields(ctx, nil)
}
