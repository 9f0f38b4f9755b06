// Package search finds tickets, messages and customers by what they say
// and by their identifiers. Text is cut by our own tokenizer (CJK bigrams,
// lower-cased words) and matched by the engine's full-text index: FTS5 on
// SQLite, a GIN-indexed tsvector on PostgreSQL. Order numbers, ticket keys,
// phones and emails are also looked up exactly or by prefix in their
// normalised columns, and those hits come first. The index is kept in step
// by hooks inside each change's transaction; see docs/search.md.
package search

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/database"
)

// Kind is what a result is; results are grouped by it.
type Kind string

const (
	Tickets   Kind = "tickets"
	Messages  Kind = "messages"
	Customers Kind = "customers"
)

// Kinds lists every kind in the order results show them.
var Kinds = []Kind{Tickets, Messages, Customers}

// Doc is the text of one thing to index.
type Doc struct {
	Kind Kind
	ID   string
	Text []string
}

// Find asks an Index for the things of one kind matching terms, as Actor
// may see them, newest first (or best first with Rank). After continues
// a newest-first list after the Pos of its last hit; Skip continues a
// ranked one.
type Find struct {
	Kind    Kind
	Terms   []Term
	Actor   kefu.Actor
	After   string
	Skip    int
	Exclude []string // ids already shown as identifier hits
	Limit   int
	Rank    bool
}

// Index stores documents and finds them. The SQL index in the same
// database is the one we ship; the interface leaves room for an external
// engine at very large scale, which would write an outbox job in the
// transaction Put is given and apply the actor's visibility itself.
type Index interface {
	// Put stores docs, replacing earlier versions, inside tx.
	Put(ctx context.Context, tx *sql.Tx, docs ...Doc) error
	// Delete removes a document inside tx; a missing one is no error.
	Delete(ctx context.Context, tx *sql.Tx, kind Kind, id string) error
	// Find returns matches in order.
	Find(ctx context.Context, f Find) ([]Found, error)
}

// Found is one match: the id of the thing, and its position in the
// index's newest-first order, for continuing after it.
type Found struct {
	ID  string
	Pos string
}

// Service searches and keeps the index in step (it is a ticket.Hook and a
// customer.Hook).
type Service struct {
	DB    *database.DB
	Index Index
}

// New returns a Service over the SQL index in db.
func New(db *database.DB) *Service {
	return &Service{DB: db, Index: &SQLIndex{DB: db}}
}

// Query is a search request.
type Query struct {
	Text   string
	Kinds  []Kind // nil: every kind the actor may read
	Limit  int    // per kind; 10 when 0, at most 50
	Cursor string // NextCursor of the previous page
	Rank   bool   // best match first instead of newest first
}

// Fragment is a piece of a snippet; Match marks the pieces that matched.
type Fragment struct {
	Text  string `json:"text"`
	Match bool   `json:"match,omitempty"`
}

// TicketHit is a ticket found by its subject, tags, key or order number.
type TicketHit struct {
	ID          string     `json:"id"`
	Key         string     `json:"key"`
	Subject     string     `json:"subject"`
	Status      string     `json:"status"`
	OrderNumber string     `json:"order_number"`
	CustomerID  string     `json:"customer_id"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	MatchedBy   string     `json:"matched_by" enum:"key,order_number,text" doc:"key and order_number hits come before text hits"`
	Snippet     []Fragment `json:"snippet" doc:"The subject, with the matching parts marked"`
}

// MessageHit is a message (customer, reply or note) found by its text.
type MessageHit struct {
	ID            string     `json:"id"`
	TicketID      string     `json:"ticket_id"`
	TicketKey     string     `json:"ticket_key"`
	TicketSubject string     `json:"ticket_subject"`
	Kind          string     `json:"kind" enum:"customer,reply,note"`
	CreatedAt     time.Time  `json:"created_at"`
	Snippet       []Fragment `json:"snippet" doc:"An excerpt around the first match"`
}

// CustomerHit is a customer found by name or identity.
type CustomerHit struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Identities []string   `json:"identities"`
	MatchedBy  string     `json:"matched_by" enum:"identity,text" doc:"identity (prefix of an email, phone or WeChat id) hits come before text hits"`
	Snippet    []Fragment `json:"snippet" doc:"Name and identities, with the matching parts marked"`
}

// Results are grouped by kind; a kind not searched is an empty list.
type Results struct {
	Tickets    []TicketHit   `json:"tickets"`
	Messages   []MessageHit  `json:"messages"`
	Customers  []CustomerHit `json:"customers"`
	NextCursor string        `json:"next_cursor" doc:"Pass as cursor for more of the kinds that have more; empty when none has"`
}

// cursor continues every kind that had more. Identifier hits come only
// on the first page; Exclude keeps them out of later text pages.
type cursor struct {
	After   map[Kind]string   `json:"a,omitempty"`
	Skip    map[Kind]int      `json:"s,omitempty"`
	Exclude map[Kind][]string `json:"x,omitempty"`
}

// Search finds what q asks for among what the actor may see: tickets and
// messages by the ticket visibility rule, customers with customers:read.
func (s *Service) Search(ctx context.Context, q Query) (*Results, error) {
	a := audit.ActorOf(ctx)
	var fs kefu.Fields
	q.Text = strings.TrimSpace(q.Text)
	if q.Text == "" {
		fs.Add("q", "is required")
	} else if len(q.Text) > 500 {
		fs.Add("q", "must be at most 500 bytes")
	}
	switch {
	case q.Limit == 0:
		q.Limit = 10
	case q.Limit < 0 || q.Limit > 50:
		fs.Add("limit", "must be 1 to 50")
	}
	for _, k := range q.Kinds {
		if !slices.Contains(Kinds, k) {
			fs.Add("kinds", "%q is not one of tickets, messages, customers", k)
		}
	}
	var cur cursor
	if q.Cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(q.Cursor)
		if err != nil || json.Unmarshal(raw, &cur) != nil {
			fs.Add("cursor", "is not a cursor from a previous page")
		}
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	if a.Kind != kefu.ActorStaff && a.Kind != kefu.ActorSystem {
		return nil, kefu.Errorf(kefu.Forbidden, "only staff may search")
	}
	kinds := q.Kinds
	if len(kinds) == 0 {
		kinds = Kinds
	}
	if q.Cursor != "" {
		// Only the kinds that had more go on.
		kinds = slices.DeleteFunc(slices.Clone(kinds), func(k Kind) bool {
			_, after := cur.After[k]
			_, skip := cur.Skip[k]
			return !after && !skip
		})
	}
	if !a.HasScope("customers:read") {
		kinds = slices.DeleteFunc(slices.Clone(kinds), func(k Kind) bool { return k == Customers })
	}
	terms := ParseQuery(q.Text)
	res := &Results{Tickets: []TicketHit{}, Messages: []MessageHit{}, Customers: []CustomerHit{}}
	next := cursor{After: map[Kind]string{}, Skip: map[Kind]int{}, Exclude: map[Kind][]string{}}
	for _, k := range kinds {
		var idents []identHit
		if q.Cursor == "" {
			var err error
			if idents, err = s.identifierHits(ctx, a, k, q.Text, q.Limit); err != nil {
				return nil, err
			}
		}
		exclude := slices.Clone(cur.Exclude[k])
		for _, h := range idents {
			exclude = append(exclude, h.id)
		}
		var found []Found
		if len(terms) > 0 && len(idents) < q.Limit {
			f := Find{Kind: k, Terms: terms, Actor: a, After: cur.After[k], Skip: cur.Skip[k], Exclude: exclude,
				Limit: q.Limit - len(idents) + 1, Rank: q.Rank}
			var err error
			if found, err = s.Index.Find(ctx, f); err != nil {
				return nil, fmt.Errorf("search: %s: %w", k, err)
			}
			// One more than asked tells whether another page exists.
			if len(found) == f.Limit {
				found = found[:f.Limit-1]
				if q.Rank {
					next.Skip[k] = cur.Skip[k] + len(found)
				} else {
					next.After[k] = found[len(found)-1].Pos
				}
				next.Exclude[k] = exclude
			}
		}
		ids := make([]string, len(found))
		for i, h := range found {
			ids[i] = h.ID
		}
		if err := s.load(ctx, res, k, idents, ids, terms); err != nil {
			return nil, err
		}
	}
	if len(next.After)+len(next.Skip) > 0 {
		raw, _ := json.Marshal(next)
		res.NextCursor = base64.RawURLEncoding.EncodeToString(raw)
	}
	return res, nil
}
