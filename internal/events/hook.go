package events

import (
	"context"
	"database/sql"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// Hook publishes an event for every ticket change. Register it in
// ticket.Service.Hooks: it runs inside the change's transaction, so the
// event goes out only if the change commits.
type Hook struct{ Bus *Bus }

// Kinds of ticket events.
const (
	Created = "created"
	Updated = "updated"
	Message = "message"
)

// TicketChanged implements ticket.Hook.
func (h Hook) TicketChanged(ctx context.Context, tx *sql.Tx, c ticket.Change) error {
	e := Event{Topic: Tickets, TicketID: c.After.ID, Kind: Updated, Version: c.After.Version}
	switch {
	case c.Before == nil:
		e.Kind = Created
	case c.Message != nil:
		e.Kind = Message
	}
	if a := kefu.ActorFrom(ctx); a.Kind == kefu.ActorStaff {
		e.By = a.ID
	}
	return h.Bus.PublishTx(ctx, tx, e)
}
