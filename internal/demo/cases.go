package demo

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/aftersales"
	"github.com/kefu-desk/kefu/internal/shop"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// demoCase is an after-sales case the demo opens on an open ticket of a
// category, and the steps it has been through since.
type demoCase struct {
	category string
	open     aftersales.OpenInput
	steps    []aftersales.ActionInput
}

var demoCases = []demoCase{
	{"return_exchange", aftersales.OpenInput{Kind: shop.Return, Reason: "wrong_size", Description: "The dress is too small; I would like to return it."},
		[]aftersales.ActionInput{{Action: aftersales.Approve}, {Action: aftersales.ArrangeReturn, Method: "self_ship"},
			{Action: aftersales.ShipReturn, Carrier: "SF Express", TrackingNumber: "SF1403958827461"}}},
	{"return_exchange", aftersales.OpenInput{Kind: shop.Exchange, Reason: "wrong_size", Description: "Could I have it one size larger?"},
		[]aftersales.ActionInput{{Action: aftersales.Approve}, {Action: aftersales.Receive}, {Action: aftersales.Inspect, Note: "Unworn, tags on."}}},
	{"return_exchange", aftersales.OpenInput{Kind: shop.Return, Reason: "changed_mind", Description: "不想要了，想退货。"}, nil},
	{"logistics", aftersales.OpenInput{Kind: shop.RefundOnly, Reason: "not_received", Description: "The parcel never arrived."},
		[]aftersales.ActionInput{{Action: aftersales.Approve, Note: "The carrier confirms the parcel is lost."}}},
	{"complaint", aftersales.OpenInput{Kind: shop.Complaint, Reason: "service_attitude", Description: "客服态度很差。"},
		[]aftersales.ActionInput{{Action: aftersales.Reply, Channel: "phone",
			Text: "We are sorry. Your complaint's supervisor called you and is looking into it; you will hear from us within 3 working days."}}},
}

// SeedAftersales opens a few after-sales cases on open demo tickets, at
// different steps: a return on its way back, an exchange waiting for its
// replacement, a request as the customer made it (refused if it is
// outside its terms, as the check finds it now), a refund due for a lost
// parcel, a complaint with its preliminary reply. It mails nobody. It
// returns how many it opened.
func SeedAftersales(ctx context.Context, cases *aftersales.Service, tickets *ticket.Service) (int, error) {
	ctx = kefu.WithActor(ctx, kefu.System)
	quiet := *cases
	quiet.Mail = nil
	st, err := cases.Settings(ctx)
	if err != nil {
		return 0, err
	}
	st.ReturnAddress = "天河新盟服饰售后部 Tianhe Xinmeng after-sales, 广州市天河区天河路 385 号 B1, 510620"
	if _, err := cases.SaveSettings(ctx, st.Version, *st); err != nil {
		return 0, fmt.Errorf("demo: after-sales settings: %w", err)
	}
	used := map[string]bool{}
	n := 0
	for _, d := range demoCases {
		page, err := tickets.List(ctx, ticket.Filter{Category: d.category, Status: []ticket.Status{ticket.New, ticket.Open}, Limit: 50})
		if err != nil {
			return n, err
		}
		var t *ticket.Ticket
		for _, c := range page.Tickets {
			// A case is somebody's work: it goes on an assigned ticket,
			// which keeps the unassigned queue as the rest of the demo
			// left it.
			if !used[c.ID] && c.AssigneeID != "" && (c.OrderNumber != "" || d.open.Kind == shop.Complaint) {
				t = c
				break
			}
		}
		if t == nil {
			continue
		}
		used[t.ID] = true
		in := d.open
		in.TicketID = t.ID
		if t.OrderNumber != "" && in.Kind != shop.Complaint {
			o, err := cases.Shop.ForTicket(ctx, t.OrderNumber, t.CustomerID)
			if err != nil {
				return n, fmt.Errorf("demo: case on %s: %w", t.Key, err)
			}
			in.Items = []aftersales.ItemInput{{Item: o.Items[0].ID, Quantity: 1}}
			if len(d.steps) > 0 {
				// The demo's history is older than the windows now: a
				// supervisor accepted these outside them.
				in.OverrideReason = "Accepted as a courtesy: the customer asked in time by phone."
			}
		}
		// Some of the shop's SKUs ask for photos whatever the reason.
		in.Photos = []ticket.File{swatch()}
		c, err := quiet.Open(ctx, in)
		if err != nil {
			return n, fmt.Errorf("demo: case on %s: %w", t.Key, err)
		}
		n++
		for _, st := range d.steps {
			next, err := quiet.Act(ctx, c.ID, c.Version, st)
			if err != nil {
				return n, fmt.Errorf("demo: %s %s: %w", st.Action, c.Key, err)
			}
			c = next
		}
	}
	return n, nil
}

// swatch is the demo customers' photo: a square of fabric colour with a
// stripe, enough to see a photo on a case.
func swatch() ticket.File {
	img := image.NewRGBA(image.Rect(0, 0, 96, 96))
	for y := range 96 {
		for x := range 96 {
			c := color.RGBA{R: 196, G: 120, B: 140, A: 255}
			if (x+y)%24 < 6 {
				c = color.RGBA{R: 240, G: 226, B: 206, A: 255}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img) //nolint:errcheck // a buffer takes every write
	return ticket.File{Filename: "photo.png", ContentType: "image/png", Data: b.Bytes()}
}
