package aftersales

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/blob"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/shop"
	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// Service opens cases and moves them along.
type Service struct {
	DB      *database.DB
	Now     func() time.Time
	Tickets *ticket.Service
	Shop    *shop.Service
	// SLA keeps the refund and complaint deadlines; its Calendars count
	// working days.
	SLA   *sla.Service
	Blobs blob.Store
	// Mail queues a notice to the customer in the caller's transaction,
	// as the shop's order notices are sent; nil records them skipped.
	Mail Mailer
	// Changed is told, inside the transaction of every change, which
	// ticket's case changed, so open consoles show it (a bus publish).
	Changed func(ctx context.Context, tx *sql.Tx, ticketID string) error
}

// Mailer queues one mail to a customer about a ticket inside tx
// (email.Outbound's NotifyCustomer) and returns its outbound log id. It
// answers kefu.NotFound when there is no mailbox to send from: the notice
// is then recorded as skipped rather than failing the step.
type Mailer func(ctx context.Context, tx *sql.Tx, ticketID, to, subject, text string) (mailID string, err error)

// canRead: every signed-in staff role reads cases of tickets it sees;
// customers read their own (the portal).
func canRead(a kefu.Actor) bool {
	return a.Kind == kefu.ActorSystem || a.Kind == kefu.ActorCustomer || (a.Kind == kefu.ActorStaff && a.Role != "")
}

// Get returns a case the actor may see, by id or key (AS-1001), with
// everything done about it.
func (s *Service) Get(ctx context.Context, idOrKey string) (*Case, error) {
	c, err := s.get(ctx, s.DB.Read, idOrKey)
	if err != nil {
		return nil, err
	}
	if err := s.loadDetail(ctx, s.DB.Read, c); err != nil {
		return nil, err
	}
	c.Next = allowed(c, audit.ActorOf(ctx))
	return c, nil
}

// get reads a case's row and items, if the actor may see its ticket.
func (s *Service) get(ctx context.Context, q database.Querier, idOrKey string) (*Case, error) {
	a := audit.ActorOf(ctx)
	if !canRead(a) {
		return nil, kefu.Errorf(kefu.Forbidden, "sign in to see after-sales cases")
	}
	cond := "c.id = $1"
	var arg any = idOrKey
	if n, ok := ParseKey(idOrKey); ok && !kefu.ValidID(idOrKey) {
		cond, arg = "c.number = $1", n
	} else if !kefu.ValidID(idOrKey) {
		return nil, kefu.Errorf(kefu.NotFound, "no case %s", idOrKey)
	}
	vis, args := ticket.VisibleCondition(a, 1)
	c, err := scanCase(q.QueryRowContext(ctx, `SELECT `+caseColumns+caseFrom+` WHERE `+cond+` AND `+vis, append([]any{arg}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kefu.Errorf(kefu.NotFound, "no case %s", idOrKey)
	}
	if err != nil {
		return nil, fmt.Errorf("aftersales: case: %w", err)
	}
	return c, loadItems(ctx, q, []*Case{c})
}

// Filter selects cases for a list.
type Filter struct {
	TicketID   string
	OrderID    string
	CustomerID string
	Kind       []Kind
	Step       []Step
	Open       *bool
	Cursor     string
	Limit      int
}

// Page is one page of cases.
type Page struct {
	Cases      []*Case `json:"cases"`
	NextCursor string  `json:"next_cursor" doc:"Pass as cursor for the next page; empty on the last page"`
}

// List returns the cases the actor may see, newest first, with their
// items (detail is read one case at a time with Get).
func (s *Service) List(ctx context.Context, f Filter) (*Page, error) {
	a := audit.ActorOf(ctx)
	if !canRead(a) {
		return nil, kefu.Errorf(kefu.Forbidden, "sign in to see after-sales cases")
	}
	var fs kefu.Fields
	conds, args := []string{}, []any{}
	add := func(cond string, v ...any) {
		for _, x := range v {
			args = append(args, x)
			cond = strings.Replace(cond, "?", fmt.Sprintf("$%d", len(args)), 1)
		}
		conds = append(conds, cond)
	}
	for _, id := range []struct{ field, col, v string }{{"ticket", "c.ticket_id", f.TicketID}, {"order", "c.order_id", f.OrderID},
		{"customer", "c.customer_id", f.CustomerID}} {
		switch {
		case id.v == "":
		case !kefu.ValidID(id.v):
			fs.Add(id.field, "is not an id")
		default:
			add(id.col+" = ?", id.v)
		}
	}
	for _, k := range f.Kind {
		if !slices.Contains(shop.Kinds, k) {
			fs.Add("kind", "%q is not a kind of case", k)
		}
	}
	for _, st := range f.Step {
		if !slices.Contains(Steps, st) {
			fs.Add("step", "%q is not a step", st)
		}
	}
	if len(f.Kind) > 0 {
		add("c.kind IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(f.Kind)), ", ")+")", anys(f.Kind)...)
	}
	if len(f.Step) > 0 {
		add("c.step IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(f.Step)), ", ")+")", anys(f.Step)...)
	}
	if f.Open != nil {
		if *f.Open {
			conds = append(conds, "c.closed_at IS NULL")
		} else {
			conds = append(conds, "c.closed_at IS NOT NULL")
		}
	}
	if f.Cursor != "" {
		last, err := base64.RawURLEncoding.DecodeString(f.Cursor)
		if err != nil || !kefu.ValidID(string(last)) {
			fs.Add("cursor", "is not a cursor from a previous page")
		} else {
			add("c.id < ?", string(last))
		}
	}
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = 25
	case limit > 100:
		fs.Add("limit", "must be at most 100")
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	vis, vargs := ticket.VisibleCondition(a, len(args))
	conds = append(conds, vis)
	args = append(args, vargs...)
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT `+caseColumns+caseFrom+` WHERE `+strings.Join(conds, " AND ")+
		fmt.Sprintf(` ORDER BY c.id DESC LIMIT %d`, limit+1), args...)
	if err != nil {
		return nil, fmt.Errorf("aftersales: list: %w", err)
	}
	page := &Page{Cases: []*Case{}}
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		page.Cases = append(page.Cases, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(page.Cases) > limit {
		page.Cases = page.Cases[:limit]
		page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(page.Cases[limit-1].ID))
	}
	for _, c := range page.Cases {
		c.Next = allowed(c, a)
	}
	return page, loadItems(ctx, s.DB.Read, page.Cases)
}

func anys[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// ForTicket returns the cases of a ticket, oldest first, each with its
// detail: the ticket page's panel and the portal's.
func (s *Service) ForTicket(ctx context.Context, ticketID string) ([]*Case, error) {
	t, err := s.Tickets.Get(ctx, ticketID)
	if err != nil {
		return nil, err
	}
	ids, err := database.Strings(ctx, s.DB.Read, `SELECT CAST(id AS text) FROM aftersales_cases WHERE ticket_id = $1 ORDER BY id`, t.ID)
	if err != nil {
		return nil, fmt.Errorf("aftersales: cases of ticket: %w", err)
	}
	out := make([]*Case, 0, len(ids))
	for _, id := range ids {
		c, err := s.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}
