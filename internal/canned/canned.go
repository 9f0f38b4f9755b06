// Package canned keeps canned replies: texts an agent inserts into a reply
// instead of typing them again. A reply is shared (admins keep those, every
// agent may use them) or personal (its owner's alone). Bodies may name a
// few variables, filled from the ticket when the reply is inserted; the
// set is closed so a typo is refused when the reply is saved, not
// discovered by a customer.
package canned

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kefu-desk/kefu"
)

// Limits of a reply's fields, in characters.
const (
	MaxTitle = 200
	MaxBody  = 20000
)

// Languages a reply may be written for; "" offers it for any language.
var Languages = []string{"", "en", "zh-CN"}

// Variables are the names a body may use as {{name}}.
var Variables = []string{"customer.name", "ticket.key", "ticket.subject", "agent.name", "order.number"}

// Reply is a stored canned reply.
type Reply struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Body     string `json:"body"`
	Language string `json:"language" enum:",en,zh-CN" doc:"Empty for any language"`
	// OwnerID is empty for a shared reply.
	OwnerID   string    `json:"owner_id,omitempty" doc:"The staff member a personal reply belongs to; absent for shared replies"`
	Category  string    `json:"category,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int       `json:"version"`
}

// Shared reports whether every agent may use r.
func (r Reply) Shared() bool { return r.OwnerID == "" }

// Input is what a caller writes when creating or changing a reply.
type Input struct {
	Title    string `json:"title" maxLength:"200"`
	Body     string `json:"body" maxLength:"20000"`
	Language string `json:"language,omitempty" enum:",en,zh-CN"`
	Category string `json:"category,omitempty" maxLength:"40"`
	// Shared makes the reply everyone's (admins only); otherwise it is the
	// caller's own. It cannot change after creation.
	Shared bool `json:"shared,omitempty" doc:"Create a shared reply (admins); otherwise it is your own"`
}

// Validate reports every problem of in at once.
func (in Input) Validate() error {
	var fs kefu.Fields
	switch n := utf8.RuneCountInString(strings.TrimSpace(in.Title)); {
	case n == 0:
		fs.Add("title", "is required")
	case n > MaxTitle:
		fs.Add("title", "must be at most %d characters", MaxTitle)
	}
	switch n := utf8.RuneCountInString(in.Body); {
	case strings.TrimSpace(in.Body) == "":
		fs.Add("body", "is required")
	case n > MaxBody:
		fs.Add("body", "must be at most %d characters", MaxBody)
	default:
		for _, name := range variablesIn(in.Body) {
			if !slices.Contains(Variables, name) {
				fs.Add("body", "unknown variable {{%s}}; use one of %s", name, strings.Join(wrapped(), ", "))
			}
		}
	}
	if !slices.Contains(Languages, in.Language) {
		fs.Add("language", "must be empty, en or zh-CN")
	}
	if utf8.RuneCountInString(in.Category) > 40 {
		fs.Add("category", "must be at most 40 characters")
	}
	return fs.Err()
}

func wrapped() []string {
	out := make([]string, len(Variables))
	for i, v := range Variables {
		out[i] = "{{" + v + "}}"
	}
	return out
}

// ETagVersion lets the API answer a stale edit with the current ETag.
func (r Reply) ETagVersion() int { return r.Version }
