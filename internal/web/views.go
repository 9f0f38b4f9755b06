package web

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/team"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// active are the statuses of tickets someone still has to work on.
var active = []ticket.Status{ticket.New, ticket.Open, ticket.PendingInternal}

// queueView is one list in the sidebar: a built-in view, a department's
// queue or a saved view, with the ticket filter behind it.
type queueView struct {
	ID     string // mine, unassigned, pending, solved, d-<department id>, v-<saved view id>, custom
	Label  string
	Filter ticket.Filter
	Query  string // the filter as a query string, for saved and custom views
	Count  int    // -1 until counted
	More   bool   // more than Count
	Saved  bool
	SLA    bool // listed by SLA deadline, from the SLA's due list
	// Due, when set, puts the view's tickets with running SLA clocks
	// first, in deadline order, above the rest (newest first).
	Due *sla.DueFilter
}

// countCap bounds the work of a count: a view shows "100+" past it.
// Exact counts over a million tickets would cost a scan per view on
// every change; a capped count is one index range read.
const countCap = 100

// views lists the sidebar views for the signed-in actor: built-ins, the
// queues of the departments they work in (every department for those who
// see all tickets) and their saved views.
func (s *Server) views(ctx context.Context) ([]queueView, error) {
	a := kefu.ActorFrom(ctx)
	vs := []queueView{
		{ID: "mine", Label: T(ctx, "view.mine"), Filter: ticket.Filter{AssigneeID: a.ID, Status: active}},
		{ID: "unassigned", Label: T(ctx, "view.unassigned"), Filter: ticket.Filter{AssigneeID: "none", Status: active}},
		{ID: "pending", Label: T(ctx, "view.pending"), Filter: ticket.Filter{Status: []ticket.Status{ticket.PendingCustomer}}},
		// Solved and not yet closed: closing archives a ticket, so these
		// are the recent ones. (A time window on updated_at would make the
		// list scan every solved ticket ever on a large store.)
		{ID: "solved", Label: T(ctx, "view.solved"), Filter: ticket.Filter{Status: []ticket.Status{ticket.Solved}}},
	}
	if s.SLA != nil {
		vs[0].Due = &sla.DueFilter{Assignee: a.ID}
		vs[1].Due = &sla.DueFilter{Assignee: "none"}
		vs = append(vs[:2], append([]queueView{
			{ID: "due", Label: T(ctx, "view.due"), SLA: true},
			{ID: "breached", Label: T(ctx, "view.breached"), SLA: true},
		}, vs[2:]...)...)
	}
	deps, err := s.Team.ListDepartments(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range deps {
		if !a.SeesAllTickets() && !a.InDepartment(d.ID) {
			continue
		}
		v := queueView{ID: "d-" + d.ID, Label: deptName(ctx, d), Filter: ticket.Filter{DepartmentID: d.ID, Status: active}}
		if s.SLA != nil {
			v.Due = &sla.DueFilter{Department: d.ID}
		}
		vs = append(vs, v)
	}
	saved, err := s.savedViews(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	for _, v := range saved {
		f, _ := parseFilter(v.Query, a.ID)
		vs = append(vs, queueView{ID: "v-" + v.ID, Label: v.Label, Filter: f, Query: v.Query, Saved: true})
	}
	for i := range vs {
		vs[i].Count = -1
	}
	return vs, nil
}

func deptName(ctx context.Context, d team.Department) string {
	if lang(ctx) == "zh-CN" && d.NameZh != "" {
		return d.NameZh
	}
	return d.Name
}

// count fills in each view's capped count.
func (s *Server) count(ctx context.Context, vs []queueView) error {
	if s.SLA != nil {
		if err := s.countSLA(ctx, vs); err != nil {
			return err
		}
	}
	for i := range vs {
		if vs[i].SLA {
			continue
		}
		n, more, err := s.counts.get(ctx, vs[i].Filter, s.Tickets.List)
		if err != nil {
			return err
		}
		vs[i].Count, vs[i].More = n, more
	}
	return nil
}

// filterParams are the query parameters a ticket filter is written as.
var filterParams = []string{"status", "priority", "assignee", "department", "category", "tag", "channel", "order", "customer"}

// parseFilter reads a filter from a query string. "me" as assignee is
// the viewer, so a saved "mine" view works for whoever saved it.
func parseFilter(query string, meID string) (ticket.Filter, url.Values) {
	q, _ := url.ParseQuery(query)
	var f ticket.Filter
	for _, st := range q["status"] {
		if st != "" {
			f.Status = append(f.Status, ticket.Status(st))
		}
	}
	for _, p := range q["priority"] {
		if p != "" {
			f.Priority = append(f.Priority, ticket.Priority(p))
		}
	}
	f.AssigneeID = q.Get("assignee")
	if f.AssigneeID == "me" {
		f.AssigneeID = meID
	}
	f.DepartmentID = q.Get("department")
	f.Category = q.Get("category")
	f.Tag = q.Get("tag")
	f.Channel = q.Get("channel")
	f.OrderNumber = q.Get("order")
	f.CustomerID = q.Get("customer")
	return f, q
}

// filterQuery keeps only the filter parameters of q, in a stable order.
func filterQuery(q url.Values) string {
	out := url.Values{}
	for _, k := range filterParams {
		for _, v := range q[k] {
			if v = strings.TrimSpace(v); v != "" {
				out.Add(k, v)
			}
		}
	}
	return out.Encode()
}

type savedView struct {
	ID, Label, Query string
}

func (s *Server) savedViews(ctx context.Context, ownerID string) ([]savedView, error) {
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT CAST(id AS text), name, filter FROM saved_views WHERE owner_id = $1 ORDER BY name`, ownerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []savedView
	for rows.Next() {
		var v savedView
		if err := rows.Scan(&v.ID, &v.Label, &v.Query); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// createView saves a filter under a name for the actor.
func (s *Server) createView(ctx context.Context, name, query string) (string, error) {
	a := kefu.ActorFrom(ctx)
	name = strings.TrimSpace(name)
	var fs kefu.Fields
	if name == "" || len(name) > 100 {
		fs.Add("name", "must be 1 to 100 bytes")
	}
	if query == "" {
		fs.Add("filter", "choose at least one filter before saving a view")
	}
	if err := fs.Err(); err != nil {
		return "", err
	}
	// The ticket list validates the filter (statuses, ids) for us.
	f, _ := parseFilter(query, a.ID)
	f.Limit = 1
	if _, err := s.Tickets.List(ctx, f); err != nil {
		return "", err
	}
	id := kefu.NewID()
	_, err := s.DB.Write.ExecContext(ctx, `INSERT INTO saved_views (id, owner_id, name, filter, created_at) VALUES ($1, $2, $3, $4, $5)`,
		id, a.ID, name, query, s.Now())
	if err != nil && s.DB.Dialect.IsUniqueViolation(err) {
		return "", kefu.Fieldf("name", "you already have a view named %q", name)
	}
	return id, err
}

func (s *Server) removeView(ctx context.Context, id string) error {
	if !kefu.ValidID(id) {
		return kefu.Errorf(kefu.NotFound, "no view %s", id)
	}
	res, err := s.DB.Write.ExecContext(ctx, `DELETE FROM saved_views WHERE id = $1 AND owner_id = $2`, id, kefu.ActorFrom(ctx).ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return kefu.Errorf(kefu.NotFound, "no view %s", id)
	}
	return nil
}

// findView returns the view with id among vs, or builds the "custom"
// view from the request's filter parameters.
func findView(ctx context.Context, vs []queueView, id string, q url.Values) (queueView, error) {
	if id == "custom" {
		query := filterQuery(q)
		f, _ := parseFilter(query, kefu.ActorFrom(ctx).ID)
		return queueView{ID: "custom", Label: T(ctx, "view.custom"), Filter: f, Query: query, Count: -1}, nil
	}
	if i := slices.IndexFunc(vs, func(v queueView) bool { return v.ID == id }); i >= 0 {
		return vs[i], nil
	}
	return queueView{}, kefu.Errorf(kefu.NotFound, "no view %s", id)
}
