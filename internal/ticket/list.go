package ticket

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
)

// Filter selects tickets for a list. Empty fields select everything.
type Filter struct {
	Status        []Status
	Priority      []Priority
	AssigneeID    string // an id, or "none" for unassigned
	DepartmentID  string // an id, or "none"
	Category      string
	Tag           string
	CustomerID    string
	Channel       string
	OrderNumber   string
	CreatedAfter  time.Time
	CreatedBefore time.Time
	UpdatedAfter  time.Time
	UpdatedBefore time.Time
	Cursor        string // from the previous page's NextCursor
	Limit         int
}

// Page is one page of a list.
type Page struct {
	Tickets    []*Ticket `json:"tickets"`
	NextCursor string    `json:"next_cursor" doc:"Pass as cursor for the next page; empty on the last page"`
}

// List returns tickets the actor may see, newest first. Ids are UUIDv7,
// so id order is creation order and the cursor is the last id seen: each
// page is an index range scan, however deep.
func (s *Service) List(ctx context.Context, f Filter) (*Page, error) {
	var fs kefu.Fields
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	in := func(col string, vals []string) string {
		ph := make([]string, len(vals))
		for i, v := range vals {
			ph[i] = arg(v)
		}
		return col + " IN (" + strings.Join(ph, ", ") + ")"
	}
	if len(f.Status) > 0 {
		vals := make([]string, len(f.Status))
		for i, st := range f.Status {
			if !slices.Contains(Statuses, st) {
				fs.Add("status", "%q is not a status", st)
			}
			vals[i] = string(st)
		}
		where = append(where, in("t.status", vals))
	}
	if len(f.Priority) > 0 {
		vals := make([]string, len(f.Priority))
		for i, p := range f.Priority {
			if !slices.Contains(Priorities, p) {
				fs.Add("priority", "%q is not a priority", p)
			}
			vals[i] = string(p)
		}
		where = append(where, in("t.priority", vals))
	}
	idFilter := func(field, col, v string) {
		switch {
		case v == "":
		case v == "none":
			where = append(where, col+" IS NULL")
		case !kefu.ValidID(v):
			fs.Add(field, "is not an id")
		default:
			where = append(where, col+" = "+arg(v))
		}
	}
	idFilter("assignee", "t.assignee_id", f.AssigneeID)
	idFilter("department", "t.department_id", f.DepartmentID)
	if f.CustomerID != "" {
		idFilter("customer", "t.customer_id", f.CustomerID)
	}
	if f.Category != "" {
		where = append(where, "t.category = "+arg(f.Category))
	}
	if f.Channel != "" {
		where = append(where, "t.channel = "+arg(f.Channel))
	}
	if f.OrderNumber != "" {
		where = append(where, "t.order_number = "+arg(NormalizeOrderNumber(f.OrderNumber)))
	}
	if f.Tag != "" {
		// EXISTS, not IN (SELECT …): the planners then walk tickets newest
		// first and probe the tag index per ticket, stopping at a page,
		// instead of collecting every ticket with the tag and sorting.
		where = append(where, "EXISTS (SELECT 1 FROM ticket_tags tg WHERE tg.ticket_id = t.id AND tg.tag = "+arg(f.Tag)+")")
	}
	for _, r := range []struct {
		col string
		op  string
		t   time.Time
	}{{"t.created_at", ">=", f.CreatedAfter}, {"t.created_at", "<", f.CreatedBefore}, {"t.updated_at", ">=", f.UpdatedAfter}, {"t.updated_at", "<", f.UpdatedBefore}} {
		if !r.t.IsZero() {
			where = append(where, r.col+" "+r.op+" "+arg(r.t.UTC()))
		}
	}
	if f.Cursor != "" {
		last, err := base64.RawURLEncoding.DecodeString(f.Cursor)
		if err != nil || !kefu.ValidID(string(last)) {
			fs.Add("cursor", "is not a cursor from a previous page")
		} else {
			where = append(where, "t.id < "+arg(string(last)))
		}
	}
	if f.Limit <= 0 {
		f.Limit = 25
	}
	if f.Limit > 100 {
		fs.Add("limit", "must be at most 100")
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	cond, vargs := visible(audit.ActorOf(ctx), len(args))
	args = append(args, vargs...)
	where = append(where, cond, "t.merged_into IS NULL")
	// One row more than asked tells whether another page exists.
	q := `SELECT ` + ticketColumns + ` FROM tickets t WHERE ` + strings.Join(where, " AND ") +
		fmt.Sprintf(` ORDER BY t.id DESC LIMIT %d`, f.Limit+1)
	rows, err := s.DB.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("ticket: list: %w", err)
	}
	defer rows.Close()
	page := &Page{Tickets: []*Ticket{}}
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, fmt.Errorf("ticket: list: %w", err)
		}
		page.Tickets = append(page.Tickets, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(page.Tickets) > f.Limit {
		page.Tickets = page.Tickets[:f.Limit]
		page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(page.Tickets[f.Limit-1].ID))
	}
	return page, loadTags(ctx, s.DB.Read, page.Tickets)
}
