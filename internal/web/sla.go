package web

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// SLA views: "due soon" and "breached" list tickets by their running
// clocks' deadlines (sla.Service.Due walks the due index, overdue first),
// not by ticket filters, so they are built here rather than from a
// ticket.Filter.

// dueSoonWithin is how near a deadline must be for "due soon".
const dueSoonWithin = 4 * time.Hour

// slaView fills a due view's page from the SLA's due list: id is "due"
// or "breached".
func (s *Server) slaView(ctx context.Context, id string) (*ticket.Page, map[string]sla.ClockView, bool, error) {
	items, err := s.SLA.Due(ctx, sla.DueFilter{Limit: countCap})
	if err != nil {
		return nil, nil, false, err
	}
	page := &ticket.Page{Tickets: []*ticket.Ticket{}}
	clocks := map[string]sla.ClockView{}
	for _, it := range items {
		if !inSLAView(id, it.Clock) {
			continue
		}
		page.Tickets = append(page.Tickets, it.Ticket)
		clocks[it.Ticket.ID] = it.Clock
	}
	return page, clocks, len(items) == countCap, nil
}

func inSLAView(id string, c sla.ClockView) bool {
	left := time.Duration(c.MinutesLeft * float64(time.Minute))
	if id == "breached" {
		return c.MinutesLeft < 0
	}
	return c.MinutesLeft >= 0 && left <= dueSoonWithin
}

// countSLA fills the counts of the SLA views from one due list.
func (s *Server) countSLA(ctx context.Context, vs []queueView) error {
	items, err := s.SLA.Due(ctx, sla.DueFilter{Limit: countCap})
	if err != nil {
		return err
	}
	for i := range vs {
		if !vs[i].SLA {
			continue
		}
		vs[i].Count, vs[i].More = 0, len(items) == countCap
		for _, it := range items {
			if inSLAView(vs[i].ID, it.Clock) {
				vs[i].Count++
			}
		}
	}
	return nil
}

// timeLeft shows a clock's remaining time: "2h 05m", "-35m" when late.
func timeLeft(c sla.ClockView) string {
	m := c.MinutesLeft
	sign := ""
	if m < 0 {
		sign, m = "-", -m
	}
	total := int(math.Round(m))
	if total >= 60*24 {
		return fmt.Sprintf("%s%dd %02dh", sign, total/(60*24), total%(60*24)/60)
	}
	if total >= 60 {
		return fmt.Sprintf("%s%dh %02dm", sign, total/60, total%60)
	}
	return fmt.Sprintf("%s%dm", sign, total)
}

// clockClass colours a clock: late, near (within the due-soon window) or
// fine.
func clockClass(c sla.ClockView) string {
	switch {
	case c.State == sla.Breached || (c.State == sla.Running && c.MinutesLeft < 0):
		return "late"
	case c.State == sla.Running && c.MinutesLeft*float64(time.Minute) <= float64(dueSoonWithin):
		return "near"
	}
	return string(c.State)
}

// dueFirst lists a view's tickets with running clocks in deadline order,
// for the top of its first page: the default order of a queue is "what
// falls due first", and tickets no SLA governs follow, newest first.
// Tickets whose status the view excludes are left out.
func (s *Server) dueFirst(ctx context.Context, v queueView) ([]*ticket.Ticket, map[string]sla.ClockView, error) {
	f := *v.Due
	f.Limit = pageSize
	items, err := s.SLA.Due(ctx, f)
	if err != nil {
		return nil, nil, err
	}
	var out []*ticket.Ticket
	clocks := map[string]sla.ClockView{}
	for _, it := range items {
		if len(v.Filter.Status) > 0 && !slices.Contains(v.Filter.Status, it.Ticket.Status) {
			continue
		}
		out = append(out, it.Ticket)
		clocks[it.Ticket.ID] = it.Clock
	}
	return out, clocks, nil
}
