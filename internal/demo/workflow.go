package demo

import (
	"context"
	"fmt"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/ticket"
	"github.com/kefu-desk/kefu/internal/workflow"
)

// SeedWorkflows installs the shipped chains (seed 002's four and the
// complaint escalation) and starts one on a couple of open tickets of
// each category a chain is for, so the departments' queues have work. It
// returns how many it started.
func SeedWorkflows(ctx context.Context, wf *workflow.Service, tickets *ticket.Service) (int, error) {
	ctx = kefu.WithActor(ctx, kefu.System)
	if _, err := wf.InstallDefaults(ctx); err != nil {
		return 0, fmt.Errorf("demo: workflows: %w", err)
	}
	n := 0
	for _, s := range []struct{ category, chain string }{{"return_exchange", "quality"}, {"logistics", "transport"}, {"billing", "billing"}} {
		page, err := tickets.List(ctx, ticket.Filter{Category: s.category, Status: []ticket.Status{ticket.New, ticket.Open}, Limit: 2})
		if err != nil {
			return n, err
		}
		for _, t := range page.Tickets {
			if _, err := wf.Start(ctx, workflow.StartInput{TicketID: t.ID, Definition: s.chain}); err != nil {
				return n, fmt.Errorf("demo: start %s on %s: %w", s.chain, t.Key, err)
			}
			n++
		}
	}
	return n, nil
}
