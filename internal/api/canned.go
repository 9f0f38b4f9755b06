package api

import (
	"context"
	"net/http"

	"github.com/kefu-desk/kefu/internal/canned"
)

// cannedRoutes lists the routes of canned replies. The scopes only say
// whether a token may read or write at all; the service decides who may
// change which reply (shared ones are admins', personal ones their
// owner's).
func (s *Server) cannedRoutes() {
	const (
		get, post, put, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
		ticketsR, ticketsW  = "tickets:read", "tickets:write"
	)
	op(s, get, "/canned-replies", "list-canned-replies", "The canned replies you may use: the shared ones and your own, by title", ticketsR, s.listCanned)
	op(s, post, "/canned-replies", "create-canned-reply", "Create a canned reply: your own, or shared (admins)", ticketsW, s.createCanned, 201)
	op(s, put, "/canned-replies/{id}", "replace-canned-reply", "Change a canned reply's title, body, language and category; send If-Match", ticketsW, s.replaceCanned)
	op(s, del, "/canned-replies/{id}", "delete-canned-reply", "Delete a canned reply", ticketsW, s.deleteCanned, 204)
}

type cannedListOut struct {
	Body struct {
		Replies []canned.Reply `json:"replies"`
	}
}

func (s *Server) listCanned(ctx context.Context, _ *struct{}) (*cannedListOut, error) {
	rs, err := s.Canned.List(ctx)
	if err != nil {
		return nil, err
	}
	out := &cannedListOut{}
	out.Body.Replies = rs
	return out, nil
}

type cannedOut struct {
	Status int
	ETag   string `header:"ETag"`
	Body   canned.Reply
}

func cannedResult(r canned.Reply, err error, status int) (*cannedOut, error) {
	if err != nil {
		return nil, err
	}
	return &cannedOut{Status: status, ETag: etag(r.Version), Body: r}, nil
}

func (s *Server) createCanned(ctx context.Context, in *struct{ Body canned.Input }) (*cannedOut, error) {
	r, err := s.Canned.Create(ctx, in.Body)
	return cannedResult(r, err, http.StatusCreated)
}

type replaceCannedIn struct {
	ID      string `path:"id"`
	IfMatch string `header:"If-Match" doc:"The ETag of the version being changed; a stale one gets 412 with the current reply"`
	Body    canned.Input
}

func (s *Server) replaceCanned(ctx context.Context, in *replaceCannedIn) (*cannedOut, error) {
	v, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	r, err := s.Canned.Update(ctx, in.ID, v, in.Body)
	return cannedResult(r, err, http.StatusOK)
}

func (s *Server) deleteCanned(ctx context.Context, in *idPath) (*emptyOut, error) {
	if err := s.Canned.Delete(ctx, in.ID); err != nil {
		return nil, err
	}
	return &emptyOut{Status: http.StatusNoContent}, nil
}
