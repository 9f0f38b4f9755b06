package main

import (
	"context"
	"database/sql"
	"time"

	"github.com/kefu-desk/kefu"
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

// salesEvery is how often the daily sales behind return rates take in
// the orders that changed; reports also do before they read.
const salesEvery = time.Minute

// aftersalesSweep keeps the daily sales up to date on one instance at a
// time.
func (a *App) aftersalesSweep(ctx context.Context) {
	a.Leases.Every(ctx, "aftersales.sales", salesEvery, func(ctx context.Context) error {
		return a.Aftersales.RefreshSales(kefu.WithActor(ctx, kefu.System))
	})
}
