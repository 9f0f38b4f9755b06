package ticket

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
)

// Merge folds source into target: the source's messages and attachments
// move to the target, tags are combined, and the source is closed with a
// pointer to the target, so links to it still lead somewhere.
func (s *Service) Merge(ctx context.Context, targetID, sourceID string) (*Ticket, error) {
	if !audit.ActorOf(ctx).CanWrite() {
		return nil, kefu.Errorf(kefu.Forbidden, "your role may not merge tickets")
	}
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		target, err := s.get(ctx, tx, targetID)
		if err != nil {
			return err
		}
		source, err := s.get(ctx, tx, sourceID)
		if err != nil {
			return kefu.Fieldf("source_id", "no ticket %s", sourceID)
		}
		switch {
		case target.ID == source.ID:
			return kefu.Fieldf("source_id", "cannot merge a ticket into itself")
		case source.MergedInto != "":
			return kefu.Fieldf("source_id", "%s was already merged", source.Key)
		case target.MergedInto != "":
			return kefu.Errorf(kefu.Conflict, "%s was merged into another ticket; merge into that one", target.Key)
		case target.Status == Closed:
			return kefu.Errorf(kefu.Conflict, "%s is closed; merge into an open ticket", target.Key)
		}
		for _, q := range []string{
			`UPDATE messages SET ticket_id = $1 WHERE ticket_id = $2`,
			`UPDATE attachments SET ticket_id = $1 WHERE ticket_id = $2`,
		} {
			if _, err := tx.ExecContext(ctx, q, target.ID, source.ID); err != nil {
				return fmt.Errorf("ticket: merge: %w", err)
			}
		}
		nextTarget := *target
		nextTarget.Tags = slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(target.Tags), source.Tags...))))
		if nextTarget.OrderNumber == "" {
			nextTarget.OrderNumber = source.OrderNumber
		}
		changes := map[string]audit.Change{"merged_from": {After: source.Key}}
		audit.Diff(changes, "tags", target.Tags, nextTarget.Tags)
		if err := s.save(ctx, tx, target, &nextTarget, changes, "merge", ""); err != nil {
			return err
		}
		if err := s.event(ctx, tx, target.ID, fmt.Sprintf("%s was merged into this ticket", source.Key), s.Now()); err != nil {
			return err
		}
		nextSource := *source
		nextSource.Status, nextSource.MergedInto = Closed, target.ID
		changes = map[string]audit.Change{"merged_into": {After: target.Key}}
		audit.Diff(changes, "status", string(source.Status), string(Closed))
		if err := s.save(ctx, tx, source, &nextSource, changes, "merged_into", ""); err != nil {
			return err
		}
		return s.event(ctx, tx, source.ID, fmt.Sprintf("merged into %s", target.Key), s.Now())
	})
	if err != nil {
		return nil, err
	}
	return s.get(ctx, s.DB.Write, targetID)
}
