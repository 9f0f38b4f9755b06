package web

import (
	"context"
	"net/http"
	"net/url"
)

// Admin › Tags: the tags in use with their ticket counts; renaming one
// merges it into an existing tag of the new name, deleting one removes it
// from every ticket.

func (s *Server) listTags(ctx context.Context, p *adminPage) error {
	var err error
	p.Tags, err = s.Tickets.Tags(ctx)
	return err
}

func (s *Server) adminTags(w http.ResponseWriter, r *http.Request) {
	p, err := s.adminBase(r.Context(), "tags")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Saved = savedNotice(r)
	p.Form.Set("from", r.URL.Query().Get("tag"))
	s.show(w, r, p, nil, s.listTags)
}

func (s *Server) adminRenameTag(w http.ResponseWriter, r *http.Request) {
	p, err := s.adminBase(r.Context(), "tags")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Form = mustForm(r)
	if _, err = s.Tickets.RenameTag(r.Context(), p.Form.Get("from"), p.Form.Get("to")); err == nil {
		http.Redirect(w, r, "/admin/tags?saved="+url.QueryEscape(p.Form.Get("to")), http.StatusSeeOther)
		return
	}
	s.show(w, r, p, err, s.listTags)
}

func (s *Server) adminDeleteTag(w http.ResponseWriter, r *http.Request) {
	if _, err := s.Tickets.DeleteTag(r.Context(), mustForm(r).Get("tag")); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/tags", http.StatusSeeOther)
}
