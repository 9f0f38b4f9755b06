package email

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/database"
)

// DenyEntry is an entry of the sender deny list: a full address
// (spam@example.com) or a whole domain (example.com). Mail from a denied
// sender is kept (log and raw message) but opens no ticket and gets no
// reply.
type DenyEntry struct {
	Pattern   string    `json:"pattern" doc:"An address (a@example.com) or a domain (example.com)"`
	Note      string    `json:"note"`
	CreatedAt time.Time `json:"created_at" readOnly:"true"`
}

func normalizePattern(p string) (string, bool) {
	p = strings.ToLower(strings.TrimSpace(p))
	p = strings.TrimPrefix(p, "@")
	if p == "" || len(p) > 320 || strings.ContainsAny(p, " <>,;\"") || strings.Count(p, "@") > 1 {
		return "", false
	}
	local, domain, hasAt := strings.Cut(p, "@")
	if hasAt && (local == "" || domain == "") {
		return "", false
	}
	if !hasAt && !strings.Contains(p, ".") {
		return "", false
	}
	return p, true
}

// DenyList returns the deny list, sorted.
func (s *Mailboxes) DenyList(ctx context.Context) ([]DenyEntry, error) {
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT pattern, note, created_at FROM mail_denylist ORDER BY pattern`)
	if err != nil {
		return nil, fmt.Errorf("email: deny list: %w", err)
	}
	defer rows.Close()
	out := []DenyEntry{}
	for rows.Next() {
		var d DenyEntry
		if err := rows.Scan(&d.Pattern, &d.Note, &d.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Deny adds (or re-notes) a deny list entry.
func (s *Mailboxes) Deny(ctx context.Context, d DenyEntry) (*DenyEntry, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	p, ok := normalizePattern(d.Pattern)
	if !ok {
		return nil, kefu.Fieldf("pattern", "must be an address (a@example.com) or a domain (example.com)")
	}
	d.Pattern, d.CreatedAt = p, s.Now()
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO mail_denylist (pattern, note, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (pattern) DO UPDATE SET note = $2`, d.Pattern, d.Note, d.CreatedAt)
		if err != nil {
			return fmt.Errorf("email: deny: %w", err)
		}
		return audit.Record(ctx, tx, d.CreatedAt, audit.Entry{Action: "deny", Entity: "mail_denylist", EntityID: d.Pattern,
			Changes: map[string]audit.Change{"pattern": {After: d.Pattern}}})
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// Allow removes a deny list entry.
func (s *Mailboxes) Allow(ctx context.Context, pattern string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	p, _ := normalizePattern(pattern)
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM mail_denylist WHERE pattern = $1`, p)
		if err != nil {
			return fmt.Errorf("email: allow: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return kefu.Errorf(kefu.NotFound, "%s is not on the deny list", pattern)
		}
		return audit.Record(ctx, tx, s.Now(), audit.Entry{Action: "allow", Entity: "mail_denylist", EntityID: p,
			Changes: map[string]audit.Change{"pattern": {Before: p}}})
	})
}

// denied reports whether address (or its domain, or a parent domain) is
// on the deny list.
func denied(ctx context.Context, q database.Querier, address string) (bool, error) {
	address = strings.ToLower(strings.TrimSpace(address))
	_, domain, _ := strings.Cut(address, "@")
	candidates := []any{address}
	for d := domain; d != ""; {
		candidates = append(candidates, d)
		_, rest, ok := strings.Cut(d, ".")
		if !ok || !strings.Contains(rest, ".") {
			break
		}
		d = rest
	}
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM mail_denylist WHERE pattern IN (`+
		database.Placeholders(1, len(candidates))+`)`, candidates...).Scan(&n)
	return n > 0, err
}
