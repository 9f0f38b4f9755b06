package api

import (
	"context"
	"net/http"

	"github.com/kefu-desk/kefu/internal/search"
)

// searchRoutes lists the search route. It needs tickets:read; customers
// are among the results only for callers that also hold customers:read.
func (s *Server) searchRoutes() {
	op(s, http.MethodGet, "/search", "search",
		"Find tickets, messages and customers by words (Chinese too), ticket key, order number, phone or email", "tickets:read", s.search)
}

type searchIn struct {
	Q      string   `query:"q" required:"true" minLength:"1" maxLength:"500" doc:"What to find: words (all must match; Chinese needs no spaces), word* for a prefix, or a ticket key, order number, phone or email (prefixes too)"`
	Kinds  []string `query:"kinds" doc:"Comma-separated groups to search: tickets, messages, customers; all by default"`
	Limit  int      `query:"limit" minimum:"1" maximum:"50" default:"10" doc:"Results per group"`
	Cursor string   `query:"cursor" doc:"next_cursor of the previous page"`
	Rank   bool     `query:"rank" doc:"Best match first instead of newest first"`
}

type searchOut struct{ Body *search.Results }

func (s *Server) search(ctx context.Context, in *searchIn) (*searchOut, error) {
	q := search.Query{Text: in.Q, Limit: in.Limit, Cursor: in.Cursor, Rank: in.Rank}
	for _, k := range splitList(in.Kinds) {
		q.Kinds = append(q.Kinds, search.Kind(k))
	}
	res, err := s.Search.Search(ctx, q)
	if err != nil {
		return nil, inQuery(err)
	}
	return &searchOut{Body: res}, nil
}
