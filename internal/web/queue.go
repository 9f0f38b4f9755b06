package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// queueData is what the queue page shows.
type queueData struct {
	Views   []queueView
	View    queueView
	Page    *ticket.Page
	Cursor  string
	Filter  url.Values
	Dir     *directory
	Results []bulkResult
	// Clocks are the SLA clocks of the listed tickets that have one, by
	// ticket id; DueCount of them lead the list in deadline order.
	Clocks   map[string]sla.ClockView
	DueCount int
}

// pageSize is the queue page length: a screenful on a laptop.
const pageSize = 50

func (s *Server) queuePage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	vs, err := s.views(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := findView(ctx, vs, chi.URLParam(r, "view"), r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var page *ticket.Page
	var clocks map[string]sla.ClockView
	var dueCount int
	if v.SLA {
		page, clocks, _, err = s.slaView(ctx, v.ID)
	} else {
		f := v.Filter
		f.Limit = pageSize
		f.Cursor = r.URL.Query().Get("cursor")
		page, err = s.Tickets.List(ctx, f)
		if err == nil && v.Due != nil && f.Cursor == "" {
			var due []*ticket.Ticket
			if due, clocks, err = s.dueFirst(ctx, v); err == nil && len(due) > 0 {
				page = &ticket.Page{Tickets: mergeDue(due, page.Tickets), NextCursor: page.NextCursor}
				dueCount = len(due)
			}
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	dir, err := s.directory(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	_, fq := parseFilter(v.Query, "")
	d := queueData{Views: vs, View: v, Page: page, Cursor: r.URL.Query().Get("cursor"), Filter: fq, Dir: dir, Clocks: clocks, DueCount: dueCount}
	if r.URL.Query().Get("fragment") == "list" {
		render(w, r, http.StatusOK, queueList(d))
		return
	}
	render(w, r, http.StatusOK, queuePage(d))
}

// countsFragment is the sidebar with every view's count; consoles fetch
// it on load and again whenever tickets change.
func (s *Server) countsFragment(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	vs, err := s.views(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.count(ctx, vs); err != nil {
		s.fail(w, r, err)
		return
	}
	render(w, r, http.StatusOK, viewNav(vs, r.URL.Query().Get("active")))
}

func (s *Server) saveView(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := s.createView(ctx, r.PostFormValue("name"), filterQuery(mustForm(r)))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	redirect(w, r, "/queue/v-"+id)
}

func (s *Server) deleteView(w http.ResponseWriter, r *http.Request) {
	if err := s.removeView(r.Context(), chi.URLParam(r, "id")); err != nil {
		s.fail(w, r, err)
		return
	}
	redirect(w, r, "/queue/mine")
}

// mustForm returns the parsed form (body and query); a malformed body
// reads as empty and fails validation downstream.
func mustForm(r *http.Request) url.Values {
	_ = r.ParseForm()
	return r.Form
}

// redirect sends the browser to target after a form post, the htmx way
// for htmx requests.
func redirect(w http.ResponseWriter, r *http.Request, target string) {
	if isHTMX(r) {
		w.Header().Set("HX-Location", target)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// bulkResult is the outcome of a bulk action on one ticket.
type bulkResult struct {
	Key   string
	Error string
}

// maxBulk bounds one bulk action: a page of the queue.
const maxBulk = 100

// bulk applies one change to the checked tickets. Each ticket is updated
// on its own with version 0 (no staleness check: the agent chose the
// change for whatever the tickets are now) so one refusal (a closed
// ticket cannot move) does not stop the others; every failure is
// reported by ticket.
func (s *Server) bulk(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	form := mustForm(r)
	ids := form["id"]
	if len(ids) == 0 {
		s.fail(w, r, kefu.Fieldf("id", "%s", T(ctx, "bulk.none")))
		return
	}
	if len(ids) > maxBulk {
		s.fail(w, r, kefu.Fieldf("id", "at most %d tickets at once", maxBulk))
		return
	}
	var p ticket.Patch
	switch form.Get("action") {
	case "assign":
		v := form.Get("assignee")
		if v == "me" {
			v = kefu.ActorFrom(ctx).ID
		}
		p.AssigneeID = &v
	case "status":
		st := ticket.Status(form.Get("status"))
		p.Status = &st
	case "close":
		st := ticket.Closed
		p.Status = &st
	case "tag":
		tag := strings.TrimSpace(form.Get("tag"))
		if tag == "" {
			s.fail(w, r, kefu.Fieldf("tag", "%s", T(ctx, "bulk.tag_required")))
			return
		}
		p.AddTags = []string{tag}
	default:
		s.fail(w, r, kefu.Fieldf("action", "must be assign, status, tag or close"))
		return
	}
	var results []bulkResult
	for _, id := range slices.Compact(slices.Sorted(slices.Values(ids))) {
		t, err := s.Tickets.Update(ctx, id, 0, p)
		res := bulkResult{Key: id}
		if t != nil {
			res.Key = t.Key
		}
		if err != nil {
			res.Error = message(r, err)
			if cur, gerr := s.Tickets.Get(ctx, id); gerr == nil {
				res.Key = cur.Key
			}
		}
		results = append(results, res)
	}
	w.Header().Set("HX-Trigger", "refresh-list")
	render(w, r, http.StatusOK, bulkReport(results))
}

// mergeDue puts the due tickets first and the rest after, each once.
func mergeDue(due, rest []*ticket.Ticket) []*ticket.Ticket {
	seen := make(map[string]bool, len(due))
	out := make([]*ticket.Ticket, 0, len(due)+len(rest))
	for _, t := range due {
		seen[t.ID] = true
		out = append(out, t)
	}
	for _, t := range rest {
		if !seen[t.ID] {
			out = append(out, t)
		}
	}
	return out
}

// countLabel shows a capped count.
func countLabel(v queueView) string {
	switch {
	case v.Count < 0:
		return ""
	case v.More:
		return fmt.Sprintf("%d+", v.Count)
	}
	return fmt.Sprint(v.Count)
}
