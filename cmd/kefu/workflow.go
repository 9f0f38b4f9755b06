package main

import (
	"context"
	"database/sql"

	"github.com/kefu-desk/kefu/internal/aftersales"
	"github.com/kefu-desk/kefu/internal/events"
	"github.com/kefu-desk/kefu/internal/workflow"
)

// newWorkflows wires after-sales chains: stage deadlines through the SLA
// engine, after-sales cases and the shop's orders for what stages show,
// the tickets' blob store for files, and a live event on the ticket for
// open consoles. It is a ticket hook: a decision sent with a message to
// the customer is stored in that message's transaction.
func newWorkflows(a *App) *workflow.Service {
	w := &workflow.Service{DB: a.DB, Now: a.Now, Tickets: a.Tickets, Customers: a.Customers, Team: a.Team, SLA: a.SLA,
		Calendars: a.Calendars, Blobs: a.Tickets.Blobs, Orders: a.Shop, Cases: workflowCases{a.Aftersales},
		Changed: func(ctx context.Context, tx *sql.Tx, ticketID string) error {
			// The bus is built after the API; by the time a chain moves it is there.
			return a.Events.PublishTx(ctx, tx, events.Event{Topic: events.Tickets, TicketID: ticketID, Kind: "workflow"})
		}}
	a.Tickets.Hooks = append(a.Tickets.Hooks, w)
	return w
}

// workflowCases reads after-sales cases for workflows.
type workflowCases struct{ s *aftersales.Service }

func (c workflowCases) WorkflowCase(ctx context.Context, id string) (*workflow.Case, error) {
	cs, err := c.s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return &workflow.Case{ID: cs.ID, TicketID: cs.TicketID, Kind: string(cs.Kind), Reason: cs.Reason, Amount: cs.Amount, Currency: cs.Currency}, nil
}
