package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/kefu-desk/kefu/internal/search"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// searchData is the search page.
type searchData struct {
	Views   []queueView
	Query   string
	Results *search.Results
}

// searchPage answers the search box: a ticket key opens that ticket;
// anything else (order numbers, phones, Chinese or English words) goes
// to search.Service, which finds tickets, messages and customers.
func (s *Server) searchPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if _, ok := ticket.ParseKey(q); ok {
		if t, err := s.Tickets.Get(ctx, q); err == nil {
			http.Redirect(w, r, "/t/"+t.Key, http.StatusSeeOther)
			return
		}
	}
	if s.Search == nil {
		http.Redirect(w, r, "/queue/custom?"+url.Values{"order": {q}}.Encode(), http.StatusSeeOther)
		return
	}
	vs, err := s.views(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := searchData{Views: vs, Query: q}
	if q != "" {
		if d.Results, err = s.Search.Search(ctx, search.Query{Text: q, Limit: 20}); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	render(w, r, http.StatusOK, searchView(d))
}

// searchSuggest answers the search box while the agent types: the top
// few hits, as a fragment htmx puts under the box.
func (s *Server) searchSuggest(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	var res *search.Results
	if q != "" && s.Search != nil {
		var err error
		if res, err = s.Search.Search(r.Context(), search.Query{Text: q, Limit: 4}); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	render(w, r, http.StatusOK, searchSuggest(q, res))
}
