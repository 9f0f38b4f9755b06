package ticket

import (
	"context"
	"fmt"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/database"
)

// MessagesByID returns the messages with the given ids that the actor may
// see (on tickets visible to them), with their attachments, in no
// particular order. Channels that keep their own record of a
// conversation (live chat) read its messages through it.
func (s *Service) MessagesByID(ctx context.Context, ids []string) (map[string]Message, error) {
	out := make(map[string]Message, len(ids))
	var args []any
	for _, id := range ids {
		if kefu.ValidID(id) {
			args = append(args, id)
		}
	}
	if len(args) == 0 {
		return out, nil
	}
	cond, vargs := visible(audit.ActorOf(ctx), len(args))
	rows, err := s.DB.Read.QueryContext(ctx, `SELECT `+messageColumns+` FROM messages m JOIN tickets t ON t.id = m.ticket_id
		WHERE m.id IN (`+database.Placeholders(1, len(args))+`) AND `+cond, append(args, vargs...)...)
	if err != nil {
		return nil, fmt.Errorf("ticket: messages by id: %w", err)
	}
	defer rows.Close()
	var ms []Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("ticket: messages by id: %w", err)
		}
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := loadAttachments(ctx, s.DB.Read, ms); err != nil {
		return nil, err
	}
	for _, m := range ms {
		out[m.ID] = m
	}
	return out, nil
}
