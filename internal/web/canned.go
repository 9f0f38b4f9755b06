package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/go-chi/chi/v5"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/canned"
)

// Canned replies: Admin › Canned replies keeps the shared ones (personal
// ones are kept through the API); the composer's picker lists every reply
// the agent may use, rendered for the ticket on the server so the browser
// only ever inserts plain text.

func (s *Server) cannedRoutes(r chi.Router) {
	r.Get("/canned", s.adminCanned)
	r.Post("/canned", s.adminSaveCanned)
	r.Post("/canned/{id}", s.adminSaveCanned)
	r.Post("/canned/{id}/delete", s.adminDeleteCanned)
}

func (s *Server) listCanned(ctx context.Context, p *adminPage) error {
	rs, err := s.Canned.List(ctx)
	for _, r := range rs {
		if r.Shared() {
			p.Canned = append(p.Canned, r)
		}
	}
	return err
}

func (s *Server) adminCanned(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := s.adminBase(ctx, "canned")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Saved = savedNotice(r)
	if id := r.URL.Query().Get("id"); id != "" {
		c, err := s.Canned.Get(ctx, id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		p.Form = url.Values{"id": {c.ID}, "version": {itoa(c.Version)}, "title": {c.Title}, "body": {c.Body},
			"language": {c.Language}, "category": {c.Category}}
	}
	s.show(w, r, p, nil, s.listCanned)
}

// adminSaveCanned creates a shared reply, or changes the one in the path
// if nobody changed it since the form was shown.
func (s *Server) adminSaveCanned(w http.ResponseWriter, r *http.Request) {
	p, err := s.adminBase(r.Context(), "canned")
	s.post(w, r, p, err, s.listCanned, func(ctx context.Context, f url.Values) (string, string, error) {
		in := canned.Input{Title: f.Get("title"), Body: f.Get("body"), Language: f.Get("language"),
			Category: f.Get("category"), Shared: true}
		var err error
		if id := chi.URLParam(r, "id"); id != "" {
			f.Set("id", id)
			// An unreadable version is 0: saved without the staleness check.
			version, _ := strconv.Atoi(f.Get("version"))
			_, err = s.Canned.Update(ctx, id, version, in)
		} else {
			_, err = s.Canned.Create(ctx, in)
		}
		if kefu.IsCode(err, kefu.Stale) {
			err = kefu.Errorf(kefu.Conflict, "%s", T(ctx, "canned.stale"))
		}
		return "/admin/canned", in.Title, err
	})
}

func (s *Server) adminDeleteCanned(w http.ResponseWriter, r *http.Request) {
	if err := s.Canned.Delete(r.Context(), chi.URLParam(r, "id")); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/canned", http.StatusSeeOther)
}

// cannedPicker is the composer's list of replies, each already rendered
// with this ticket's customer, key, subject and order and the signed-in
// agent's name.
func (s *Server) cannedPicker(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, err := s.Tickets.Get(ctx, chi.URLParam(r, "key"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	vars := canned.Vars{TicketKey: t.Key, TicketSubject: t.Subject, AgentName: me(ctx).Name, OrderNumber: t.OrderNumber}
	if c, err := s.Customers.Get(ctx, t.CustomerID); err == nil {
		vars.CustomerName = c.Name
	}
	rs, err := s.Canned.List(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	items := make([]pickerItem, len(rs))
	for i, c := range rs {
		items[i] = pickerItem{Reply: c, Text: canned.Render(c.Body, vars)}
	}
	render(w, r, http.StatusOK, cannedOptions(items))
}

type pickerItem struct {
	canned.Reply
	Text string
}

// languageLabel names a reply's language; "" is any language.
func languageLabel(ctx context.Context, lang string) string {
	switch lang {
	case "en":
		return T(ctx, "canned.lang_en")
	case "zh-CN":
		return T(ctx, "canned.lang_zh_CN")
	}
	return T(ctx, "canned.any_language")
}
