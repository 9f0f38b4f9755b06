package main

import (
	"context"
	"database/sql"

	"github.com/kefu-desk/kefu/internal/aftersales"
	"github.com/kefu-desk/kefu/internal/email"
	"github.com/kefu-desk/kefu/internal/events"
)

// newAftersales wires after-sales cases: the shop's orders and terms, the
// SLA engine for refund and complaint deadlines, the tickets' blob store
// for photos, customer notices through the outbound mail queue, and a
// live event on the case's ticket for open consoles.
func newAftersales(a *App) *aftersales.Service {
	out := a.Mail.Outbound
	return &aftersales.Service{DB: a.DB, Now: a.Now, Tickets: a.Tickets, Shop: a.Shop, SLA: a.SLA, Blobs: a.Tickets.Blobs,
		Mail: func(ctx context.Context, tx *sql.Tx, ticketID, to, subject, text string) (string, error) {
			return out.NotifyCustomer(ctx, tx, email.CustomerNotice{To: to, Subject: subject, Text: text, TicketID: ticketID})
		},
		Changed: func(ctx context.Context, tx *sql.Tx, ticketID string) error {
			// The bus is built after the API; by the time a case changes it is there.
			return a.Events.PublishTx(ctx, tx, events.Event{Topic: events.Tickets, TicketID: ticketID, Kind: "case"})
		}}
}
