package search

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// identHit is a result found by an identifier rather than by text.
type identHit struct {
	id string
	by string // key, order_number or identity
}

var (
	// A ticket key, or a bare ticket number.
	keyPattern = regexp.MustCompile(`(?i)^(kf-?)?([0-9]{1,18})$`)
	// An identifier typed as one word: letters, digits and the
	// punctuation order numbers, emails and WeChat ids use.
	identPattern = regexp.MustCompile(`^[#+]?[\p{L}\p{N}][\p{L}\p{N}@._+\-]{2,}$`)
)

// identifierHits looks q up where identifiers are kept normalised: ticket
// numbers, order numbers (prefix) and customer identities (prefix). The
// full-text index would find most of these too, but not by prefix and not
// first; a pasted order number should bring up its ticket at the top.
func (s *Service) identifierHits(ctx context.Context, a kefu.Actor, k Kind, q string, limit int) ([]identHit, error) {
	if !identPattern.MatchString(q) {
		return nil, nil
	}
	switch k {
	case Tickets:
		var hits []identHit
		if m := keyPattern.FindStringSubmatch(q); m != nil {
			if n, err := strconv.ParseInt(m[2], 10, 64); err == nil && n > 0 {
				ids, err := s.ticketIDs(ctx, a, `t.number = $1`, []any{n}, 1)
				if err != nil {
					return nil, err
				}
				for _, id := range ids {
					hits = append(hits, identHit{id, "key"})
				}
			}
		}
		if !strings.ContainsAny(q, "0123456789") {
			return hits, nil
		}
		// An index range on tickets_order: a prefix of the normalised
		// order number. The index is partial; "<> ''" lets the planners
		// see that it covers the range.
		order := ticket.NormalizeOrderNumber(q)
		ids, err := s.ticketIDs(ctx, a, `t.order_number <> '' AND t.order_number >= $1 AND t.order_number < $2 AND t.merged_into IS NULL`,
			[]any{order, order + "\uffff"}, limit)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if len(hits) < limit && !slices.ContainsFunc(hits, func(h identHit) bool { return h.id == id }) {
				hits = append(hits, identHit{id, "order_number"})
			}
		}
		return hits, nil
	case Customers:
		// Identities are stored normalised (customer.Normalize): emails and
		// WeChat ids lower-cased, phones as digits with a leading +. A
		// Chinese mobile typed without +86 is tried with it as well.
		prefixes := []string{strings.ToLower(q)}
		if p, msg := customer.NormalizePhone(q); msg == "" {
			prefixes = []string{p}
			if !strings.HasPrefix(p, "+") {
				prefixes = append(prefixes, "+86"+p)
			}
		}
		var conds []string
		var args []any
		for _, p := range prefixes {
			args = append(args, p, p+"\uffff")
			conds = append(conds, fmt.Sprintf("(i.value_norm >= $%d AND i.value_norm < $%d)", len(args)-1, len(args)))
		}
		ids, err := database.Strings(ctx, s.DB.Read, `SELECT DISTINCT CAST(c.id AS text) FROM customer_identities i
			JOIN customers c ON c.id = i.customer_id WHERE (`+strings.Join(conds, " OR ")+`) AND c.merged_into IS NULL
			ORDER BY 1 DESC`+fmt.Sprintf(" LIMIT %d", limit), args...)
		if err != nil {
			return nil, fmt.Errorf("search: identities: %w", err)
		}
		hits := make([]identHit, len(ids))
		for i, id := range ids {
			hits[i] = identHit{id, "identity"}
		}
		return hits, nil
	}
	return nil, nil
}

// ticketIDs returns the ids of tickets matching cond that a may see,
// newest first.
func (s *Service) ticketIDs(ctx context.Context, a kefu.Actor, cond string, args []any, limit int) ([]string, error) {
	vis, vargs := ticket.VisibleCondition(a, len(args))
	ids, err := database.Strings(ctx, s.DB.Read, `SELECT CAST(t.id AS text) FROM tickets t WHERE `+cond+` AND `+vis+
		fmt.Sprintf(` ORDER BY t.id DESC LIMIT %d`, limit), append(args, vargs...)...)
	if err != nil {
		return nil, fmt.Errorf("search: tickets: %w", err)
	}
	return ids, nil
}
