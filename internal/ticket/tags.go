package ticket

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/customer"
)

// TagCount is a tag in use and how many tickets carry it.
type TagCount struct {
	Tag     string `json:"tag"`
	Tickets int    `json:"tickets"`
}

// Tags lists the tags in use, by name, with their ticket counts. Tags
// exist only on tickets, so a tag no ticket carries is not listed.
func (s *Service) Tags(ctx context.Context) ([]TagCount, error) {
	if !audit.ActorOf(ctx).SeesAllTickets() {
		return nil, kefu.Errorf(kefu.Forbidden, "only those who see every ticket may list all tags")
	}
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT tag, COUNT(*) FROM ticket_tags GROUP BY tag ORDER BY tag`)
	if err != nil {
		return nil, fmt.Errorf("ticket: tags: %w", err)
	}
	defer rows.Close()
	out := []TagCount{}
	for rows.Next() {
		var c TagCount
		if err := rows.Scan(&c.Tag, &c.Tickets); err != nil {
			return nil, fmt.Errorf("ticket: tags: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RenameTag renames tag from to to on every ticket. When to is already in
// use the two merge: a ticket that had both keeps one. It returns how many
// tickets carried from.
//
// The tickets' versions move, so an edit prepared with the old tag is
// refused as stale instead of putting the old tag back. SLA policies that
// match on the old name are not rewritten: an admin edits those.
func (s *Service) RenameTag(ctx context.Context, from, to string) (int, error) {
	from, to = strings.TrimSpace(from), strings.TrimSpace(to)
	if err := s.tagAdmin(ctx); err != nil {
		return 0, err
	}
	var fs kefu.Fields
	if msg := customer.CheckTag(to); msg != "" {
		fs.Add("to", "%s", msg)
	} else if to == from {
		fs.Add("to", "is the current name")
	}
	if err := fs.Err(); err != nil {
		return 0, err
	}
	var n int
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if n, err = s.touchTagged(ctx, tx, from); err != nil {
			return err
		}
		// Tickets carrying both lose the old one; the others rename it.
		if _, err := tx.ExecContext(ctx, `DELETE FROM ticket_tags WHERE tag = $1
			AND ticket_id IN (SELECT ticket_id FROM ticket_tags WHERE tag = $2)`, from, to); err != nil {
			return fmt.Errorf("ticket: rename tag: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ticket_tags SET tag = $1 WHERE tag = $2`, to, from); err != nil {
			return fmt.Errorf("ticket: rename tag: %w", err)
		}
		return audit.Record(ctx, tx, s.Now(), audit.Entry{Action: "rename", Entity: "tag", EntityID: from,
			Changes: map[string]audit.Change{"tag": {Before: from, After: to}, "tickets": {After: n}}})
	})
	return n, err
}

// DeleteTag removes tag from every ticket and returns how many carried it.
func (s *Service) DeleteTag(ctx context.Context, tag string) (int, error) {
	tag = strings.TrimSpace(tag)
	if err := s.tagAdmin(ctx); err != nil {
		return 0, err
	}
	var n int
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if n, err = s.touchTagged(ctx, tx, tag); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM ticket_tags WHERE tag = $1`, tag); err != nil {
			return fmt.Errorf("ticket: delete tag: %w", err)
		}
		return audit.Record(ctx, tx, s.Now(), audit.Entry{Action: "delete", Entity: "tag", EntityID: tag,
			Changes: map[string]audit.Change{"tag": {Before: tag}, "tickets": {After: n}}})
	})
	return n, err
}

func (s *Service) tagAdmin(ctx context.Context) error {
	if !audit.ActorOf(ctx).CanAdmin() {
		return kefu.Errorf(kefu.Forbidden, "only admins rename or delete tags")
	}
	return nil
}

// touchTagged moves the version of every ticket carrying tag and returns
// their number; an unknown tag is not found.
func (s *Service) touchTagged(ctx context.Context, tx *sql.Tx, tag string) (int, error) {
	res, err := tx.ExecContext(ctx, `UPDATE tickets SET version = version + 1, updated_at = $1
		WHERE id IN (SELECT ticket_id FROM ticket_tags WHERE tag = $2)`, s.Now().UTC(), tag)
	if err != nil {
		return 0, fmt.Errorf("ticket: tag: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("ticket: tag: %w", err)
	}
	if n == 0 {
		return 0, kefu.Errorf(kefu.NotFound, "no ticket carries the tag %q", tag)
	}
	return int(n), nil
}
